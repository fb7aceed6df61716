package command

import (
	"io"
	"strings"
	"testing"
)

func TestEscapeReader(t *testing.T) {
	cases := []struct {
		name       string
		in         string
		want       string
		wantClosed bool
	}{
		{"plain input", "ls -l\nexit\n", "ls -l\nexit\n", false},
		{"escape dot at start closes", "~.rest", "", true},
		{"escape dot after newline closes", "echo hi\n~.", "echo hi\n", true},
		{"escape mid line passes", "cd ~/x\n", "cd ~/x\n", false},
		{"double escape sends one", "~~.\n", "~.\n", false},
		{"escape then other char", "~a\n", "~a\n", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			closed := false
			r := newEscapeReader(strings.NewReader(tc.in), '~', func() { closed = true })
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want || closed != tc.wantClosed {
				t.Errorf("got %q closed=%v, want %q closed=%v", got, closed, tc.want, tc.wantClosed)
			}
		})
	}
}

func TestAllocExecUsage(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no command", []string{"alloc", "exec", allocUUID}, "at least two arguments"},
		{"bad escape", []string{"alloc", "exec", "-e", "ab", allocUUID, "ls"}, "-e requires"},
		{"unknown task", []string{"alloc", "exec", "-task", "web", allocUUID, "ls"}, "Could not find task named: web"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := startCannedAgent(t, exampleAnswers())
			c, _, errOut := testCLI(map[string]string{"NOMAD_ADDR": addr})
			if code := c.run(tc.args); code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if !strings.Contains(errOut.String(), tc.wantErr) {
				t.Errorf("stderr %q does not contain %q", errOut.String(), tc.wantErr)
			}
		})
	}
}
