package e2e

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHostileInputAnswered sends the built agent the inputs that used to
// drop the connection, exhaust its memory or read beyond its limits: each
// gets a clear 4xx answer and nothing is stored.
func TestHostileInputAnswered(t *testing.T) {
	a := startDevAgent(t, "")
	task := `{"Name":"t","Driver":"raw_exec","Config":{"command":"/bin/true"}}`
	cases := []struct {
		name     string
		path     string
		body     string
		wantCode int
		wantText string
	}{
		{"null task group", "/v1/jobs", `{"Job":{"ID":"x","TaskGroups":[null]}}`, 400, "Job.TaskGroups[0] must not be null"},
		{"null task", "/v1/jobs", `{"Job":{"ID":"x","TaskGroups":[{"Name":"g","Tasks":[null]}]}}`, 400, "Job.TaskGroups[0].Tasks[0] must not be null"},
		{"count of a hundred million", "/v1/jobs", `{"Job":{"ID":"x","TaskGroups":[{"Name":"g","Count":100000000,"Tasks":[` + task + `]}]}}`, 400, "job_max_count"},
		{"plan of a hundred million", "/v1/job/x/plan", `{"Job":{"ID":"x","TaskGroups":[{"Name":"g","Count":100000000,"Tasks":[` + task + `]}]}}`, 400, "job_max_count"},
		{"memory of 2^62 MB", "/v1/jobs", `{"Job":{"ID":"x","TaskGroups":[{"Name":"g","Tasks":[{"Name":"t","Driver":"raw_exec","Config":{"command":"/bin/true"},"Resources":{"MemoryMB":4611686018427387904}}]}]}}`, 400, "MemoryMB value 4611686018427387904 exceeds the maximum"},
		{"50 MB body", "/v1/jobs", `{"Job":{"ID":"x","Meta":{"pad":"` + strings.Repeat("x", 50<<20) + `"}}}`, 413, "Request body too large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(a.addr+tc.path, "application/json", bytes.NewReader([]byte(tc.body)))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantCode || !strings.Contains(string(body), tc.wantText) {
				t.Fatalf("got %d %.300q, want %d containing %q", resp.StatusCode, body, tc.wantCode, tc.wantText)
			}
		})
	}
	jobs, _, err := a.client.Jobs().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 0 {
		t.Fatalf("hostile input stored %d jobs", len(jobs))
	}
}

// TestDamagedRaftLogStopsStartup damages the raft.db of a stopped server:
// the agent exits with an error naming the file and the way to recover,
// not with a panic.
func TestDamagedRaftLogStopsStartup(t *testing.T) {
	p := newAgentProc(t, "damaged", "server {\n  enabled = true\n  bootstrap_expect = 1\n}\n")
	p.start(t)
	waitUntil(t, 30*time.Second, "a leader", func() bool {
		resp, err := http.Get(p.httpURL + "/v1/status/leader")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == 200 && len(body) > 4
	})
	p.stop()
	db := filepath.Join(p.dir, "data", "server", "raft", "raft.db")
	data, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	for i := 2 * 4096; i < len(data); i++ {
		data[i] = 0xff
	}
	if err := os.WriteFile(db, data, 0o600); err != nil {
		t.Fatal(err)
	}
	p.start(t)
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	select {
	case err := <-exited:
		if err == nil {
			t.Fatal("agent exited cleanly from a damaged raft log")
		}
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-exited
		t.Fatal("agent still running on a damaged raft log")
	}
	p.log.Close()
	out, err := os.ReadFile(filepath.Join(p.dir, "agent.log"))
	if err != nil {
		t.Fatal(err)
	}
	log := string(out)
	for _, want := range []string{"the raft log " + db + " is damaged", "roam operator snapshot restore"} {
		if !strings.Contains(log, want) {
			t.Fatalf("agent log lacks %q:\n%s", want, tail(log, 20))
		}
	}
	if strings.Contains(log, "panic:") || strings.Contains(log, "goroutine ") {
		t.Fatalf("agent panicked:\n%s", tail(log, 40))
	}
}
