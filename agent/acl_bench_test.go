package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/server"
	"github.com/roam-project/roam/structs"
)

// benchAPI is the HTTP API of an in-memory single server, with ACLs on or
// off, and the token requests carry: a client token whose policy allows
// listing and submitting jobs (the path that compiles and checks a
// policy), empty with ACLs off.
func benchAPI(b *testing.B, aclOn bool) (http.Handler, string, *server.Server) {
	b.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(server.Config{NodeName: "bench.global", Region: "global", Datacenter: "dc1",
		NumSchedulers: 1, ACLEnabled: aclOn, Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.WaitForLeader(ctx); err != nil {
		b.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.ACL.Enabled = aclOn
	a := &Agent{config: cfg, logger: logger, server: srv}
	secret := ""
	if aclOn {
		if _, err := srv.UpsertACLPolicies(&structs.ACLPolicyUpsertArgs{Policies: []*api.ACLPolicy{{
			Name: "deploy", Rules: `namespace "default" { policy = "write" }
namespace "prod-*" { policy = "read" }
node { policy = "read" }`}}}); err != nil {
			b.Fatal(err)
		}
		res, err := srv.UpsertACLToken(&structs.ACLTokenUpsertArgs{Token: &api.ACLToken{Type: "client", Policies: []string{"deploy"}}})
		if err != nil {
			b.Fatal(err)
		}
		secret = res.Token.SecretID
	}
	return a.routes(), secret, srv
}

func benchRequest(b *testing.B, h http.Handler, method, path, body, secret string) {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if secret != "" {
		req.Header.Set("X-Nomad-Token", secret)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body.String())
	}
}

// BenchmarkACLJobRegister measures PUT /v1/jobs with ACLs off and on.
func BenchmarkACLJobRegister(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("acl=%v", on), func(b *testing.B) {
			h, secret, _ := benchAPI(b, on)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				body := fmt.Sprintf(`{"Job": {"ID": "bench-%d", "Type": "batch", "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "raw_exec", "Config": {"command": "/bin/true"}}]}]}}`, i)
				benchRequest(b, h, "PUT", "/v1/jobs", body, secret)
			}
		})
	}
}

// BenchmarkACLJobList measures GET /v1/jobs over 200 jobs with ACLs off
// and on (the token is checked once, then every job against its policy).
func BenchmarkACLJobList(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("acl=%v", on), func(b *testing.B) {
			h, secret, _ := benchAPI(b, on)
			for i := 0; i < 200; i++ {
				body := fmt.Sprintf(`{"Job": {"ID": "list-%d", "Type": "batch", "Periodic": {"Spec": "@daily"}, "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "raw_exec", "Config": {"command": "/bin/true"}}]}]}}`, i)
				benchRequest(b, h, "PUT", "/v1/jobs", body, secret)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				benchRequest(b, h, "GET", "/v1/jobs", "", secret)
			}
		})
	}
}

// BenchmarkACLAuthorize measures what the ACL check alone adds to a
// request: resolving the token (a cached, compiled ACL) and the route's
// check, around a handler that does nothing.
func BenchmarkACLAuthorize(b *testing.B) {
	_, secret, srv := benchAPI(b, true)
	h := &httpAPI{srv: srv, resolver: srv}
	handler := h.authorize(jobRule, func(http.ResponseWriter, *http.Request) {})
	req := httptest.NewRequest("PUT", "/v1/job/web", nil)
	req.Header.Set("X-Nomad-Token", secret)
	rec := httptest.NewRecorder()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		handler(rec, req)
	}
	if rec.Code != http.StatusOK {
		b.Fatalf("denied: %d %s", rec.Code, rec.Body.String())
	}
}
