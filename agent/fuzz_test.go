package agent

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"
)

// registerSeeds are job registrations built with the official client's
// types: valid jobs and the malformed ones the HTTP API has been probed
// with.
func registerSeeds(f *testing.F) [][]byte {
	f.Helper()
	task := func() *api.Task {
		return api.NewTask("t", "raw_exec").SetConfig("command", "/bin/sleep").SetConfig("args", []string{"10"}).
			Require(&api.Resources{CPU: new(100), MemoryMB: new(64)})
	}
	service := api.NewServiceJob("web", "web", "global", 50)
	service.AddTaskGroup(api.NewTaskGroup("g", 2).AddTask(task()))
	batch := api.NewBatchJob("batch", "batch", "global", 70)
	batch.Constrain(api.NewConstraint("${attr.kernel.name}", "=", "linux"))
	batch.AddTaskGroup(api.NewTaskGroup("g", 1).AddTask(task()))
	periodic := api.NewBatchJob("cron", "cron", "global", 50)
	periodic.Periodic = &api.PeriodicConfig{Spec: new("*/5 * * * *")}
	periodic.AddTaskGroup(api.NewTaskGroup("g", 1).AddTask(task()))
	huge := api.NewServiceJob("huge", "huge", "global", 50)
	huge.AddTaskGroup(api.NewTaskGroup("g", 100_000_000).AddTask(task()))
	var seeds [][]byte
	for _, j := range []*api.Job{service, batch, periodic, huge} {
		data, err := json.Marshal(api.JobRegisterRequest{Job: j, Submission: &api.JobSubmission{Source: "job {}", Format: "hcl2"}})
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, data)
	}
	for _, s := range []string{
		`{"Job":{"ID":"x","TaskGroups":[null]}}`,
		`{"Job":{"ID":"x","TaskGroups":[{"Name":"g","Tasks":[null]}]}}`,
		`{"Job":{"ID":"x","TaskGroups":[{"Name":"g","Tasks":[{"Name":"t","Driver":"raw_exec","Resources":{"MemoryMB":4611686018427387904}}]}]}}`,
		`{"Job":{"ID":"x","Update":{},"Multiregion":{"Regions":[null]},"TaskGroups":[{"Update":{"Canary":-1},"Tasks":[{}]}]}}`,
		`{"Job":null}`, `{}`, `null`, `[]`, ``,
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

// FuzzJobRegister sends arbitrary bodies to the job registration endpoint
// of the whole HTTP API: each gets an answer below 500 (a panic would be
// a 500 from the guard), and a 200 only for a job that is then stored.
func FuzzJobRegister(f *testing.F) {
	for _, s := range registerSeeds(f) {
		f.Add(s)
	}
	ts := testAgentAPI(f, slog.New(slog.NewTextHandler(io.Discard, nil)))
	handler := ts.Config.Handler
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPut, "/v1/jobs", bytes.NewReader(body))
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("PUT /v1/jobs %q = %d %q", body, rec.Code, rec.Body.String())
		}
		if rec.Code != http.StatusOK {
			return
		}
		var sent api.JobRegisterRequest
		if err := json.Unmarshal(body, &sent); err != nil || sent.Job == nil || sent.Job.ID == nil {
			t.Fatalf("accepted %q, which is no job registration", body)
		}
		if strings.Contains(*sent.Job.ID, "/") {
			return // not addressable as /v1/job/<id>
		}
		get := httptest.NewRecorder()
		handler.ServeHTTP(get, httptest.NewRequest(http.MethodGet, "/v1/job/"+url.PathEscape(*sent.Job.ID)+"?namespace="+url.QueryEscape(ns(sent.Job)), nil))
		if get.Code != http.StatusOK {
			t.Fatalf("accepted job %q not stored: GET = %d %q", *sent.Job.ID, get.Code, get.Body.String())
		}
	})
}

func ns(j *api.Job) string {
	if j.Namespace == nil || *j.Namespace == "" {
		return "default"
	}
	return *j.Namespace
}

// FuzzLoadConfigFile feeds arbitrary bytes to the agent configuration
// loader as HCL and as JSON, and merges and validates what loads: errors
// are fine, panics are not.
func FuzzLoadConfigFile(f *testing.F) {
	paths, err := filepath.Glob("testdata/*.*")
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range paths {
		src, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	for _, s := range []string{
		`server { job_max_source_size = "1e400" }`,
		`server { job_max_source_size = "9EiB" job_max_priority = -1 }`,
		`client { meta { "a.b" = "c" } }`,
		`plugin "docker" { config { volumes { enabled = true } } }`,
		`{"server": {"enabled": true, "server_join": [{"retry_join": ["a"]}]}}`,
		`advertise { http = "[::1]:99999" }`,
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src []byte) {
		for _, name := range []string{"fuzz.hcl", "fuzz.json"} {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, src, 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := LoadConfigFile(path)
			if err != nil {
				continue
			}
			merged := DefaultConfig().Merge(cfg)
			_ = merged.Validate()
			_ = merged.NormalizeAddrs()
		}
	})
}
