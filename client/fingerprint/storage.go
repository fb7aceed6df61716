package fingerprint

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// storage detects the volume holding the alloc dir and its free space.
func storage(cfg Config, r *Result) error {
	dir := cfg.AllocDir
	if dir == "" {
		dir = os.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create alloc dir: %w", err)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", dir, err)
	}
	total := st.Blocks * uint64(st.Bsize)
	free := st.Bavail * uint64(st.Bsize)
	r.Attributes["unique.storage.volume"] = MountDevice(dir)
	r.Attributes["unique.storage.bytestotal"] = strconv.FormatUint(total, 10)
	r.Attributes["unique.storage.bytesfree"] = strconv.FormatUint(free, 10)
	r.Resources.Disk.DiskMB = int64(free / 1024 / 1024)
	return nil
}

// MountDevice returns the device of the mount that holds path, as the
// unique.storage.volume attribute and the host disk statistics name it.
func MountDevice(path string) string {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return ""
	}
	defer f.Close()
	best, device := -1, ""
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 2 {
			continue
		}
		mnt := fields[1]
		inside := mnt == "/" || path == mnt || strings.HasPrefix(path, mnt+"/")
		if inside && len(mnt) > best {
			best, device = len(mnt), fields[0]
		}
	}
	return device
}
