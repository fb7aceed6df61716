package docker

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/roam-project/roam/drivers/logging"
)

// TestLogRotation writes 3 MiB through a task whose `logs` block keeps two
// files of 1 MiB.
func TestLogRotation(t *testing.T) {
	requireEngine(t)
	d := newTestDriver(t)
	task := newTask(t, d, "chatty", map[string]any{"args": []any{"-print-kb", 3 * 1024}})
	task.LogMaxFiles, task.LogMaxFileSizeMB = 2, 1
	if _, err := d.StartTask(task); err != nil {
		t.Fatal(err)
	}
	var indexes []int
	waitFor(t, 30*time.Second, "all output in the newest log file", func() bool {
		indexes, _ = logging.Indexes(task.StdoutPath)
		n := len(indexes)
		return n > 0 && logContains(task.StdoutPath, indexes[n-1], "webapp listening")
	})
	if len(indexes) != 2 || indexes[1] != 3 {
		t.Errorf("log files %v, want [2 3]", indexes)
		for _, i := range indexes {
			b, _ := os.ReadFile(logging.FileName(task.StdoutPath, i))
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			t.Logf("file %d: %d bytes, first %q, last %q", i, len(b), lines[0], lines[len(lines)-1])
		}
		return
	}
	info, err := os.Stat(logging.FileName(task.StdoutPath, indexes[0]))
	if err != nil || info.Size() != 1<<20 {
		t.Errorf("oldest kept file: %v, %v; want 1 MiB", info, err)
	}
}
