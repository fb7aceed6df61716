package agent

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roam-project/roam/server"
)

// TestProxyToLeaderRetriesUntilALeaderTakesIt drives the forwarding loop
// against a fake leader lookup and a real upstream HTTP server: requests
// not taken (no leader known, upstream unreachable, upstream without a
// leader) are sent again with their body, any other answer is passed on
// as it is, and one no leader takes within the hold time gets 503 with
// Retry-After.
func TestProxyToLeaderRetriesUntilALeaderTakesIt(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadAddr := strings.TrimPrefix(dead.URL, "http://")
	dead.Close()

	tests := []struct {
		name string
		// noLeader is how many lookups find no leader, then unreachable how
		// many give a dead address, then notTaken how many upstream calls
		// are answered 503 "no leader".
		noLeader, unreachable, notTaken int
		upstreamStatus                  int
		never                           bool
		wantStatus                      int
		wantUpstreamCalls               int
	}{
		{name: "leader at once", upstreamStatus: 200, wantStatus: 200, wantUpstreamCalls: 1},
		{name: "election under way, then a leader", noLeader: 3, upstreamStatus: 200, wantStatus: 200, wantUpstreamCalls: 1},
		{name: "old leader dead, then the new one", unreachable: 2, upstreamStatus: 200, wantStatus: 200, wantUpstreamCalls: 1},
		{name: "upstream lost leadership, then leads again", notTaken: 2, upstreamStatus: 200, wantStatus: 200, wantUpstreamCalls: 3},
		{name: "upstream error passed on, not retried", upstreamStatus: 500, wantStatus: 500, wantUpstreamCalls: 1},
		{name: "no leader within the hold time", never: true, wantStatus: http.StatusServiceUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1))
				body, _ := io.ReadAll(r.Body)
				if r.Header.Get(forwardedHeader) == "" {
					t.Error("proxied request not marked as forwarded")
				}
				if n <= tc.notTaken {
					w.Header().Set(noLeaderHeader, "1")
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				w.WriteHeader(tc.upstreamStatus)
				w.Write(body)
			}))
			defer upstream.Close()
			lookups := 0
			leaderAddr := func(context.Context) (string, error) {
				lookups++
				switch {
				case tc.never || lookups <= tc.noLeader:
					return "", errors.New("no cluster leader")
				case lookups <= tc.noLeader+tc.unreachable:
					return deadAddr, nil
				}
				return strings.TrimPrefix(upstream.URL, "http://"), nil
			}
			h := &httpAPI{logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPut, "/v1/var/app", strings.NewReader(`{"Items":{"a":"b"}}`))
			start := time.Now()
			h.proxyToLeader(rec, req, leaderAddr)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d (body %q)", rec.Code, tc.wantStatus, rec.Body.String())
			}
			if got := int(calls.Load()); got != tc.wantUpstreamCalls {
				t.Errorf("upstream calls = %d, want %d", got, tc.wantUpstreamCalls)
			}
			if tc.wantStatus == 200 && rec.Body.String() != `{"Items":{"a":"b"}}` {
				t.Errorf("body reaching the leader = %q", rec.Body.String())
			}
			if tc.never {
				if rec.Header().Get("Retry-After") == "" {
					t.Error("503 without Retry-After")
				}
				if waited := time.Since(start); waited < server.HoldTimeout {
					t.Errorf("gave up after %s, before the hold time %s", waited, server.HoldTimeout)
				}
			}
		})
	}
}
