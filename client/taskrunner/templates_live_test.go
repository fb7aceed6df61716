package taskrunner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/allocdir"
	"github.com/roam-project/roam/client/clienttest"
	"github.com/roam-project/roam/drivers/rawexec"
	"github.com/roam-project/roam/structs"
)

// startLive starts task under raw_exec with templates served by src, and
// returns the runner and its task directory.
func startLive(t *testing.T, src *clienttest.Servers, task *api.Task) (*TaskRunner, string) {
	t.Helper()
	d := rawexec.New()
	if err := d.SetConfig(map[string]any{"enabled": true}); err != nil {
		t.Fatal(err)
	}
	alloc := clienttest.Alloc("node1", structs.JobTypeService, task)
	alloc.Namespace = "default"
	ad := allocdir.New(t.TempDir(), alloc.ID)
	if err := ad.Build(); err != nil {
		t.Fatal(err)
	}
	tr := New(Config{Alloc: alloc, Task: task, Driver: d, AllocDir: ad, Lookups: src})
	go tr.Run()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		tr.Kill(ctx, nil)
	})
	return tr, ad.TaskDir(task.Name).Dir
}

// waitEvent waits until the task has an event of typ whose message holds
// text.
func waitEvent(t *testing.T, tr *TaskRunner, typ, text string) *api.TaskEvent {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, e := range tr.State().Events {
			if e.Type == typ && strings.Contains(e.DisplayMessage, text) {
				return e
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %q event with %q: %+v", typ, text, tr.State().Events)
	return nil
}

func waitFile(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, _ := os.ReadFile(path); strings.TrimSpace(string(b)) == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	b, _ := os.ReadFile(path)
	t.Fatalf("%s = %q, want %q", path, b, want)
}

func TestTemplateChangeModes(t *testing.T) {
	cases := []struct {
		name      string
		mode      string
		signal    string
		script    *api.ChangeScript
		wantEvent string
		wantText  string
		// wantLog is what the task writes once it saw the change.
		wantLog string
	}{
		{"restart", "restart", "", nil, api.TaskRestartSignal, "Template with change_mode restart re-rendered", "start two"},
		{"signal", "signal", "SIGUSR1", nil, api.TaskSignaling, "Template re-rendered", "usr1 two"},
		{"script", "script", "", &api.ChangeScript{Command: ptrTo("/bin/sh"), Args: []string{"-c", `echo "script $(cat local/pw)" >> local/log`}},
			TaskTemplateEvent, "Template ran script", "script two"},
		{"noop", "noop", "", nil, "", "", "start one"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := clienttest.NewServers()
			task := clienttest.ShellTask("web", `cd "$NOMAD_TASK_DIR/.." && trap 'echo "usr1 $(cat local/pw)" >> local/log' USR1; echo "start $(cat local/pw)" >> local/log; while true; do sleep 0.05; done`)
			task.Templates = []*api.Template{{
				EmbeddedTmpl: ptrTo(`{{ with nomadVar "app/db" }}{{ .password }}{{ end }}`), DestPath: ptrTo("local/pw"),
				ChangeMode: ptrTo(tc.mode), ChangeSignal: ptrTo(tc.signal), ChangeScript: tc.script,
			}}
			tr, dir := startLive(t, src, task)
			waitEvent(t, tr, TaskTemplateEvent, "Missing: nomad.var.block(app/db@default)")
			if s := tr.State().State; s != structs.TaskStatePending {
				t.Fatalf("task is %s while its template waits", s)
			}
			src.PutVar("default", "app/db", map[string]string{"password": "one"})
			waitEvent(t, tr, api.TaskStarted, "")
			waitFile(t, filepath.Join(dir, "local", "log"), "start one")

			src.PutVar("default", "app/db", map[string]string{"password": "two"})
			waitFile(t, filepath.Join(dir, "local", "pw"), "two")
			if tc.wantEvent != "" {
				waitEvent(t, tr, tc.wantEvent, tc.wantText)
			}
			log := filepath.Join(dir, "local", "log")
			deadline := time.Now().Add(10 * time.Second)
			for {
				b, _ := os.ReadFile(log)
				if strings.Contains(string(b), tc.wantLog) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("log = %q, want a line %q", b, tc.wantLog)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if b, _ := os.ReadFile(log); tc.mode != "restart" && strings.Count(string(b), "start") != 1 {
				t.Fatalf("change_mode %s restarted the task: %q", tc.mode, b)
			}
		})
	}
}

func TestTemplateRefusalsFailTheStart(t *testing.T) {
	cases := []struct {
		name string
		tmpl string
		want string
	}{
		{"denied function", `{{ writeToFile "a" "b" }}`, "function_denylist"},
		{"parse error", `{{ nomadVar }`, "parse template"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			task := clienttest.ShellTask("web", "true")
			task.Templates = []*api.Template{{EmbeddedTmpl: ptrTo(tc.tmpl), DestPath: ptrTo("local/x")}}
			tr, _ := startLive(t, clienttest.NewServers(), task)
			ev := waitEvent(t, tr, api.TaskSetupFailure, "Template failed")
			if !strings.Contains(ev.DisplayMessage, tc.want) {
				t.Fatalf("event %q lacks %q", ev.DisplayMessage, tc.want)
			}
			if findEvent(tr.State().Events, api.TaskStarted) != nil {
				t.Fatal("the task started")
			}
		})
	}
}
