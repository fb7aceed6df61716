package fsapi

import (
	"net/http"
	"path"
	"path/filepath"
	"strconv"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/allocdir"
	"github.com/roam-project/roam/drivers/logging"
	"github.com/roam-project/roam/structs"
)

// logs serves /v1/client/fs/logs/:alloc.
func (h *handler) logs(w http.ResponseWriter, r *http.Request) error {
	ar, err := h.runner(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	task, kind := q.Get("task"), q.Get("type")
	if task == "" {
		return badRequest("must provide task name")
	}
	if kind != api.FSLogNameStdout && kind != api.FSLogNameStderr {
		return badRequest("must provide log type (stdout/stderr)")
	}
	if !ar.HasTask(task) {
		return notFound("unknown task name %q", task)
	}
	origin, offset, err := originOffset(q.Get("origin"), q.Get("offset"))
	if err != nil {
		return err
	}
	follow, _ := strconv.ParseBool(q.Get("follow"))
	plain, _ := strconv.ParseBool(q.Get("plain"))
	root, err := openRoot(ar.AllocDir())
	if err != nil {
		return err
	}
	defer root.Close()
	base := ar.AllocDir().LogBase(task, kind)
	logName := func(i int) string {
		return path.Join(allocdir.SharedAllocName, allocdir.LogDirName, filepath.Base(logging.FileName(base, i)))
	}
	seq := fileSeq{
		root:    root,
		indexes: func() []int { idx, _ := logging.Indexes(base); return idx },
		path:    logName,
		name:    logName,
	}
	finished := func() bool {
		s, ok := ar.TaskStates()[task]
		return ok && s.State == structs.TaskStateDead
	}
	var out frameWriter = newJSONFrames(w)
	if plain {
		out = newPlainWriter(w)
	}
	w.WriteHeader(http.StatusOK)
	s := &streamer{ctx: r.Context(), seq: seq, out: out, follow: follow, finished: finished}
	return s.run(origin, offset)
}

// stream serves /v1/client/fs/stream/:alloc, which follows one file.
func (h *handler) stream(w http.ResponseWriter, r *http.Request) error {
	root, name, rel, err := h.resolve(r, true)
	if err != nil {
		return err
	}
	defer root.Close()
	q := r.URL.Query()
	origin, offset, err := originOffset(q.Get("origin"), q.Get("offset"))
	if err != nil {
		return err
	}
	fi, err := root.Stat(name)
	if err != nil {
		return fsErr(rel, err)
	}
	if fi.IsDir() {
		return badRequest("file %q is a directory", rel)
	}
	seq := fileSeq{
		root:    root,
		indexes: func() []int { return []int{0} },
		path:    func(int) string { return name },
		name:    func(int) string { return rel },
	}
	out := newJSONFrames(w)
	w.WriteHeader(http.StatusOK)
	s := &streamer{ctx: r.Context(), seq: seq, out: out, follow: true, finished: func() bool { return false }}
	return s.run(origin, offset)
}

func originOffset(origin, offset string) (string, int64, error) {
	switch origin {
	case "":
		origin = api.OriginStart
	case api.OriginStart, api.OriginEnd:
	default:
		return "", 0, badRequest("origin must be start or end")
	}
	n, err := intParam(offset, "offset")
	if err != nil {
		return "", 0, err
	}
	if n < 0 {
		return "", 0, badRequest("offset must be non-negative")
	}
	return origin, n, nil
}
