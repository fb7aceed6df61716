package fsapi

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/hashicorp/nomad/api"
)

// resolve returns the absolute path of the request's ?path= in the alloc
// dir; required says whether an empty path is an error (else it is "/").
func (h *handler) resolve(r *http.Request, required bool) (string, string, error) {
	ar, err := h.runner(r)
	if err != nil {
		return "", "", err
	}
	rel := r.URL.Query().Get("path")
	if rel == "" {
		if required {
			return "", "", badRequest("must provide a file path")
		}
		rel = "/"
	}
	abs, err := ar.AllocDir().Resolve(rel)
	return abs, rel, err
}

func fileInfo(name string, fi os.FileInfo, abs string) *api.AllocFileInfo {
	info := &api.AllocFileInfo{
		Name: name, IsDir: fi.IsDir(), Size: fi.Size(),
		FileMode: fi.Mode().String(), ModTime: fi.ModTime(),
	}
	if !fi.IsDir() {
		info.ContentType = contentType(abs)
	}
	return info
}

func contentType(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	buf := make([]byte, 512)
	n, _ := f.Read(buf)
	return http.DetectContentType(buf[:n])
}

func statErr(rel string, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return notFound("file %q not found", rel)
	}
	return fmt.Errorf("stat %q: %w", rel, err)
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) error {
	abs, rel, err := h.resolve(r, false)
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return statErr(rel, err)
	}
	out := make([]*api.AllocFileInfo, 0, len(entries))
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, fileInfo(e.Name(), fi, filepath.Join(abs, e.Name())))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return writeJSON(w, out)
}

func (h *handler) stat(w http.ResponseWriter, r *http.Request) error {
	abs, rel, err := h.resolve(r, true)
	if err != nil {
		return err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return statErr(rel, err)
	}
	return writeJSON(w, fileInfo(fi.Name(), fi, abs))
}

// openFile opens a regular file of the alloc dir for reading.
func (h *handler) openFile(r *http.Request) (*os.File, error) {
	abs, rel, err := h.resolve(r, true)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, statErr(rel, err)
	}
	if fi.IsDir() {
		return nil, badRequest("file %q is a directory", rel)
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, fmt.Errorf("open %q: %w", rel, err)
	}
	return f, nil
}

func (h *handler) cat(w http.ResponseWriter, r *http.Request) error {
	f, err := h.openFile(r)
	if err != nil {
		return err
	}
	defer f.Close()
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.Copy(w, f)
	return nil
}

func (h *handler) readAt(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	offset, err := intParam(q.Get("offset"), "offset")
	if err != nil {
		return err
	}
	limit, err := intParam(q.Get("limit"), "limit")
	if err != nil {
		return err
	}
	f, err := h.openFile(r)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return badRequest("seek to offset %d: %v", offset, err)
	}
	var src io.Reader = f
	if limit > 0 {
		src = io.LimitReader(f, limit)
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.Copy(w, src)
	return nil
}

func intParam(s, name string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, badRequest("failed to parse %s %q: %v", name, s, err)
	}
	return n, nil
}
