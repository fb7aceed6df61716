package rawexec

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/roam-project/roam/drivers"
)

// linkVolumes makes each of the task's host volumes reachable from its
// working directory: a raw_exec task shares the host's filesystem, so a
// volume_mount with destination "/data" becomes the symbolic link
// <task dir>/data to the volume's path. Nothing enforces read_only for a
// task that is not isolated.
func linkVolumes(taskDir string, mounts []drivers.Mount) error {
	for _, m := range mounts {
		link := filepath.Join(taskDir, filepath.Clean("/"+m.TaskPath))
		if link == filepath.Clean(taskDir) {
			return fmt.Errorf("volume destination %q: names the task directory itself", m.TaskPath)
		}
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			return fmt.Errorf("volume at %s: %w", m.TaskPath, err)
		}
		if target, err := os.Readlink(link); err == nil && target == m.HostPath {
			continue // a restart of the task
		}
		if err := os.Symlink(m.HostPath, link); err != nil {
			return fmt.Errorf("volume at %s: %w", m.TaskPath, err)
		}
	}
	return nil
}
