package taskrunner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/artifact"
	"github.com/roam-project/roam/client/taskenv"
	"github.com/roam-project/roam/drivers"
)

// artifactHook fetches the task's `artifact` blocks into its directory
// before its first start; later restarts reuse what was fetched.
type artifactHook struct {
	fetcher artifact.Fetcher
	done    bool
}

func (*artifactHook) Name() string { return "artifacts" }

// artifactError marks a prestart failure as a failed download, which is
// reported with its own task event.
type artifactError struct{ err error }

func (e *artifactError) Error() string { return e.err.Error() }
func (e *artifactError) Unwrap() error { return e.err }

func (h *artifactHook) Prestart(tr *TaskRunner, cfg *drivers.TaskConfig) error {
	arts := tr.cfg.Task.Artifacts
	if h.done || len(arts) == 0 {
		return nil
	}
	tr.emit(newEvent(api.TaskDownloadingArtifacts, "Client is downloading artifacts"), nil)
	ctx, cancel := tr.killContext()
	defer cancel()
	env := tr.env()
	for _, a := range arts {
		if a == nil {
			continue
		}
		req := artifactRequest(env, a)
		if err := h.fetcher.Fetch(ctx, cfg.TaskDir, req); err != nil {
			return &artifactError{err: err}
		}
		if a.Chown && cfg.User != "" {
			if err := chownArtifact(cfg.TaskDir, req.Destination, cfg.User); err != nil {
				return &artifactError{err: err}
			}
		}
	}
	h.done = true
	return nil
}

// artifactRequest interpolates an artifact block into a fetch request.
func artifactRequest(env *taskenv.Env, a *api.TaskArtifact) artifact.Request {
	r := artifact.Request{
		Source:  env.Replace(deref(a.GetterSource)),
		Options: replaceMap(env, a.GetterOptions),
		Headers: replaceMap(env, a.GetterHeaders),
		Mode:    deref(a.GetterMode),
	}
	r.Destination = env.Replace(deref(a.RelativeDest))
	if a.GetterInsecure != nil {
		r.Insecure = *a.GetterInsecure
	}
	return r
}

func replaceMap(env *taskenv.Env, m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = env.Replace(v)
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// chownArtifact gives the task's user the artifact's destination tree
// (`chown = true`).
func chownArtifact(taskDir, dest, userName string) error {
	u, err := user.Lookup(userName)
	if err != nil {
		return fmt.Errorf("chown artifact: %w", err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("chown artifact: user %q: %w", userName, err)
	}
	if dest == "" {
		dest = artifact.DefaultDestination
	}
	root := filepath.Join(taskDir, filepath.Clean("/"+dest))
	return filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, uid, gid); err != nil {
			return fmt.Errorf("chown artifact: %w", err)
		}
		return nil
	})
}

// killContext is cancelled when the task is killed or the client shuts
// down, so that a long download does not hold either up.
func (tr *TaskRunner) killContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(tr.shutdown)
	go func() {
		select {
		case <-tr.killCh:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// artifactFailedEvent is Nomad's "Failed Artifact Download" event.
func artifactFailedEvent(err error) *api.TaskEvent {
	e := newEvent(api.TaskArtifactDownloadFailed, fmt.Sprintf("Failed to download artifacts: %v", err))
	e.DownloadError = err.Error()
	e.Details["download_error"] = err.Error()
	return e
}

// prestartFailedEvent picks the event for a failed prestart.
func prestartFailedEvent(err error) *api.TaskEvent {
	var ae *artifactError
	if errors.As(err, &ae) {
		return artifactFailedEvent(ae.err)
	}
	return setupFailureEvent(err)
}
