package allocrunner

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/allocdir"
)

// PreviousAlloc is the allocation an allocation replaces on this node, as
// far as carrying its data over needs it.
type PreviousAlloc interface {
	// WaitCh is closed once its tasks have all stopped.
	WaitCh() <-chan struct{}
	AllocDir() *allocdir.AllocDir
}

// carriesData reports whether the group's ephemeral disk is kept across
// replacements: `sticky` or `migrate`.
func carriesData(group *api.TaskGroup) bool {
	d := group.EphemeralDisk
	return d != nil && ((d.Sticky != nil && *d.Sticky) || (d.Migrate != nil && *d.Migrate))
}

// carryOver moves the previous allocation's alloc/data and each task's
// local/ into this allocation once the previous allocation's tasks have
// stopped; it gives up when this allocation is stopped first.
func (ar *AllocRunner) carryOver(group *api.TaskGroup) error {
	prev := ar.cfg.Previous
	for waited := false; !waited; {
		select {
		case <-prev.WaitCh():
			waited = true
		case <-time.After(time.Second):
			if isStopped(ar.Alloc()) {
				return nil
			}
		}
	}
	from, to := prev.AllocDir(), ar.allocDir
	moves := [][2]string{{filepath.Join(from.SharedDir(), allocdir.SharedDataDir), filepath.Join(to.SharedDir(), allocdir.SharedDataDir)}}
	for _, t := range group.Tasks {
		moves = append(moves, [2]string{from.TaskDir(t.Name).LocalDir, to.TaskDir(t.Name).LocalDir})
	}
	for _, m := range moves {
		if _, err := os.Stat(m[0]); os.IsNotExist(err) {
			continue
		}
		if err := os.RemoveAll(m[1]); err != nil { // the fresh, empty directory
			return fmt.Errorf("carry over %s: %w", m[0], err)
		}
		if err := os.MkdirAll(filepath.Dir(m[1]), 0o777); err != nil {
			return fmt.Errorf("carry over %s: %w", m[0], err)
		}
		if err := os.Rename(m[0], m[1]); err != nil {
			return fmt.Errorf("carry over %s: %w", m[0], err)
		}
	}
	ar.logger.Info("ephemeral disk carried over", "previous_alloc_id", ar.Alloc().PreviousAllocation)
	return nil
}
