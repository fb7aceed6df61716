package agent

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/roam-project/roam/server"
)

// testAPIServer serves the given routes of the HTTP API over an in-memory
// single-server cluster that has elected itself leader.
func testAPIServer(t *testing.T, routes func(h *httpAPI, mux *http.ServeMux)) *httptest.Server {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := testServer(t, logger)
	h := &httpAPI{srv: srv, logger: logger}
	mux := http.NewServeMux()
	routes(h, mux)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

// testAgentAPI serves an agent's whole HTTP API (its routes and their
// guard) over an in-memory single server, logging to logger.
func testAgentAPI(t testing.TB, logger *slog.Logger) *httptest.Server {
	t.Helper()
	a := &Agent{config: DefaultConfig(), logger: logger, server: testServer(t, logger)}
	ts := httptest.NewServer(a.routes())
	t.Cleanup(ts.Close)
	return ts
}

// testServer is an in-memory single server that has elected itself.
func testServer(t testing.TB, logger *slog.Logger) *server.Server {
	t.Helper()
	srv, err := server.New(server.Config{NodeName: "test.global", Region: "global", Datacenter: "dc1", NumSchedulers: 1, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.WaitForLeader(ctx); err != nil {
		t.Fatal(err)
	}
	return srv
}
