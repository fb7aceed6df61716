package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

func TestServiceJobLifecycleThroughAPIClient(t *testing.T) {
	a := startDevAgent(t, "")
	jobs := a.client.Jobs()
	job := shellJob("web", "service", 1, `echo "started $NOMAD_ALLOC_INDEX in $NOMAD_JOB_NAME"; while true; do sleep 1; done`)

	resp, _, err := jobs.Register(job, nil)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	if resp.EvalID == "" {
		t.Fatal("register returned no evaluation")
	}
	waitUntil(t, 30*time.Second, "one running alloc", func() bool { return countStatus(a.allocsOf(t, "web"), "running") == 1 })

	t.Run("logs through the fs API", func(t *testing.T) {
		alloc, _, err := a.client.Allocations().Info(a.allocsOf(t, "web")[0].ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 10*time.Second, "the task's output in its log", func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			frames, errs := a.client.AllocFS().Logs(alloc, false, "main", "stdout", "start", 0, ctx.Done(), nil)
			var got strings.Builder
			for {
				select {
				case f, ok := <-frames:
					if !ok {
						return strings.Contains(got.String(), "started 0 in web")
					}
					got.Write(f.Data)
					if strings.Contains(got.String(), "started 0 in web") {
						return true
					}
				case <-errs:
					return false
				case <-ctx.Done():
					return strings.Contains(got.String(), "started 0 in web")
				}
			}
		})
	})

	t.Run("scale up makes a new version and more allocs", func(t *testing.T) {
		if _, _, err := jobs.Scale("web", "app", ptr(3), "scale up", false, nil, nil); err != nil {
			t.Fatalf("scale: %v", err)
		}
		waitUntil(t, 30*time.Second, "three running allocs", func() bool { return countStatus(a.allocsOf(t, "web"), "running") == 3 })
		versions, _, _, err := jobs.Versions("web", false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(versions) != 2 || *versions[0].Version != 1 || *versions[0].TaskGroups[0].Count != 3 {
			t.Fatalf("versions after scale: %d, newest version %d", len(versions), *versions[0].Version)
		}
	})

	t.Run("summary counts running allocs", func(t *testing.T) {
		sum, _, err := jobs.Summary("web", nil)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Summary["app"].Running != 3 {
			t.Fatalf("summary running = %d, want 3", sum.Summary["app"].Running)
		}
	})

	t.Run("stop stops every alloc and the job is dead", func(t *testing.T) {
		if _, _, err := jobs.Deregister("web", false, nil); err != nil {
			t.Fatalf("deregister: %v", err)
		}
		waitUntil(t, 30*time.Second, "all allocs complete", func() bool { return countStatus(a.allocsOf(t, "web"), "complete") == 3 })
		waitUntil(t, 10*time.Second, "job dead", func() bool {
			j, _, err := jobs.Info("web", nil)
			return err == nil && *j.Status == "dead" && *j.Stop
		})
	})

	t.Run("purge removes the job", func(t *testing.T) {
		if _, _, err := jobs.Deregister("web", true, nil); err != nil {
			t.Fatalf("purge: %v", err)
		}
		if _, _, err := jobs.Info("web", nil); err == nil || !strings.Contains(err.Error(), "404") {
			t.Fatalf("purged job still readable: %v", err)
		}
	})
}

func TestBatchJobCompletes(t *testing.T) {
	a := startDevAgent(t, "")
	job := shellJob("once", "batch", 2, `echo done`)
	if _, _, err := a.client.Jobs().Register(job, nil); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "two complete allocs", func() bool { return countStatus(a.allocsOf(t, "once"), "complete") == 2 })
	waitUntil(t, 10*time.Second, "batch job dead", func() bool {
		j, _, err := a.client.Jobs().Info("once", nil)
		return err == nil && *j.Status == "dead"
	})
	// Completed batch allocations are not replaced.
	if n := len(a.allocsOf(t, "once")); n != 2 {
		t.Fatalf("allocs = %d, want 2", n)
	}
}

