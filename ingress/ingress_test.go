package ingress

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/hashicorp/nomad/api"
)

func reg(ns, name, alloc, addr string, created uint64, tags ...string) *api.ServiceRegistration {
	host, port, _ := net.SplitHostPort(addr)
	var p int
	fmt.Sscan(port, &p)
	return &api.ServiceRegistration{Namespace: ns, ServiceName: name, AllocID: alloc, Address: host, Port: p, CreateIndex: created, Tags: tags}
}

func TestRoutingTable(t *testing.T) {
	regs := []*api.ServiceRegistration{
		reg("default", "web", "a1", "10.0.0.1:80", 10, "ingress.host=App.example.com"),
		reg("default", "web", "a2", "10.0.0.2:80", 11, "ingress.host=app.example.com"),
		reg("default", "api", "a3", "10.0.0.3:80", 12, "ingress.host=app.example.com", "ingress.path=/api"),
		reg("prod", "intruder", "a4", "10.0.0.4:80", 20, "ingress.host=app.example.com", "ingress.path=/api"),
		reg("default", "plain", "a5", "10.0.0.5:80", 13, "http"),
	}
	table := buildTable(regs, nil, nil, nil, nil)
	cases := []struct {
		name, host, path string
		wantService      string
		wantInstances    int
	}{
		{"host matches case-insensitively, port ignored", "APP.example.com:8080", "/", "web", 2},
		{"longest path prefix wins", "app.example.com", "/api/users", "api", 1},
		{"path prefix needs a segment boundary", "app.example.com", "/apis", "web", 2},
		{"exact path", "app.example.com", "/api", "api", 1},
		{"IPv6 literal with port", "[::1]:80", "/", "", 0},
		{"unknown host", "other.example.com", "/", "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := table.lookup(tc.host, tc.path)
			if tc.wantService == "" {
				if r != nil {
					t.Fatalf("route %+v, want none", r)
				}
				return
			}
			if r == nil || r.Service != tc.wantService || len(r.Instances) != tc.wantInstances {
				t.Fatalf("route = %+v, want service %s with %d instances", r, tc.wantService, tc.wantInstances)
			}
		})
	}
	api := table.lookup("app.example.com", "/api")
	if len(api.Conflicts) != 1 || api.Conflicts[0] != "prod/intruder" {
		t.Errorf("conflicts = %v, want the newer prod/intruder reported", api.Conflicts)
	}
	if n := len(table.Routes()); n != 2 {
		t.Errorf("%d routes, want 2 (untagged services get none)", n)
	}
}

// upstream is a test instance that names itself and echoes what it saw.
func upstream(t *testing.T, name string) *httptest.Server {
	up := websocket.Upgrader{}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if websocket.IsWebSocketUpgrade(r) {
			c, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer c.Close()
			_, msg, _ := c.ReadMessage()
			c.WriteMessage(websocket.TextMessage, []byte(name+":"+string(msg)))
			return
		}
		fmt.Fprintf(w, "%s host=%s xff=%s xfh=%s", name, r.Host, r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Host"))
	}))
	t.Cleanup(s.Close)
	return s
}

