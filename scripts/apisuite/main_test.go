package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	expected := map[string]string{"TestKnown": "issue 1", "TestFixed": "issue 2", "TestFlaky": "flaky: timing", "TestGone": "issue 3"}
	tests := []struct {
		name    string
		status  map[string]string
		failed  bool
		wantOut []string
	}{
		{name: "only expected failures", status: map[string]string{"TestKnown": "fail", "TestFixed": "fail", "TestFlaky": "fail", "TestGone": "fail", "TestOK": "pass"},
			wantOut: []string{"1 passed, 4 failed, 0 skipped", "FAIL TestKnown  (issue 1)"}},
		{name: "an unexpected failure fails the run", status: map[string]string{"TestNew": "fail", "TestKnown": "fail"},
			failed: true, wantOut: []string{"FAIL TestNew  (NOT EXPECTED)", "1 unexpected failures: TestNew"}},
		{name: "an expected failure that passes is reported", status: map[string]string{"TestFixed": "pass", "TestFlaky": "pass"},
			wantOut: []string{"now passes, remove it from the expected failures: TestFixed"}},
		{name: "a listed test that does not exist is reported", status: map[string]string{"TestKnown": "fail"},
			wantOut: []string{"no such test, remove it from the expected failures: TestGone"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := newResults(nil)
			res.status = tc.status
			var out strings.Builder
			if got := report(res, expected, "", false, &out); got != tc.failed {
				t.Errorf("report failed = %v, want %v\n%s", got, tc.failed, out.String())
			}
			for _, want := range tc.wantOut {
				if !strings.Contains(out.String(), want) {
					t.Errorf("report lacks %q:\n%s", want, out.String())
				}
			}
			if strings.Contains(out.String(), "now passes, remove it from the expected failures: TestFlaky") {
				t.Errorf("a flaky test was reported as passing:\n%s", out.String())
			}
		})
	}
}

func TestReadExpected(t *testing.T) {
	tests := []struct {
		name, content, wantErr string
		want                   map[string]string
	}{
		{name: "names and reasons, comments skipped", content: "# header\n\nTestA # issue 1\nTestB   #   flaky: timing\n",
			want: map[string]string{"TestA": "issue 1", "TestB": "flaky: timing"}},
		{name: "a reason is required", content: "TestA\n", wantErr: ":1: want `TestName # reason`"},
		{name: "a test listed twice", content: "TestA # x\nTestA # y\n", wantErr: ":2: TestA is listed twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "expected")
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := readExpected(path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s: reason %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestResultsRead(t *testing.T) {
	stream := `{"Action":"run","Test":"TestA"}
{"Action":"output","Test":"TestA","Output":"==> Starting Roam agent...\n"}
{"Action":"output","Test":"TestA/sub","Output":"    a_test.go:3: boom\n"}
{"Action":"fail","Test":"TestA/sub"}
{"Action":"fail","Test":"TestA"}
{"Action":"pass","Test":"TestB"}
{"Action":"fail"}
`
	res := newResults([]string{"TestA", "TestB", "TestC"})
	if err := res.read(strings.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	if res.status["TestA"] != "fail" || res.status["TestB"] != "pass" || len(res.status) != 2 {
		t.Errorf("status = %v", res.status)
	}
	if out := res.output["TestA"]; !strings.Contains(out, "boom") || strings.Contains(out, "Starting Roam") {
		t.Errorf("TestA output %q: want the subtest's line, not the agent's banner", out)
	}
	if u := res.unfinished(); len(u) != 1 || u[0] != "TestC" {
		t.Errorf("unfinished = %v, want [TestC]", u)
	}
}