func TestUnplaceableJobReportsFilteringConstraint(t *testing.T) {
	a := startDevAgent(t, "")
	job := shellJob("nowhere", "service", 1, "sleep 100")
	job.Constrain(api.NewConstraint("${attr.kernel.name}", "=", "windows"))
	resp, _, err := a.client.Jobs().Register(job, nil)
	if err != nil {
		t.Fatal(err)
	}
	var eval *api.Evaluation
	waitUntil(t, 30*time.Second, "evaluation complete", func() bool {
		eval, _, err = a.client.Evaluations().Info(resp.EvalID, nil)
		return err == nil && eval.Status == "complete"
	})
	metric := eval.FailedTGAllocs["app"]
	if metric == nil {
		t.Fatalf("no placement failure recorded: %+v", eval)
	}
	if metric.ConstraintFiltered["${attr.kernel.name} = windows"] != 1 {
		t.Fatalf("ConstraintFiltered = %v, want the kernel constraint to filter 1 node", metric.ConstraintFiltered)
	}
	if eval.BlockedEval == "" {
		t.Fatal("no blocked evaluation left to retry the placement")
	}
}

func TestBadInputGetsClearErrorsAndStoresNothing(t *testing.T) {
	a := startDevAgent(t, "")
	cases := []struct {
		name     string
		method   string
		path     string
		body     string
		wantCode int
		wantText string
	}{
		{"malformed JSON", "PUT", "/v1/jobs", `{"Job": {`, 400, "Failed to decode request body"},
		{"negative count", "PUT", "/v1/jobs", `{"Job":{"ID":"neg","Name":"neg","TaskGroups":[{"Name":"g","Count":-1,"Tasks":[{"Name":"t","Driver":"raw_exec","Config":{"command":"/bin/true"}}]}]}}`, 400, "count"},
		{"unknown driver", "PUT", "/v1/jobs", `{"Job":{"ID":"drv","Name":"drv","TaskGroups":[{"Name":"g","Count":1,"Tasks":[{"Name":"t","Driver":"nope","Config":{}}]}]}}`, 400, "nope"},
		{"two tasks with one name", "PUT", "/v1/jobs", `{"Job":{"ID":"dup","Name":"dup","TaskGroups":[{"Name":"g","Count":1,"Tasks":[{"Name":"t","Driver":"raw_exec","Config":{"command":"/bin/true"}},{"Name":"t","Driver":"raw_exec","Config":{"command":"/bin/true"}}]}]}}`, 400, "t"},
		{"unknown job", "GET", "/v1/job/missing", "", 404, "job not found"},
		{"unknown alloc", "GET", "/v1/allocation/3f1b2c4d-0000-0000-0000-000000000000", "", 404, "alloc not found"},
		{"unknown eval", "GET", "/v1/evaluation/3f1b2c4d-0000-0000-0000-000000000000", "", 404, "eval not found"},
		// As in Nomad, stopping a job that does not exist creates nothing.
		{"stop unknown job", "DELETE", "/v1/job/missing", "", 200, `"EvalID":""`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, a.addr+tc.path, strings.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantCode || !strings.Contains(string(body), tc.wantText) {
				t.Fatalf("got %d %q, want %d containing %q", resp.StatusCode, body, tc.wantCode, tc.wantText)
			}
		})
	}
	jobs, _, err := a.client.Jobs().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 0 {
		t.Fatalf("bad input stored %d jobs", len(jobs))
	}
}

func TestBlockingQueryReturnsOnChange(t *testing.T) {
	a := startDevAgent(t, "")
	// A first job makes the list's index non-zero: index 0 never blocks.
	if _, _, err := a.client.Jobs().Register(shellJob("first", "batch", 1, "true"), nil); err != nil {
		t.Fatal(err)
	}
	_, meta, err := a.client.Jobs().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan uint64, 1)
	go func() {
		_, m, err := a.client.Jobs().List(&api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: time.Minute})
		if err == nil {
			done <- m.LastIndex
		}
	}()
	if _, _, err := a.client.Jobs().Register(shellJob("wake", "batch", 1, "true"), nil); err != nil {
		t.Fatal(err)
	}
	select {
	case idx := <-done:
		if idx <= meta.LastIndex {
			t.Fatalf("blocking query returned index %d, not past %d", idx, meta.LastIndex)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("blocking query did not return after a change")
	}
	if !meta.KnownLeader {
		t.Error("X-Nomad-KnownLeader not set")
	}
}
