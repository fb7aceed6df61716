package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// event is one line of `go test -json` (test2json) output.
type event struct {
	Action string
	Test   string
	Output string
}

// results are the top-level tests seen so far: the result of each that
// finished ("pass", "fail" or "skip"), and the output of each.
type results struct {
	status map[string]string
	output map[string]string
	// all lists every top-level test of the package (go test -list).
	all map[string]bool
}

func newResults(all []string) *results {
	r := &results{status: map[string]string{}, output: map[string]string{}, all: map[string]bool{}}
	for _, t := range all {
		r.all[t] = true
	}
	return r
}

// agentBanner matches what the agents the tests start print on their
// standard output (test2json puts it under whichever test ran last).
var agentBanner = regexp.MustCompile(`^(==> |\s*$|\s+(Advertise Addrs|Bind Addrs|Client|Log Level|Node Id|Region|Server|Version): )`)

// outputLimit bounds the output kept per test (its tail).
const outputLimit = 4000

// read consumes one run's test2json stream.
func (r *results) read(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// Not an event: the build failed or go test itself complained.
			return fmt.Errorf("go test: %s", sc.Text())
		}
		if e.Test == "" {
			continue // package lines
		}
		// A subtest's output belongs to its top-level test; its result
		// does not count on its own.
		top, sub, _ := strings.Cut(e.Test, "/")
		r.all[top] = true
		switch e.Action {
		case "pass", "fail", "skip":
			if sub == "" {
				r.status[top] = e.Action
			}
		case "output":
			if agentBanner.MatchString(e.Output) {
				continue
			}
			out := r.output[top] + e.Output
			if len(out) > outputLimit {
				out = out[len(out)-outputLimit:]
			}
			r.output[top] = out
		}
	}
	return sc.Err()
}

// finished lists the tests that have a result, sorted.
func (r *results) finished() []string {
	out := make([]string, 0, len(r.status))
	for t := range r.status {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// unfinished lists the tests that have no result yet, sorted.
func (r *results) unfinished() []string {
	var out []string
	for t := range r.all {
		if _, ok := r.status[t]; !ok {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}
