package allocrunner

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/clienttest"
	"github.com/roam-project/roam/client/state"
	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/drivers/rawexec"
	"github.com/roam-project/roam/internal/reexec"
)

func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}

// recorder keeps the latest client update.
type recorder struct {
	mu   sync.Mutex
	last *api.Allocation
}

func (r *recorder) update(a *api.Allocation) {
	r.mu.Lock()
	r.last = a
	r.mu.Unlock()
}

func (r *recorder) get() *api.Allocation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

func runAlloc(t *testing.T, alloc *api.Allocation) (*AllocRunner, *recorder) {
	t.Helper()
	d := rawexec.New()
	if err := d.SetConfig(map[string]any{"enabled": true}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	db, err := state.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	ar, err := New(Config{
		Alloc: alloc, Node: &api.Node{ID: "n1", Datacenter: "dc1"}, Drivers: map[string]drivers.Driver{"raw_exec": d},
		AllocRoot: filepath.Join(dir, "alloc"), State: db, OnUpdate: rec.update,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	go ar.Run()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := ar.Destroy(ctx); err != nil {
			t.Error(err)
		}
		db.Close()
	})
	return ar, rec
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func withLifecycle(t *api.Task, hook string, sidecar bool) *api.Task {
	t.Lifecycle = &api.TaskLifecycle{Hook: hook, Sidecar: sidecar}
	return t
}

func TestLifecycleOrder(t *testing.T) {
	alloc := clienttest.Alloc("n1", "batch",
		withLifecycle(clienttest.ShellTask("init", `sleep 0.2; touch $NOMAD_ALLOC_DIR/data/init`), "prestart", false),
		withLifecycle(clienttest.ShellTask("side", `while true; do sleep 0.05; done`), "prestart", true),
		clienttest.ShellTask("main", `test -f $NOMAD_ALLOC_DIR/data/init && echo saw-init`),
		withLifecycle(clienttest.ShellTask("post", `echo post`), "poststop", false),
	)
	ar, rec := runAlloc(t, alloc)
	waitFor(t, "alloc complete", func() bool { a := rec.get(); return a != nil && a.ClientStatus == "complete" })
	out, _ := os.ReadFile(ar.AllocDir().LogBase("main", "stdout") + ".0")
	if !strings.Contains(string(out), "saw-init") {
		t.Fatalf("main ran before the prestart task completed: %q", out)
	}
	states := rec.get().TaskStates
	cases := []struct {
		task      string
		wantEvent string
	}{
		{"init", "Terminated"},
		{"side", "Killed"},
		{"main", "Terminated"},
		{"post", "Terminated"},
	}
	for _, tc := range cases {
		t.Run(tc.task, func(t *testing.T) {
			s := states[tc.task]
			if s.State != "dead" || s.Failed {
				t.Fatalf("%s: state %s failed %v", tc.task, s.State, s.Failed)
			}
			found := false
			for _, e := range s.Events {
				found = found || e.Type == tc.wantEvent
			}
			if !found {
				t.Fatalf("%s: no %s event", tc.task, tc.wantEvent)
			}
		})
	}
	if post, main := states["post"].StartedAt, states["main"].FinishedAt; post.Before(main) {
		t.Fatalf("poststop started %v, before main finished %v", post, main)
	}
}

func TestDeploymentHealth(t *testing.T) {
	cases := []struct {
		name       string
		script     string
		minHealthy time.Duration
		healthy    bool
	}{
		{"running task is healthy", `while true; do sleep 0.05; done`, 200 * time.Millisecond, true},
		{"failed task is unhealthy", `exit 1`, 10 * time.Second, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			alloc := clienttest.Alloc("n1", "service", clienttest.ShellTask("web", tc.script))
			clienttest.Restart(alloc, 0, time.Hour, 0, "fail")
			minHealthy, deadline := tc.minHealthy, 20*time.Second
			alloc.DeploymentID = "d1"
			alloc.Job.Update = &api.UpdateStrategy{MinHealthyTime: &minHealthy, HealthyDeadline: &deadline}
			_, rec := runAlloc(t, alloc)
			var ds *api.AllocDeploymentStatus
			waitFor(t, "health decided", func() bool {
				a := rec.get()
				if a == nil {
					return false
				}
				ds = a.DeploymentStatus
				return ds != nil && ds.Healthy != nil
			})
			if *ds.Healthy != tc.healthy {
				t.Fatalf("healthy = %v, want %v", *ds.Healthy, tc.healthy)
			}
		})
	}
}

func TestClientStatus(t *testing.T) {
	st := func(state string, failed bool) *api.TaskState { return &api.TaskState{State: state, Failed: failed} }
	cases := []struct {
		name   string
		states map[string]*api.TaskState
		want   string
	}{
		{"all pending", map[string]*api.TaskState{"a": st("pending", false)}, "pending"},
		{"one running", map[string]*api.TaskState{"a": st("running", false), "b": st("pending", false)}, "running"},
		{"all dead", map[string]*api.TaskState{"a": st("dead", false), "b": st("dead", false)}, "complete"},
		{"failed wins", map[string]*api.TaskState{"a": st("running", false), "b": st("dead", true)}, "failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := clientStatus(tc.states); got != tc.want {
				t.Fatalf("clientStatus = %q, want %q", got, tc.want)
			}
		})
	}
}
