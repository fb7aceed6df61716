package gctune

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	const gib = 1 << 30
	cases := []struct {
		name     string
		live     uint64
		headroom uint64
		want     int
	}{
		{"nothing live yet", 0, gib, 100},
		{"small heap keeps Go's default", 200 << 20, gib, 100},
		{"heap at the headroom keeps the default", gib, gib, 100},
		{"3 GiB live: a third", 3 * gib, gib, 33},
		{"past 4 GiB the floor", 10 * gib, gib, MinPercent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percent(tc.live, tc.headroom); got != tc.want {
				t.Errorf("Percent(%d, %d) = %d, want %d", tc.live, tc.headroom, got, tc.want)
			}
		})
	}
}

// TestRunBoundsTheHeapGoal holds 256 MiB live with a 64 MiB headroom:
// the collector's goal must come down from twice the live heap to about
// live plus the headroom, and back once the tuner stops.
func TestRunBoundsTheHeapGoal(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 256 MiB")
	}
	t.Setenv("GOGC", "") // the tuner stands down when GOGC is set
	live := make([][]byte, 256)
	for i := range live {
		live[i] = make([]byte, 1<<20)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, 64<<20, 10*time.Millisecond)
	}()
	goal := func() uint64 {
		runtime.GC()
		s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	deadline := time.Now().Add(5 * time.Second)
	for goal() > 256<<20+96<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("heap goal %d MiB with 256 MiB live and 64 MiB headroom", goal()>>20)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if p := debug.SetGCPercent(100); p != 100 {
		t.Errorf("GOGC %d after the tuner stopped, want 100", p)
	}
	runtime.KeepAlive(live)
}
