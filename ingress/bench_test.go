package ingress

import (
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// BenchmarkThroughput compares requests per second through the ingress
// (its serving loop, as on the plain-HTTP port, and net/http's server
// alone, as on the HTTPS port) with the same requests sent straight to
// the instance, on loopback, from
// parallel clients (4 per CPU) on kept-alive connections; each case
// reports req/s and the CPU time (user and system, of the whole process:
// client, ingress and instance) per request, which the machine's other
// load does not change.
func BenchmarkThroughput(b *testing.B) {
	client, cases := benchSetup(b)
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			before := cpuTime(b)
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("GET", tc.url, nil)
					req.Host = "web.test"
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			b.ReportMetric(float64((cpuTime(b)-before).Microseconds())/float64(b.N), "cpu-µs/req")
		})
	}
}

// BenchmarkLatency sends requests one after the other, through the
// ingress and straight to the instance: ns/op is the time one request
// takes, and their difference what the ingress adds.
func BenchmarkLatency(b *testing.B) {
	client, cases := benchSetup(b)
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				req, _ := http.NewRequest("GET", tc.url, nil)
				req.Host = "web.test"
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

// benchCase is a URL the benchmarks send requests to.
type benchCase struct{ name, url string }

// benchSetup starts an instance and an ingress routing web.test to it,
// served both ways; it returns a client and the direct and proxied URLs.
func benchSetup(b *testing.B) (*http.Client, []benchCase) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from the instance\n")
	}))
	b.Cleanup(backend.Close)
	p := NewProxy()
	p.Update([]*api.ServiceRegistration{
		reg("default", "web", "a", backend.Listener.Addr().String(), 1, "ingress.host=web.test"),
	}, nil, nil)
	front := httptest.NewServer(p)
	b.Cleanup(front.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024}}
	return client, []benchCase{{"direct", backend.URL}, {"ingress", serveLoop(b, p, &http.Server{})}, {"ingress-net-http", front.URL}}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
