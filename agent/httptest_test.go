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
	h := &httpAPI{srv: srv, logger: logger}
	mux := http.NewServeMux()
	routes(h, mux)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}
