package agent

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/nomad/api"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// send makes one request and returns its status and body; a dropped
// connection fails the test.
func send(t *testing.T, method, url string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(got)
}

// TestNullEntriesRefused sends jobs with null list entries, which used to
// panic in Canonicalize and drop the connection: each is a 400 naming the
// entry, on every endpoint that takes a job, and nothing is stored.
func TestNullEntriesRefused(t *testing.T) {
	ts := testAgentAPI(t, slog.New(slog.NewTextHandler(io.Discard, nil)))
	task := `{"Name":"t","Driver":"raw_exec","Config":{"command":"/bin/true"}}`
	group := func(extra string) string { return `{"Name":"g"` + extra + `,"Tasks":[` + task + `]}` }
	cases := []struct {
		name, job, want string
	}{
		{"null task group", `{"ID":"x","TaskGroups":[null]}`, "Job.TaskGroups[0] must not be null"},
		{"null task", `{"ID":"x","TaskGroups":[{"Name":"g","Tasks":[null]}]}`, "Job.TaskGroups[0].Tasks[0] must not be null"},
		{"null second task", `{"ID":"x","TaskGroups":[{"Name":"g","Tasks":[` + task + `,null]}]}`, "Job.TaskGroups[0].Tasks[1] must not be null"},
		{"null job constraint", `{"ID":"x","Constraints":[null],"TaskGroups":[` + group("") + `]}`, "Job.Constraints[0] must not be null"},
		{"null group constraint", `{"ID":"x","TaskGroups":[` + group(`,"Constraints":[null]`) + `]}`, "Job.TaskGroups[0].Constraints[0] must not be null"},
		{"null service", `{"ID":"x","TaskGroups":[` + group(`,"Services":[null]`) + `]}`, "Job.TaskGroups[0].Services[0] must not be null"},
		{"null network", `{"ID":"x","TaskGroups":[` + group(`,"Networks":[null]`) + `]}`, "Job.TaskGroups[0].Networks[0] must not be null"},
		{"null volume", `{"ID":"x","TaskGroups":[` + group(`,"Volumes":{"v":null}`) + `]}`, `Job.TaskGroups[0].Volumes["v"] must not be null`},
		{"null affinity", `{"ID":"x","Affinities":[null],"TaskGroups":[` + group("") + `]}`, "Job.Affinities[0] must not be null"},
		{"null spread", `{"ID":"x","Spreads":[null],"TaskGroups":[` + group("") + `]}`, "Job.Spreads[0] must not be null"},
		{"null template", `{"ID":"x","TaskGroups":[{"Name":"g","Tasks":[{"Name":"t","Driver":"raw_exec","Templates":[null]}]}]}`,
			"Job.TaskGroups[0].Tasks[0].Templates[0] must not be null"},
		{"null artifact", `{"ID":"x","TaskGroups":[{"Name":"g","Tasks":[{"Name":"t","Driver":"raw_exec","Artifacts":[null]}]}]}`,
			"Job.TaskGroups[0].Tasks[0].Artifacts[0] must not be null"},
	}
	endpoints := []struct{ name, method, path string }{
		{"register", "PUT", "/v1/jobs"},
		{"register by ID", "PUT", "/v1/job/x"},
		{"plan", "PUT", "/v1/job/x/plan"},
		{"validate", "PUT", "/v1/validate/job"},
	}
	for _, tc := range cases {
		for _, ep := range endpoints {
			t.Run(tc.name+"/"+ep.name, func(t *testing.T) {
				code, body := send(t, ep.method, ts.URL+ep.path, strings.NewReader(`{"Job":`+tc.job+`}`))
				if code != http.StatusBadRequest || !strings.Contains(body, tc.want) {
					t.Fatalf("%s %s = %d %q, want 400 naming %q", ep.method, ep.path, code, body, tc.want)
				}
			})
		}
	}
	if code, body := send(t, "GET", ts.URL+"/v1/jobs", nil); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Fatalf("jobs after refusals = %d %q, want none", code, body)
	}
}

