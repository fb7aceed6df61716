package executor

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/roam-project/roam/internal/reexec"
)

func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}

func spec(t *testing.T, command string, args ...string) *Spec {
	dir := t.TempDir()
	return &Spec{
		Command: command, Args: args, Env: []string{"PATH=/usr/bin:/bin"}, Dir: dir,
		StdoutPath: filepath.Join(dir, "out"), StderrPath: filepath.Join(dir, "err"),
		StateDir: filepath.Join(dir, ".executor"),
	}
}

func TestLaunch(t *testing.T) {
	cases := []struct {
		name     string
		spec     func(t *testing.T) *Spec
		wantErr  string
		wantCode int
		wantSig  int
	}{
		{"exit code", func(t *testing.T) *Spec { return spec(t, "/bin/sh", "-c", "exit 5") }, "", 5, 0},
		{"killed by signal", func(t *testing.T) *Spec { return spec(t, "/bin/sh", "-c", "kill -TERM $$") }, "", 128 + 15, 15},
		{"missing command", func(t *testing.T) *Spec { return spec(t, "/no/such/binary") }, "start command \"/no/such/binary\"", 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Launch(tc.spec(t))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			res := p.Result()
			if res.ExitCode != tc.wantCode || res.Signal != tc.wantSig || res.Err != nil {
				t.Fatalf("result = %+v, want code %d signal %d", res, tc.wantCode, tc.wantSig)
			}
		})
	}
}

func TestAttachAfterExit(t *testing.T) {
	p, err := Launch(spec(t, "/bin/sh", "-c", "exit 9"))
	if err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	again, err := Attach(p.Handle)
	if err != nil {
		t.Fatal(err)
	}
	if res := again.Result(); res.ExitCode != 9 {
		t.Fatalf("re-attached result = %+v, want exit 9", res)
	}
}

func TestAttachGoneExecutor(t *testing.T) {
	h := Handle{ExecutorPID: 1 << 22, StateDir: t.TempDir()}
	if _, err := Attach(h); err == nil || !strings.Contains(err.Error(), "recorded no exit") {
		t.Fatalf("err = %v, want executor gone", err)
	}
}

func TestParseSignal(t *testing.T) {
	cases := []struct {
		in      string
		want    syscall.Signal
		wantErr bool
	}{
		{"SIGTERM", syscall.SIGTERM, false},
		{"int", syscall.SIGINT, false},
		{"SIGHUP", syscall.SIGHUP, false},
		{"SIGNOPE", 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSignal(tc.in)
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Fatalf("ParseSignal(%q) = %v, %v", tc.in, got, err)
			}
		})
	}
}
