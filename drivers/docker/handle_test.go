package docker

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

func TestStopTask(t *testing.T) {
	requireEngine(t)
	cases := []struct {
		name       string
		args       []any
		killSignal string
		timeout    time.Duration
		wantLog    string
		wantCode   int
	}{
		{"kill_signal honoured", nil, "SIGINT", 20 * time.Second, "webapp got signal interrupt", 0},
		{"default SIGTERM", nil, "", 20 * time.Second, "webapp got signal terminated", 0},
		{"killed after kill_timeout", []any{"-ignore-signals"}, "SIGTERM", time.Second, "webapp got signal terminated", 137},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestDriver(t)
			task := newTask(t, d, "web", map[string]any{"args": tc.args})
			task.KillSignal = tc.killSignal
			if _, err := d.StartTask(task); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 20*time.Second, "app start", func() bool { return logContains(task.StdoutPath, 0, "listening") })
			if err := d.StopTask(task.ID, tc.timeout, ""); err != nil {
				t.Fatal(err)
			}
			res := waitExit(t, d, task.ID, 10*time.Second)
			if res.ExitCode != tc.wantCode {
				t.Errorf("exit = %+v, want code %d", res, tc.wantCode)
			}
			waitFor(t, 10*time.Second, "signal in log", func() bool { return logContains(task.StdoutPath, 0, tc.wantLog) })
		})
	}
}

func TestOOMKilled(t *testing.T) {
	c := requireEngine(t)
	d := newTestDriver(t)
	task := newTask(t, d, "hog", map[string]any{"args": []any{"-alloc-mb", 128}})
	task.Resources.MemoryMB = 16
	task.Resources.MemoryMaxMB = 32
	if _, err := d.StartTask(task); err != nil {
		t.Fatal(err)
	}
	res := waitExit(t, d, task.ID, 60*time.Second)
	if !res.OOMKilled || res.Successful() {
		t.Fatalf("exit = %+v, want OOMKilled", res)
	}
	inspect, err := c.ContainerInspect(context.Background(), containerName(task))
	if err != nil {
		t.Fatal(err)
	}
	if r := inspect.HostConfig.Resources; r.Memory != 32<<20 || r.MemoryReservation != 16<<20 {
		t.Errorf("memory = %d, reservation = %d; want memory_max as the limit, memory as the reservation", r.Memory, r.MemoryReservation)
	}
}

// TestRecoverTask simulates a client restart: a second driver instance
// re-attaches to the running container from the persisted handle.
func TestRecoverTask(t *testing.T) {
	c := requireEngine(t)
	first := newTestDriver(t)
	task := newTask(t, first, "web", nil)
	handle, err := first.StartTask(task)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "app start", func() bool { return logContains(task.StdoutPath, 0, "listening") })
	first.Shutdown()

	second := newTestDriver(t)
	t.Cleanup(func() { _ = second.DestroyTask(task.ID, true) })
	persisted, err := json.Marshal(handle)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(persisted, handle); err != nil {
		t.Fatal(err)
	}
	if err := second.RecoverTask(handle); err != nil {
		t.Fatal(err)
	}
	var st handleState
	if err := json.Unmarshal(handle.State, &st); err != nil {
		t.Fatal(err)
	}
	inspect, err := c.ContainerInspect(context.Background(), containerName(task))
	if err != nil {
		t.Fatal(err)
	}
	if inspect.ID != st.ContainerID || !inspect.State.Running {
		t.Fatalf("container %s running=%v, want %s running", inspect.ID, inspect.State.Running, st.ContainerID)
	}
	if err := second.SignalTask(task.ID, "SIGHUP"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "post-recovery output in log", func() bool {
		return logContains(task.StdoutPath, 0, "webapp got signal hangup")
	})
	if err := second.StopTask(task.ID, 10*time.Second, ""); err != nil {
		t.Fatal(err)
	}
	if res := waitExit(t, second, task.ID, 10*time.Second); !res.Successful() {
		t.Fatalf("exit after recovery = %+v", res)
	}
}

func TestRecoverMissingContainer(t *testing.T) {
	requireEngine(t)
	d := newTestDriver(t)
	task := newTask(t, d, "web", nil)
	handle, err := d.StartTask(task)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.DestroyTask(task.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := newTestDriver(t).RecoverTask(handle); err == nil {
		t.Fatal("recovering a removed container succeeded")
	}
}

// TestRecoverExitedTask recovers a container that exited while no client
// was watching: the exit is reported at once.
func TestRecoverExitedTask(t *testing.T) {
	c := requireEngine(t)
	first := newTestDriver(t)
	task := newTask(t, first, "web", nil)
	handle, err := first.StartTask(task)
	if err != nil {
		t.Fatal(err)
	}
	// The webapp handles signals once it is up; before, SIGINT kills it.
	waitFor(t, 20*time.Second, "webapp up", func() bool { return logContains(task.StdoutPath, 0, "webapp listening") })
	first.Shutdown()
	if err := c.ContainerKill(context.Background(), containerName(task), "SIGINT"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "container exit", func() bool {
		inspect, err := c.ContainerInspect(context.Background(), containerName(task))
		return err == nil && !inspect.State.Running
	})
	second := newTestDriver(t)
	t.Cleanup(func() { _ = second.DestroyTask(task.ID, true) })
	if err := second.RecoverTask(handle); err != nil {
		t.Fatal(err)
	}
	if res := waitExit(t, second, task.ID, 10*time.Second); res.ExitCode != 0 || res.Err != nil {
		t.Fatalf("exit = %+v, want a clean exit", res)
	}
	waitFor(t, 10*time.Second, "output written while detached", func() bool {
		return logContains(task.StdoutPath, 0, "webapp got signal interrupt")
	})
}