// TestGuardRecoversPanics: a handler that panics answers 500 and the
// panic is logged with its stack; the server keeps serving.
func TestGuardRecoversPanics(t *testing.T) {
	var log syncBuffer
	h := &httpAPI{logger: slog.New(slog.NewTextHandler(&log, nil)), jobBodyLimit: defaultBodyLimit}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/boom", func(http.ResponseWriter, *http.Request) { panic("boom") })
	mux.HandleFunc("/v1/fine", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	ts := httptest.NewServer(h.guard(mux))
	defer ts.Close()
	code, body := send(t, "GET", ts.URL+"/v1/boom", nil)
	if code != http.StatusInternalServerError || !strings.Contains(body, "Internal error") {
		t.Fatalf("panicking handler = %d %q, want 500", code, body)
	}
	if got := log.String(); !strings.Contains(got, "panic serving request") || !strings.Contains(got, "panic=boom") ||
		!strings.Contains(got, "http_guard_test.go") {
		t.Fatalf("log lacks the panic and its stack: %s", got)
	}
	if code, body := send(t, "GET", ts.URL+"/v1/fine", nil); code != 200 || body != "ok" {
		t.Fatalf("after the panic = %d %q", code, body)
	}
}

// unsized hides a body's length, so the request is sent chunked and the
// limit must be enforced while reading.
type unsized struct{ r io.Reader }

func (u unsized) Read(p []byte) (int, error) { return u.r.Read(p) }

// TestBodyLimits sends bodies over each endpoint's limit: 413, with or
// without a Content-Length, and nothing stored; bodies within it pass.
func TestBodyLimits(t *testing.T) {
	ts := testAgentAPI(t, slog.New(slog.NewTextHandler(io.Discard, nil)))
	job := func(metaBytes int) []byte {
		j := api.NewBatchJob("big", "big", "global", 50)
		j.Meta = map[string]string{"pad": strings.Repeat("x", metaBytes)}
		j.AddTaskGroup(api.NewTaskGroup("g", 1).AddTask(api.NewTask("t", "raw_exec").SetConfig("command", "/bin/true")))
		data, err := json.Marshal(api.JobRegisterRequest{Job: j})
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	jobLimit := int(jobBodyBase + 2*1_000_000)
	variable := func(size int) []byte { return []byte(`{"Items":{"k":"` + strings.Repeat("v", size) + `"}}`) }
	cases := []struct {
		name, method, path string
		body               []byte
		chunked            bool
		want               int
	}{
		{"job within the limit", "PUT", "/v1/jobs", job(jobLimit / 2), false, 200},
		{"job over the limit", "PUT", "/v1/jobs", job(jobLimit + 1), false, 413},
		{"job over the limit, chunked", "PUT", "/v1/jobs", job(jobLimit + 1), true, 413},
		{"plan over the limit", "PUT", "/v1/job/big/plan", job(jobLimit + 1), true, 413},
		{"variable within the limit", "PUT", "/v1/var/app/ok", variable(1000), false, 200},
		{"variable over the limit", "PUT", "/v1/var/app/big", variable(defaultBodyLimit), false, 413},
		{"variable over the limit, chunked", "PUT", "/v1/var/app/big", variable(defaultBodyLimit), true, 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader = bytes.NewReader(tc.body)
			if tc.chunked {
				body = unsized{body}
			}
			code, got := send(t, tc.method, ts.URL+tc.path, body)
			if code != tc.want {
				t.Fatalf("%s %s (%d bytes) = %d %.200q, want %d", tc.method, tc.path, len(tc.body), code, got, tc.want)
			}
			if tc.want == 413 && !strings.Contains(got, "Request body too large") {
				t.Fatalf("413 body %q", got)
			}
		})
	}
	if code, _ := send(t, "GET", ts.URL+"/v1/var/app/big", nil); code != 404 {
		t.Fatalf("refused variable stored: GET = %d", code)
	}
}
