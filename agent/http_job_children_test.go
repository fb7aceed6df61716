package agent

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"
)

// childrenAPI serves the jobs endpoints of an in-memory server and returns
// the official API client pointed at them.
func childrenAPI(t *testing.T) *api.Client {
	t.Helper()
	ts := testAPIServer(t, func(h *httpAPI, mux *http.ServeMux) {
		mux.HandleFunc("/v1/jobs", h.wrap(h.jobsRequest))
		mux.HandleFunc("/v1/job/", h.wrap(h.jobRequest))
	})
	client, err := api.NewClient(&api.Config{Address: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

func childTestJob(id string, configure func(*api.Job)) *api.Job {
	job := api.NewBatchJob(id, id, "global", 50)
	task := api.NewTask("work", "raw_exec").SetConfig("command", "/bin/true")
	job.AddTaskGroup(api.NewTaskGroup("work", 1).AddTask(task))
	configure(job)
	return job
}

func TestHTTPPeriodicForce(t *testing.T) {
	client := childrenAPI(t)
	jobs := client.Jobs()
	for _, j := range []*api.Job{
		childTestJob("cron", func(j *api.Job) { j.Periodic = &api.PeriodicConfig{Spec: ptrTo("@yearly")} }),
		childTestJob("plain", func(*api.Job) {}),
	} {
		if _, _, err := jobs.Register(j, nil); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name    string
		jobID   string
		wantErr string
	}{
		{"periodic job", "cron", ""},
		{"non-periodic job", "plain", "400 (can't force launch non-periodic job)"},
		{"unknown job", "nope", "404"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			evalID, _, err := jobs.PeriodicForce(tc.jobID, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || evalID == "" {
				t.Fatalf("force: eval %q, err %v", evalID, err)
			}
			children, _, err := jobs.PrefixList("cron/periodic-")
			if err != nil || len(children) != 1 || children[0].ParentID != "cron" {
				t.Fatalf("children = %+v (%v), want one with ParentID cron", children, err)
			}
		})
	}
}

func TestHTTPDispatch(t *testing.T) {
	client := childrenAPI(t)
	jobs := client.Jobs()
	job := childTestJob("render", func(j *api.Job) {
		j.ParameterizedJob = &api.ParameterizedJobConfig{Payload: "required", MetaRequired: []string{"customer"}}
	})
	if _, _, err := jobs.Register(job, nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		meta    map[string]string
		payload []byte
		wantErr string
	}{
		{"valid dispatch", map[string]string{"customer": "acme"}, []byte("data"), ""},
		{"missing meta", nil, []byte("data"), "400 (Dispatch did not provide required meta keys: [customer])"},
		{"missing payload", map[string]string{"customer": "acme"}, nil, "400 (Payload is required)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, _, err := jobs.Dispatch("render", tc.meta, tc.payload, "", nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.EvalID == "" || resp.JobCreateIndex == 0 || !strings.HasPrefix(resp.DispatchedJobID, "render/dispatch-") {
				t.Fatalf("response = %+v", resp)
			}
			child, _, err := jobs.Info(resp.DispatchedJobID, nil)
			if err != nil {
				t.Fatal(err)
			}
			if string(child.Payload) != "data" || !child.Dispatched || *child.ParentID != "render" {
				t.Errorf("child Payload=%q Dispatched=%v ParentID=%q", child.Payload, child.Dispatched, *child.ParentID)
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }
