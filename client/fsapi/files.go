package fsapi

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/allocdir"
)

// resolve opens the allocation directory of the request as a Root and
// names the request's ?path= in it; required says whether an empty path is
// an error (else it is the directory itself). It also returns the path as
// given, for messages. The caller closes the Root.
func (h *handler) resolve(r *http.Request, required bool) (root *os.Root, name, rel string, err error) {
	ar, err := h.runner(r)
	if err != nil {
		return nil, "", "", err
	}
	rel = r.URL.Query().Get("path")
	if rel == "" && required {
		return nil, "", "", badRequest("must provide a file path")
	}
	if name, err = allocdir.RootName(rel); err != nil {
		return nil, "", "", badRequest("invalid path %q: %v", rel, err)
	}
	if inSecrets(name) {
		return nil, "", "", &codedError{http.StatusForbidden, "Permission denied: a task's secrets directory is not accessible through the filesystem API"}
	}
	if root, err = openRoot(ar.AllocDir()); err != nil {
		return nil, "", "", err
	}
	return root, name, rel, nil
}

// inSecrets reports whether name (as RootName gives it) is a task's
// secrets directory or in it: it holds the task's workload identity, which
// Nomad never serves through the filesystem API.
func inSecrets(name string) bool {
	parts := strings.SplitN(name, "/", 3)
	return len(parts) >= 2 && parts[0] != allocdir.SharedAllocName && parts[1] == allocdir.TaskSecrets
}

// openRoot opens an allocation directory as a Root; its errors do not
// show the directory's host path.
func openRoot(dir *allocdir.AllocDir) (*os.Root, error) {
	root, err := dir.OpenRoot()
	if errors.Is(err, os.ErrNotExist) {
		return nil, notFound("allocation directory not found")
	}
	if err != nil {
		return nil, fmt.Errorf("allocation directory: %w", hidePath(err))
	}
	return root, nil
}

func fileInfo(name string, fi os.FileInfo, contentType string) *api.AllocFileInfo {
	return &api.AllocFileInfo{
		Name: name, IsDir: fi.IsDir(), Size: fi.Size(),
		FileMode: fi.Mode().String(), ModTime: fi.ModTime(), ContentType: contentType,
	}
}

// contentType sniffs the type of the named file of root; "" for a
// directory or a file that cannot be read.
func contentType(root *os.Root, name string) string {
	f, err := openRead(root, name)
	if err != nil {
		return ""
	}
	defer f.Close()
	buf := make([]byte, 512)
	n, _ := f.Read(buf)
	return http.DetectContentType(buf[:n])
}

// openRead opens the named file of root for reading. It does not block
// on a named pipe with no writer, which a task may leave in its directory.
func openRead(root *os.Root, name string) (*os.File, error) {
	return root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

// fsErr turns an error of a Root operation on rel into the API's answer.
// Root errors name paths inside the allocation directory only, never the
// host path of the directory.
func fsErr(rel string, err error) error {
	err = allocdir.Escapes(err)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return notFound("file %q not found", rel)
	case errors.Is(err, allocdir.ErrEscapes):
		return badRequest("path %q escapes the allocation directory", rel)
	case errors.Is(err, os.ErrPermission):
		return &codedError{http.StatusForbidden, fmt.Sprintf("permission denied reading %q", rel)}
	}
	return fmt.Errorf("read %q: %w", rel, err)
}

// hidePath drops the host path from a file operation's error.
func hidePath(err error) error {
	if pe, ok := errors.AsType[*os.PathError](err); ok {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) error {
	root, name, rel, err := h.resolve(r, false)
	if err != nil {
		return err
	}
	defer root.Close()
	dir, err := root.Open(name)
	if err != nil {
		return fsErr(rel, err)
	}
	names, err := dir.Readdirnames(-1)
	dir.Close()
	if err != nil {
		return badRequest("cannot list %q: %v", rel, hidePath(err))
	}
	out := make([]*api.AllocFileInfo, 0, len(names))
	for _, n := range names {
		entry := path.Join(name, n)
		fi, err := root.Lstat(entry)
		if err != nil {
			continue // gone meanwhile, or no longer inside the directory
		}
		var ctype string
		if fi.Mode().IsRegular() {
			ctype = contentType(root, entry)
		}
		out = append(out, fileInfo(n, fi, ctype))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return writeJSON(w, out)
}

func (h *handler) stat(w http.ResponseWriter, r *http.Request) error {
	root, name, rel, err := h.resolve(r, true)
	if err != nil {
		return err
	}
	defer root.Close()
	fi, err := root.Stat(name)
	if err != nil {
		return fsErr(rel, err)
	}
	var ctype string
	if fi.Mode().IsRegular() {
		ctype = contentType(root, name)
	}
	return writeJSON(w, fileInfo(path.Base(name), fi, ctype))
}

// openFile opens a regular file of the alloc dir for reading, in one step
// beneath the directory: what is checked is what is read.
func (h *handler) openFile(r *http.Request) (*os.File, error) {
	root, name, rel, err := h.resolve(r, true)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := openRead(root, name)
	if err != nil {
		return nil, fsErr(rel, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fsErr(rel, hidePath(err))
	}
	if fi.IsDir() {
		f.Close()
		return nil, badRequest("file %q is a directory", rel)
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
	if offset < 0 {
		return badRequest("offset must be non-negative")
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
		return badRequest("cannot seek to offset %d: %v", offset, hidePath(err))
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
