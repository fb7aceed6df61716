// Package gctune bounds the garbage collector's headroom on a large heap.
// Go collects when the heap has grown by GOGC percent (100) over what the
// last collection left live, so a process holds up to twice its live heap:
// on a server whose state is gigabytes, gigabytes of garbage. The tuner
// lowers GOGC as the live heap grows, so that the headroom stays at most
// MaxHeadroom (but never under MinPercent of the live heap), trading
// collections for memory only where the heap is large.
package gctune

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// MaxHeadroom is the garbage a server's heap may grow by between
// collections, once its live heap is past it.
const MaxHeadroom = 1 << 30

// MinPercent is the lowest GOGC the tuner sets: past 4 GiB live at the
// default MaxHeadroom, the headroom grows with the heap again rather than
// the collector running ever more often.
const MinPercent = 25

// Percent is the GOGC that keeps the headroom over live at most
// maxHeadroom, between MinPercent and Go's default of 100.
func Percent(live, maxHeadroom uint64) int {
	if live == 0 {
		return 100
	}
	p := maxHeadroom * 100 / live
	return int(min(max(p, MinPercent), 100))
}

// Run retunes GOGC every interval from the live heap until ctx ends, and
// then restores 100. It does nothing when the GOGC environment variable
// is set: the operator's choice stands.
func Run(ctx context.Context, maxHeadroom uint64, interval time.Duration) {
	if os.Getenv("GOGC") != "" {
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	current := 100
	defer func() {
		if current != 100 {
			debug.SetGCPercent(100)
		}
	}()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return // not measured by this runtime
		}
		if p := Percent(sample[0].Value.Uint64(), maxHeadroom); p != current {
			debug.SetGCPercent(p)
			current = p
		}
	}
}
