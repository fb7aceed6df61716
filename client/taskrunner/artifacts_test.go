package taskrunner

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/clienttest"
	"github.com/roam-project/roam/internal/reexec"
	"github.com/roam-project/roam/structs"
)

func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}

func TestArtifactHook(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/payload-web.txt" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("payload\n"))
	}))
	defer srv.Close()
	cases := []struct {
		name      string
		source    string
		dest      string
		wantEvent string
		wantFile  string // relative to the task dir, for a successful fetch
	}{
		{"interpolated source and destination", srv.URL + "/payload-${NOMAD_TASK_NAME}.txt", "local/${NOMAD_TASK_NAME}", api.TaskTerminated, "local/web/payload-web.txt"},
		{"download fails", srv.URL + "/missing", "", api.TaskArtifactDownloadFailed, ""},
		{"destination escapes", srv.URL + "/payload-web.txt", "../../outside", api.TaskArtifactDownloadFailed, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			task := clienttest.ShellTask("web", "cat local/*/payload-web.txt")
			dest := tc.dest
			task.Artifacts = []*api.TaskArtifact{{GetterSource: &tc.source, RelativeDest: &dest}}
			alloc := clienttest.Alloc("node1", structs.JobTypeBatch, task)
			clienttest.Restart(alloc, 0, time.Hour, 0, "fail")
			tr, ad := runToEnd(t, alloc, task)
			st := tr.State()
			var types []string
			var found *api.TaskEvent
			for _, e := range st.Events {
				types = append(types, e.Type)
				if e.Type == tc.wantEvent {
					found = e
				}
			}
			if found == nil {
				t.Fatalf("events %v lack %q", types, tc.wantEvent)
			}
			if tc.wantEvent == api.TaskArtifactDownloadFailed && !strings.Contains(found.DisplayMessage, "Failed to download artifacts") {
				t.Errorf("display = %q", found.DisplayMessage)
			}
			if tc.wantFile == "" {
				if !st.Failed {
					t.Errorf("task not failed after a failed download: %v", types)
				}
				return
			}
			if found.ExitCode != 0 {
				t.Errorf("task exit = %d; events %v", found.ExitCode, types)
			}
			if _, err := os.Stat(ad.TaskDir("web").Dir + "/" + tc.wantFile); err != nil {
				t.Errorf("artifact: %v", err)
			}
		})
	}
}

func TestChownArtifact(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	taskDir := t.TempDir()
	file := filepath.Join(taskDir, "local", "conf", "app.conf")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := chownArtifact(taskDir, "local/conf", "nobody"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{file, filepath.Dir(file)} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if uid := fi.Sys().(*syscall.Stat_t).Uid; strconv.Itoa(int(uid)) != nobody.Uid {
			t.Errorf("%s owned by %d, want %s", p, uid, nobody.Uid)
		}
	}
	if fi, _ := os.Stat(filepath.Join(taskDir, "local")); fi.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Errorf("chown reached above the destination")
	}
	if err := chownArtifact(taskDir, "local/conf", "no-such-user-xyz"); err == nil {
		t.Error("unknown user accepted")
	}
}
