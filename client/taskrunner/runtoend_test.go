package taskrunner

import (
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/allocdir"
	"github.com/roam-project/roam/drivers/rawexec"
)

// runToEnd runs task of alloc under a real raw_exec driver in a fresh alloc
// dir and waits for the task runner to finish.
func runToEnd(t *testing.T, alloc *api.Allocation, task *api.Task) (*TaskRunner, *allocdir.AllocDir) {
	t.Helper()
	d := rawexec.New()
	if err := d.SetConfig(map[string]any{"enabled": true}); err != nil {
		t.Fatal(err)
	}
	ad := allocdir.New(t.TempDir(), alloc.ID)
	if err := ad.Build(); err != nil {
		t.Fatal(err)
	}
	tr := New(Config{Alloc: alloc, Task: task, Driver: d, AllocDir: ad})
	go tr.Run()
	select {
	case <-tr.WaitCh():
	case <-time.After(30 * time.Second):
		t.Fatal("task runner did not finish")
	}
	return tr, ad
}
