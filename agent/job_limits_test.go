package agent

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/server"
)

// TestJobLimitsRefused registers and plans jobs beyond the server's
// default limits: each is a 400 naming the limit, and nothing is stored.
func TestJobLimitsRefused(t *testing.T) {
	ts := testAgentAPI(t, slog.New(slog.NewTextHandler(io.Discard, nil)))
	job := func(edit func(j *api.Job, tg *api.TaskGroup)) string {
		j := api.NewServiceJob("limits", "limits", "global", 50)
		tg := api.NewTaskGroup("web", 1).AddTask(api.NewTask("t", "raw_exec").SetConfig("command", "/bin/sleep"))
		j.AddTaskGroup(tg)
		edit(j, tg)
		data, err := json.Marshal(api.JobRegisterRequest{Job: j})
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	cases := []struct {
		name string
		edit func(j *api.Job, tg *api.TaskGroup)
		want string
	}{
		{"count of a hundred million", func(_ *api.Job, tg *api.TaskGroup) { tg.Count = new(100_000_000) },
			`count 100000000 (canaries 0) exceeds the server's job_max_count of 50000`},
		{"count just over the limit", func(_ *api.Job, tg *api.TaskGroup) { tg.Count = new(server.DefaultJobMaxCount + 1) },
			"exceeds the server's job_max_count of 50000"},
		{"groups adding up over the limit", func(j *api.Job, tg *api.TaskGroup) {
			tg.Count = new(30_000)
			other := api.NewTaskGroup("other", 30_000).AddTask(api.NewTask("t", "raw_exec").SetConfig("command", "/bin/sleep"))
			j.AddTaskGroup(other)
		}, "Job asks for 60000 allocations across its task groups, more than the server's job_max_count of 50000"},
		{"huge canary", func(_ *api.Job, tg *api.TaskGroup) { tg.Update = &api.UpdateStrategy{Canary: new(100_000_000)} },
			"canaries 100000000"},
		{"priority over the maximum", func(j *api.Job, _ *api.TaskGroup) { j.Priority = new(101) },
			"Job priority must be between [1, 100]; got 101"},
		{"memory of 2^62 MB", func(_ *api.Job, tg *api.TaskGroup) { tg.Tasks[0].Resources = &api.Resources{MemoryMB: new(1 << 62)} },
			"MemoryMB value 4611686018427387904 exceeds the maximum of"},
		{"memory_max of 2^62 MB", func(_ *api.Job, tg *api.TaskGroup) { tg.Tasks[0].Resources = &api.Resources{MemoryMaxMB: new(1 << 62)} },
			"MemoryMaxMB value 4611686018427387904 exceeds the maximum of"},
		{"cpu of 2^62 MHz", func(_ *api.Job, tg *api.TaskGroup) { tg.Tasks[0].Resources = &api.Resources{CPU: new(1 << 62)} },
			"CPU value 4611686018427387904 exceeds the maximum of"},
		{"disk of 2^62 MB", func(_ *api.Job, tg *api.TaskGroup) { tg.EphemeralDisk = &api.EphemeralDisk{SizeMB: new(1 << 62)} },
			"DiskMB value 4611686018427387904 exceeds the maximum of"},
	}
	for _, tc := range cases {
		for _, path := range []string{"/v1/jobs", "/v1/job/limits/plan"} {
			t.Run(tc.name+path, func(t *testing.T) {
				code, body := send(t, "PUT", ts.URL+path, strings.NewReader(job(tc.edit)))
				if code != http.StatusBadRequest || !strings.Contains(body, tc.want) {
					t.Fatalf("PUT %s = %d %q, want 400 containing %q", path, code, body, tc.want)
				}
			})
		}
	}
	if code, _ := send(t, "GET", ts.URL+"/v1/job/limits", nil); code != http.StatusNotFound {
		t.Fatalf("refused job stored: GET = %d", code)
	}
}

// TestJobLimitsConfig reads the server's job limits from an agent
// configuration file and checks their bounds.
func TestJobLimitsConfig(t *testing.T) {
	cases := []struct {
		name, content string
		want          ServerConfig
		wantErr       string
	}{
		{name: "all set", content: `server {
  job_max_priority     = 200
  job_default_priority = 70
  job_max_count        = 1000
  job_max_source_size  = "2MiB"
}`, want: ServerConfig{JobMaxPriority: 200, JobDefaultPriority: 70, JobMaxCount: 1000, JobMaxSourceSize: 2 << 20}},
		{name: "decimal size", content: `server { job_max_source_size = "1.5M" }`, want: ServerConfig{JobMaxSourceSize: 1_500_000}},
		{name: "bad size", content: `server { job_max_source_size = "lots" }`, wantErr: `Invalid job_max_source_size; "lots" is not a size`},
		{name: "max priority too low", content: `server { job_max_priority = 10 }`, wantErr: "server.job_max_priority 10 is not between 100 and 32766"},
		{name: "default over max", content: `server {
  job_max_priority     = 120
  job_default_priority = 121
}`, wantErr: "server.job_default_priority 121 is not between 50 and job_max_priority (120)"},
		{name: "negative count", content: `server { job_max_count = -1 }`, wantErr: "server.job_max_count must not be negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "roam.hcl")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := LoadConfigFile(path)
			if err == nil {
				err = cfg.Server.validateJobLimits()
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.Server
			if got.JobMaxPriority != tc.want.JobMaxPriority || got.JobDefaultPriority != tc.want.JobDefaultPriority ||
				got.JobMaxCount != tc.want.JobMaxCount || got.JobMaxSourceSize != tc.want.JobMaxSourceSize {
				t.Fatalf("limits = %d %d %d %d, want %+v", got.JobMaxPriority, got.JobDefaultPriority, got.JobMaxCount, got.JobMaxSourceSize, tc.want)
			}
		})
	}
}

// TestJobDefaultPriority: a job registered without a priority gets the
// server's job_default_priority, one with a priority keeps it.
func TestJobDefaultPriority(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(server.Config{NodeName: "prio.global", Region: "global", Datacenter: "dc1", NumSchedulers: 1,
		JobLimits: server.JobLimits{DefaultPriority: 70}, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	h := &httpAPI{srv: srv, logger: logger}
	for _, tc := range []struct {
		name     string
		priority *int
		want     int
	}{
		{"unset", nil, 70},
		{"set", new(20), 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := &api.Job{ID: new("p"), Priority: tc.priority}
			if err := h.canonicalizeJob(job, httptest.NewRequest("PUT", "/v1/jobs", nil), ""); err != nil {
				t.Fatal(err)
			}
			if *job.Priority != tc.want {
				t.Fatalf("priority = %d, want %d", *job.Priority, tc.want)
			}
		})
	}
}
