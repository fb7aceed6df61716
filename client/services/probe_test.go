package services

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"
)

var errNoTask = errors.New("no such running task")

func TestProbeGRPCAndScript(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("db.v1", grpc_health_v1.HealthCheckResponse_SERVING)
	hs.SetServingStatus("db.v2", grpc_health_v1.HealthCheckResponse_NOT_SERVING)
	grpc_health_v1.RegisterHealthServer(srv, hs)
	go srv.Serve(ln)
	defer srv.Stop()
	host, port := hostPort(t, ln.Addr().String())

	exec := func(ctx context.Context, task string, cmd []string) (int, []byte, error) {
		if task != "main" {
			return -1, nil, errNoTask
		}
		if cmd[0] == "ok" {
			return 0, []byte("fine\n"), nil
		}
		return 2, []byte("broken"), nil
	}
	cases := []struct {
		name  string
		check Check
		want  string
		out   string
	}{
		{"grpc serving", Check{Type: "grpc", Address: host, Port: port, GRPCService: "db.v1"}, CheckSuccess, "nomad: grpc ok"},
		{"grpc whole server", Check{Type: "grpc", Address: host, Port: port}, CheckSuccess, "nomad: grpc ok"},
		{"grpc not serving", Check{Type: "grpc", Address: host, Port: port, GRPCService: "db.v2"}, CheckFailure, "NOT_SERVING"},
		{"grpc unknown service", Check{Type: "grpc", Address: host, Port: port, GRPCService: "nope"}, CheckFailure, ""},
		{"script exit 0", Check{Type: "script", Command: "ok", ExecTask: "main"}, CheckSuccess, "fine"},
		{"script exit 2", Check{Type: "script", Command: "bad", ExecTask: "main"}, CheckFailure, "broken"},
		{"script in no task", Check{Type: "script", Command: "ok", ExecTask: "other"}, CheckFailure, errNoTask.Error()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.check.Timeout = 2 * time.Second
			res := tc.check.probe(context.Background(), exec)
			if res.Status != tc.want || (tc.out != "" && res.Output != tc.out) {
				t.Fatalf("result = %s %q, want %s %q", res.Status, res.Output, tc.want, tc.out)
			}
		})
	}
}

func TestCheckRestartAfterLimitFailures(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host, port := hostPort(t, closed.Addr().String())
	closed.Close()
	restarts := make(chan string, 5)
	c := NewChecker(slog.New(slog.NewTextHandler(io.Discard, nil)), CheckerHooks{
		Restart: func(task, reason string) { restarts <- task + ": " + reason },
	})
	defer c.Close()
	c.SetChecks([]Check{{
		Status: api.AllocCheckStatus{ID: "c1", Check: "alive", Status: CheckPending}, Type: "tcp",
		Address: host, Port: port, Interval: 10 * time.Millisecond, Timeout: time.Second,
		ExecTask: "main", RestartLimit: 3, RestartGrace: 50 * time.Millisecond,
	}})
	select {
	case got := <-restarts:
		if got != `main: healthcheck: check "alive" unhealthy` {
			t.Fatalf("restart = %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no restart after repeated failures")
	}
}
