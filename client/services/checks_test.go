package services

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/clienttest"
)

// hostPort splits a listener address into the parts a Check takes.
func hostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return host, p
}

func TestServiceChecks(t *testing.T) {
	okServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.Error(w, "wrong path", http.StatusNotFound)
		}
	}))
	defer okServer.Close()
	failServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer failServer.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	cases := []struct {
		name     string
		typ      string
		addr     string
		path     string
		want     string
		wantCode int
	}{
		{"http 2xx is success", "http", okServer.Listener.Addr().String(), "/health", CheckSuccess, 200},
		{"http wrong path is failure", "http", okServer.Listener.Addr().String(), "/nope", CheckFailure, 404},
		{"http 5xx is failure", "http", failServer.Listener.Addr().String(), "/", CheckFailure, 500},
		{"tcp to a listener is success", "tcp", okServer.Listener.Addr().String(), "", CheckSuccess, 0},
		{"tcp to a closed port is failure", "tcp", closedAddr, "", CheckFailure, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			host, port := hostPort(t, tc.addr)
			c := NewChecker(slog.New(slog.NewTextHandler(io.Discard, nil)), CheckerHooks{})
			defer c.Close()
			c.SetChecks([]Check{{
				Status: api.AllocCheckStatus{ID: "c1", Check: "alive", Status: CheckPending},
				Type:   tc.typ, Address: host, Port: port, Path: tc.path, Method: "GET",
				Interval: time.Second, Timeout: time.Second,
			}})
			var got api.AllocCheckStatus
			waitFor(t, func() bool {
				got = c.Statuses()["c1"]
				return got.Status != CheckPending
			})
			if got.Status != tc.want || got.StatusCode != tc.wantCode || got.Timestamp == 0 {
				t.Errorf("result = %+v, want %s (%d)", got, tc.want, tc.wantCode)
			}
			c.SetChecks(nil)
			if len(c.Statuses()) != 0 {
				t.Errorf("removed check keeps a result: %v", c.Statuses())
			}
		})
	}
}

func TestServiceChecksBuiltFromTheJob(t *testing.T) {
	svc := &api.Service{Name: "web", PortLabel: "http", Provider: "nomad", Checks: []api.ServiceCheck{
		{Name: "alive", Type: "tcp", Interval: 3 * time.Second, Timeout: time.Second},
		{Type: "http", Path: "/health", OnUpdate: "ignore"},
		{Name: "script", Type: "script", Command: "/bin/check", Args: []string{"${NOMAD_TASK_NAME}"}, TaskName: "main",
			CheckRestart: &api.CheckRestart{Limit: 3, Grace: ptrTo(10 * time.Second)}},
		{Name: "rpc", Type: "grpc", GRPCService: "db.v1"},
	}}
	src := testSource(t, []*api.Service{svc}, clienttest.ShellTask("main", "true"))
	set, err := GroupRegistrations(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Checks) != 4 {
		t.Fatalf("checks = %+v, want the tcp, http, script and grpc ones", set.Checks)
	}
	tcp, web, script, rpc := set.Checks[0], set.Checks[1], set.Checks[2], set.Checks[3]
	if script.Command != "/bin/check" || script.ExecTask != "main" || script.RestartLimit != 3 || script.RestartGrace != 10*time.Second {
		t.Errorf("script check = %+v", script)
	}
	if rpc.GRPCService != "db.v1" || rpc.Port != 25000 || rpc.RestartLimit != 0 {
		t.Errorf("grpc check = %+v", rpc)
	}
	noTask := &api.Service{Name: "web", PortLabel: "http", Provider: "nomad", Checks: []api.ServiceCheck{{Type: "script", Command: "true"}}}
	if _, err := GroupRegistrations(testSource(t, []*api.Service{noTask}, clienttest.ShellTask("main", "true"))); err == nil {
		t.Error("a group script check without a task was accepted")
	}
	if tcp.Status.Check != "alive" || tcp.Port != 25000 || tcp.Address != "127.0.0.1" || tcp.Interval != 3*time.Second || tcp.Status.Mode != "healthiness" {
		t.Errorf("tcp check = %+v", tcp)
	}
	if web.Status.Check != `service: "web" check` || web.Method != "GET" || web.Interval != defaultCheckInterval || web.Status.Mode != "readiness" {
		t.Errorf("http check = %+v", web)
	}
	if tcp.Status.ID == web.Status.ID || len(tcp.Status.ID) != 32 || tcp.Status.Group != src.Alloc.Name {
		t.Errorf("check identity: %+v / %+v", tcp.Status, web.Status)
	}
}

func TestPassingKeepsOnlyHealthyRegistrations(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer up.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	check := func(id, reg, addr string) Check {
		host, port := hostPort(t, addr)
		return Check{Status: api.AllocCheckStatus{ID: id, Status: CheckPending}, Registration: reg,
			Type: "tcp", Address: host, Port: port, Interval: time.Hour, Timeout: time.Second}
	}
	regs := []*api.ServiceRegistration{{ID: "healthy"}, {ID: "unhealthy"}, {ID: "half"}, {ID: "unchecked"}}
	checks := []Check{
		check("c1", "healthy", up.Listener.Addr().String()),
		check("c2", "unhealthy", closedAddr),
		check("c3", "half", up.Listener.Addr().String()),
		check("c4", "half", closedAddr),
	}
	changes := make(chan struct{}, 10)
	c := NewChecker(slog.New(slog.NewTextHandler(io.Discard, nil)), CheckerHooks{OnChange: func() { changes <- struct{}{} }})
	defer c.Close()
	if got := c.Passing(regs, checks); len(got) != 1 || got[0].ID != "unchecked" {
		t.Fatalf("before any check ran: %v", got)
	}
	c.SetChecks(checks)
	for range checks {
		select {
		case <-changes:
		case <-time.After(10 * time.Second):
			t.Fatal("checks did not report")
		}
	}
	got := c.Passing(regs, checks)
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	if len(ids) != 2 || ids[0] != "healthy" || ids[1] != "unchecked" {
		t.Fatalf("passing = %v, want [healthy unchecked]", ids)
	}
}

func ptrTo[T any](v T) *T { return &v }