func get(t *testing.T, url, host string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestProxy(t *testing.T) {
	a, b := upstream(t, "a"), upstream(t, "b")
	dead := httptest.NewServer(http.NotFoundHandler())
	deadAddr := dead.Listener.Addr().String()
	dead.Close()
	p := NewProxy()
	p.Update([]*api.ServiceRegistration{
		reg("default", "web", "a", a.Listener.Addr().String(), 1, "ingress.host=web.test"),
		reg("default", "web", "b", b.Listener.Addr().String(), 1, "ingress.host=web.test"),
		reg("default", "web", "dead", deadAddr, 1, "ingress.host=web.test"),
	}, nil, nil)

	var want uint64 // requests the route has answered
	for _, f := range fronts(t, p) {
		front := f.url
		want += 35
		t.Run(f.name, func(t *testing.T) {
			t.Run("round-robin over healthy instances, retrying past a dead one", func(t *testing.T) {
				seen := map[string]int{}
				for range 30 {
					code, body := get(t, front, "web.test")
					if code != 200 {
						t.Fatalf("status %d: %s", code, body)
					}
					seen[body[:1]]++
				}
				if seen["a"] < 10 || seen["b"] < 10 {
					t.Fatalf("spread = %v, want both instances used", seen)
				}
			})
			t.Run("kept-alive connections the instances closed are replaced", func(t *testing.T) {
				a.CloseClientConnections()
				b.CloseClientConnections()
				for range 4 {
					if code, body := get(t, front, "web.test"); code != 200 {
						t.Fatalf("status %d: %s", code, body)
					}
				}
			})
			t.Run("forwarding headers", func(t *testing.T) {
				_, body := get(t, front+"/x", "web.test")
				if !strings.Contains(body, "host=web.test") || !strings.Contains(body, "xff=127.0.0.1") || !strings.Contains(body, "xfh=web.test") {
					t.Fatalf("upstream saw %q", body)
				}
			})
			t.Run("unknown host is 404", func(t *testing.T) {
				if code, _ := get(t, front, "nope.test"); code != http.StatusNotFound {
					t.Fatalf("status %d, want 404", code)
				}
			})
			t.Run("websockets pass through", func(t *testing.T) {
				hdr := http.Header{"Host": {"web.test"}}
				d := websocket.Dialer{}
				c, _, err := d.Dial(strings.Replace(front, "http", "ws", 1)+"/ws", hdr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.WriteMessage(websocket.TextMessage, []byte("ping"))
				_, msg, err := c.ReadMessage()
				if err != nil || !strings.HasSuffix(string(msg), ":ping") {
					t.Fatalf("message %q, %v", msg, err)
				}
			})
			t.Run("per-route counters", func(t *testing.T) {
				s := p.Table().lookup("web.test", "/").stats.snapshot()
				if s.Requests < want || s.Failures != 0 {
					t.Fatalf("stats = %+v", s)
				}
			})
		})
	}
}

func TestConflictsByJobAge(t *testing.T) {
	web := reg("default", "web", "w2", "10.0.0.1:80", 100, "ingress.host=app.test") // an instance replaced lately
	web.JobID = "web"
	intruder := reg("prod", "intruder", "i1", "10.0.0.2:80", 50, "ingress.host=app.test")
	intruder.JobID = "intruder"
	cases := []struct {
		name         string
		jobIndex     map[string]uint64
		wantOwner    string
		wantConflict string
	}{
		{"the older job keeps the route though its instances are newer",
			map[string]uint64{JobKey("default", "web"): 10, JobKey("prod", "intruder"): 40}, "web", "prod/intruder"},
		{"jobs unknown: the oldest registration wins", nil, "intruder", "default/web"},
		{"one job unknown: its registrations date its claim",
			map[string]uint64{JobKey("default", "web"): 10}, "web", "prod/intruder"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := buildTable([]*api.ServiceRegistration{web, intruder}, tc.jobIndex, nil, nil, nil).lookup("app.test", "/")
			if r == nil || r.Service != tc.wantOwner || len(r.Conflicts) != 1 || r.Conflicts[0] != tc.wantConflict {
				t.Fatalf("route = %+v, want owner %s with conflict %s", r, tc.wantOwner, tc.wantConflict)
			}
		})
	}
}

// TestIdleRoutes: a route kept without instances answers 503 with
// Retry-After (and counts a failure), an unknown host 404, and a
// registration for the idle route's host and path takes it back.
func TestIdleRoutes(t *testing.T) {
	a := upstream(t, "a")
	p := NewProxy()
	fs := fronts(t, p)
	idle := []RouteKey{{Host: "idle.test", Path: "/", Namespace: "default", Service: "idle", JobID: "idle", Since: 5}}
	p.Update(nil, nil, idle)
	cases := []struct {
		name, host string
		want       int
	}{
		{"route without instances", "idle.test", http.StatusServiceUnavailable},
		{"unknown host", "nope.test", http.StatusNotFound},
	}
	for _, f := range fs {
		for _, tc := range cases {
			t.Run(f.name+"/"+tc.name, func(t *testing.T) {
				req, _ := http.NewRequest("GET", f.url, nil)
				req.Host = tc.host
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.want {
					t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
				}
				if ra := resp.Header.Get("Retry-After"); (tc.want == http.StatusServiceUnavailable) != (ra != "") {
					t.Fatalf("Retry-After %q", ra)
				}
			})
		}
	}
	if s := p.Table().lookup("idle.test", "/").stats.snapshot(); s.Failures != uint64(len(fs)) {
		t.Errorf("stats = %+v, want each 503 counted as a failure", s)
	}
	claims := []struct {
		name        string
		created     uint64
		wantService string
	}{
		{"a newer service does not take an idle route", 10, "idle"},
		{"an older service does", 1, "other"},
	}
	for _, tc := range claims {
		t.Run(tc.name, func(t *testing.T) {
			tab := p.Update([]*api.ServiceRegistration{reg("default", "other", "o", a.Listener.Addr().String(), tc.created, "ingress.host=idle.test")}, nil, idle)
			r := tab.lookup("idle.test", "/")
			if r == nil || r.Service != tc.wantService || len(r.Conflicts) != 1 {
				t.Fatalf("route %+v, want %s's with the other listed as a conflict", r, tc.wantService)
			}
		})
	}
	p.Update([]*api.ServiceRegistration{reg("default", "idle", "x", a.Listener.Addr().String(), 1, "ingress.host=idle.test")}, nil, idle)
	for _, f := range fs {
		if code, body := get(t, f.url, "idle.test"); code != 200 || !strings.HasPrefix(body, "a") {
			t.Fatalf("%s: status %d %q, want the registered instance", f.name, code, body)
		}
	}
}
