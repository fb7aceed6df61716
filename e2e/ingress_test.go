package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/ingress"
)

// ingressJob runs count web instances behind the ingress at 2048.localhost;
// each serves its task dir, whose whoami holds its alloc index, and only
// instances whose index is not 1 have the file their check asks for.
func ingressJob(webapp string, count int) *api.Job {
	job := api.NewServiceJob("web2048", "web2048", "global", 50)
	task := api.NewTask("web", "raw_exec").SetConfig("command", "/bin/sh").SetConfig("args", []string{"-c",
		`cd "$NOMAD_TASK_DIR" && printf %s "$NOMAD_ALLOC_INDEX" > whoami && { [ "$NOMAD_ALLOC_INDEX" = 1 ] || touch healthy; } && PORT=$NOMAD_PORT_http WEBAPP_ROOT=. exec ` + webapp}).
		Require(&api.Resources{CPU: ptr(100), MemoryMB: ptr(64)})
	group := api.NewTaskGroup("web", count).AddTask(task)
	group.Networks = []*api.NetworkResource{{DynamicPorts: []api.Port{{Label: "http"}}}}
	group.Services = []*api.Service{{Name: "web2048", PortLabel: "http", Provider: "nomad", Tags: []string{"ingress.host=2048.localhost"},
		Checks: []api.ServiceCheck{{Name: "ready", Type: "http", Path: "/healthy", Interval: time.Second, Timeout: time.Second}}}}
	job.AddTaskGroup(group)
	return job
}

// TestIngressRoutesToHealthyInstances runs three instances behind the
// agent's ingress, one of them with a failing check: requests by Host
// reach the two healthy ones only, round-robin; while a load loop runs, an
// instance is added and one is stopped, and no request fails.
func TestIngressRoutesToHealthyInstances(t *testing.T) {
	port := freePorts(t, 1)[0]
	a := startDevAgent(t, fmt.Sprintf("client {\n  ingress {\n    enabled   = true\n    http_port = %d\n  }\n}\n", port))
	webapp := buildWebapp(t)
	if _, _, err := a.client.Jobs().Register(ingressJob(webapp, 3), nil); err != nil {
		t.Fatal(err)
	}
	front := fmt.Sprintf("http://127.0.0.1:%d/whoami", port)
	routes := func() []ingress.RouteView {
		var out []ingress.RouteView
		_, _ = a.client.Raw().Query("/v1/ingress/routes", &out, nil)
		return out
	}
	healthy := func(r ingress.RouteView) int {
		n := 0
		for _, in := range r.Instances {
			if in.Healthy {
				n++
			}
		}
		return n
	}
	waitUntil(t, 30*time.Second, "a route to three instances, two healthy", func() bool {
		rs := routes()
		return len(rs) == 1 && len(rs[0].Instances) == 3 && healthy(rs[0]) == 2
	})
	client := &http.Client{Timeout: 5 * time.Second}
	fetch := func() (string, error) {
		req, _ := http.NewRequest("GET", front, nil)
		req.Host = "2048.localhost"
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return "", fmt.Errorf("status %d: %s", resp.StatusCode, b)
		}
		return string(b), nil
	}

	t.Run("only healthy instances take traffic, round-robin", func(t *testing.T) {
		seen := map[string]int{}
		for range 40 {
			body, err := fetch()
			if err != nil {
				t.Fatal(err)
			}
			seen[body]++
		}
		if seen["1"] > 0 || seen["0"] < 10 || seen["2"] < 10 {
			t.Fatalf("answers by instance = %v, want 0 and 2 only, both used", seen)
		}
	})

	t.Run("instances added and stopped under load: no failed request", func(t *testing.T) {
		var failures, requests atomic.Int64
		var lastErr atomic.Value
		seen := sync.Map{}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					body, err := fetch()
					requests.Add(1)
					if err != nil {
						failures.Add(1)
						lastErr.Store(err.Error())
						continue
					}
					seen.Store(body, true)
				}
			})
		}
		added := time.Now()
		job := ingressJob(webapp, 4)
		if _, _, err := a.client.Jobs().Register(job, nil); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 30*time.Second, "the new instance taking traffic", func() bool {
			_, ok := seen.Load("3")
			return ok
		})
		t.Logf("new instance took traffic %s after it was submitted", time.Since(added).Round(time.Millisecond))
		var victim string
		for _, s := range a.allocsOf(t, "web2048") {
			if s.ClientStatus == "running" && strings.HasSuffix(s.Name, "[0]") {
				victim = s.ID
			}
		}
		if _, err := a.client.Allocations().Stop(&api.Allocation{ID: victim}, nil); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 30*time.Second, "the stopped instance replaced", func() bool {
			rs := routes()
			if len(rs) != 1 || healthy(rs[0]) != 3 {
				return false
			}
			for _, in := range rs[0].Instances {
				if in.AllocID == victim {
					return false
				}
			}
			return true
		})
		close(stop)
		wg.Wait()
		if n := failures.Load(); n > 0 {
			t.Fatalf("%d of %d requests failed (last: %v)", n, requests.Load(), lastErr.Load())
		}
		t.Logf("%d requests, none failed", requests.Load())
	})

	t.Run("roam ingress list shows the route", func(t *testing.T) {
		out, code := a.roam(t, "ingress", "list")
		if code != 0 || !strings.Contains(out, "2048.localhost") || !strings.Contains(out, "default/web2048") {
			t.Fatalf("ingress list: exit %d:\n%s", code, out)
		}
	})
}
