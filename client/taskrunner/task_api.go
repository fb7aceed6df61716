package taskrunner

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/roam-project/roam/drivers"
)

// TaskAPISocket is the Task API's socket in a task's secrets directory,
// as Nomad names it.
const TaskAPISocket = "api.sock"

// taskAPIHook serves the agent's HTTP API on secrets/api.sock (Nomad's
// Task API): a request that carries no token acts with the task's
// workload identity, so tools inside the task (`NOMAD_ADDR=unix://...
// roam var get ...`) need no token in the job file. A socket that cannot
// be made (a path over the kernel's 108 bytes) is logged, and the task
// runs without it.
type taskAPIHook struct {
	server *http.Server
}

func (*taskAPIHook) Name() string { return "task_api" }

func (h *taskAPIHook) Prestart(tr *TaskRunner, _ *drivers.TaskConfig) error {
	if tr.cfg.TaskAPI == nil || h.server != nil {
		return nil
	}
	if err := h.listen(tr); err != nil {
		tr.logger.Warn("no task API socket", "error", err)
	}
	return nil
}

// listen opens the socket and serves it.
func (h *taskAPIHook) listen(tr *TaskRunner) error {
	path := filepath.Join(tr.cfg.AllocDir.TaskDir(tr.cfg.Task.Name).SecretsDir, TaskAPISocket)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("task API socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("task API socket: %w", err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return fmt.Errorf("task API socket: %w", err)
	}
	api := tr.cfg.TaskAPI
	h.server = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Nomad-Token") == "" && !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			if tok := tr.identityToken(); tok != "" {
				r.Header.Set("X-Nomad-Token", tok)
			}
		}
		api.ServeHTTP(w, r)
	})}
	go func() {
		if err := h.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			tr.logger.Warn("task API stopped", "error", err)
		}
	}()
	return nil
}

// stop closes the socket.
func (h *taskAPIHook) stop() {
	if h.server != nil {
		h.server.Close()
	}
}
