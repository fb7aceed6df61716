package ingress

import (
	"strconv"
	"sync/atomic"
	"time"
)

// routeStats counts a route's requests; it survives table rebuilds.
type routeStats struct {
	requests, failures atomic.Uint64
	nanos              atomic.Uint64 // total time spent answering
}

func (s *routeStats) record(d time.Duration, failed bool) {
	s.requests.Add(1)
	s.nanos.Add(uint64(d))
	if failed {
		s.failures.Add(1)
	}
}

// Stats is a snapshot of a route's counters.
type Stats struct {
	Requests, Failures uint64
	// MeanMillis is the mean time to answer, in milliseconds.
	MeanMillis float64
}

func (s *routeStats) snapshot() Stats {
	out := Stats{Requests: s.requests.Load(), Failures: s.failures.Load()}
	if out.Requests > 0 {
		out.MeanMillis = float64(s.nanos.Load()) / float64(out.Requests) / 1e6
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
