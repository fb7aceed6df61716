package gctune

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestLimit(t *testing.T) {
	const gib = 1 << 30
	cases := []struct {
		name   string
		live   uint64
		budget uint64
		want   uint64
	}{
		{"nothing live yet: the budget", 0, 4 * gib, 4 * gib},
		{"small heap: the budget", 200 << 20, 4 * gib, 4 * gib},
		{"heap near the budget keeps a quarter of headroom", 3.5 * gib, 4 * gib, 4375 * gib / 1000},
		{"heap past the budget grows with it", 8 * gib, 4 * gib, 10 * gib},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Limit(tc.live, tc.budget); got != tc.want {
				t.Errorf("Limit(%d, %d) = %d, want %d", tc.live, tc.budget, got, tc.want)
			}
		})
	}
}

func TestMemoryFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name   string
		read   func(string) (uint64, bool)
		path   string
		want   uint64
		wantOK bool
	}{
		{"cgroup limit", readBytes, write("limit", "8589934592\n"), 8 << 30, true},
		{"no cgroup limit", readBytes, write("max", "max\n"), 0, false},
		{"no cgroup file", readBytes, filepath.Join(dir, "none"), 0, false},
		{"meminfo", memTotal, write("meminfo", "MemTotal:       16384000 kB\nMemFree:         1000 kB\n"), 16384000 << 10, true},
		{"meminfo without a total", memTotal, write("meminfo2", "MemFree:         1000 kB\n"), 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.read(tc.path)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("read %s = %d, %v; want %d, %v", tc.path, got, ok, tc.want, tc.wantOK)
			}
		})
	}
	if b := Budget(); b == 0 {
		t.Errorf("Budget() = 0")
	}
}

// TestRunSetsTheLimit holds 256 MiB live under a 64 MiB budget: the limit
// must be the live heap and its headroom, and be lifted once the tuner
// stops.
func TestRunSetsTheLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 256 MiB")
	}
	t.Setenv("GOGC", "") // the tuner stands down when GOGC or GOMEMLIMIT is set
	t.Setenv("GOMEMLIMIT", "")
	live := make([][]byte, 256)
	for i := range live {
		live[i] = make([]byte, 1<<20)
	}
	runtime.GC()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, 64<<20, 10*time.Millisecond)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		limit := debug.SetMemoryLimit(-1)
		if limit >= 256<<20*5/4 && limit < 400<<20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("memory limit %d MiB with 256 MiB live and a 64 MiB budget", limit>>20)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if limit := debug.SetMemoryLimit(-1); limit != math.MaxInt64 {
		t.Errorf("memory limit %d after the tuner stopped, want none", limit)
	}
	runtime.KeepAlive(live)
}
