// Package gctune sets a server's soft memory limit from its live heap.
// Go collects when the heap has grown by GOGC percent (100) over what the
// last collection left live, so a process holds up to twice its live heap.
// Lowering GOGC bounds that, but then the collector runs, and marks the
// whole live heap, after every few hundred megabytes allocated, even on a
// machine with memory to spare: on a server holding gigabytes of state,
// half its CPU. The tuner leaves GOGC at 100 and sets a memory limit
// (runtime/debug.SetMemoryLimit) instead: a budget, by default half the
// memory of the machine or of the process's cgroup, so that the collector
// runs more often only as the process nears it. The limit is never under
// the live heap plus MinHeadroomPercent of it: a heap past the budget
// keeps that headroom rather than the collector running back to back.
package gctune

import (
	"bufio"
	"context"
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"
)

// MinHeadroomPercent is the least headroom over the live heap the limit
// leaves, in percent of the live heap.
const MinHeadroomPercent = 25

// DefaultBudget is the budget when the machine's memory is unknown.
const DefaultBudget = 4 << 30

// Limit is the memory limit for a live heap of live bytes under budget:
// the budget, or more where the live heap leaves it too little headroom.
func Limit(live, budget uint64) uint64 {
	return max(budget, live+live*MinHeadroomPercent/100)
}

// Budget is half the memory available to the process: its cgroup's limit
// where it has one, else the machine's memory (DefaultBudget when
// neither is known).
func Budget() uint64 {
	avail := uint64(math.MaxUint64)
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if n, ok := readBytes(path); ok {
			avail = min(avail, n)
		}
	}
	if n, ok := memTotal("/proc/meminfo"); ok {
		avail = min(avail, n)
	}
	if avail == math.MaxUint64 {
		return DefaultBudget
	}
	return avail / 2
}

// readBytes reads a cgroup memory limit: a number of bytes, or "max".
func readBytes(path string) (uint64, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	return n, err == nil && n > 0
}

// memTotal reads MemTotal from a /proc/meminfo file.
func memTotal(path string) (uint64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err == nil && kb > 0
		}
	}
	return 0, false
}

// Run sets the memory limit from the live heap every interval until ctx
// ends, and then lifts it. It does nothing when the GOMEMLIMIT or GOGC
// environment variable is set: the operator's choice stands.
func Run(ctx context.Context, budget uint64, interval time.Duration) {
	if os.Getenv("GOMEMLIMIT") != "" || os.Getenv("GOGC") != "" {
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	defer debug.SetMemoryLimit(math.MaxInt64)
	set := func() bool {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return false // not measured by this runtime
		}
		debug.SetMemoryLimit(int64(min(Limit(sample[0].Value.Uint64(), budget), math.MaxInt64)))
		return true
	}
	if !set() {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		set()
	}
}
