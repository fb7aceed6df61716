package docker

import (
	"context"
	"testing"
	"time"
)

func TestTaskStats(t *testing.T) {
	requireEngine(t)
	d := newTestDriver(t)
	task := newTask(t, d, "busy", map[string]any{"args": []any{"-burn", "-alloc-mb", 8}})
	if _, err := d.StartTask(task); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "allocation", func() bool { return logContains(task.StdoutPath, 0, "allocated 8 MiB") })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := d.TaskStats(ctx, task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s.CPUPercent <= 0 || s.MemoryUsage < 8<<20 || s.MemoryRSS == 0 || s.Timestamp.IsZero() {
		t.Fatalf("stats = %+v", s)
	}
}
