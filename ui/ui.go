// Package ui serves Roam's web UI: plain HTML, CSS and JavaScript modules
// embedded into the binary, reading only the public /v1 HTTP API of the
// agent that serves them.
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed assets
var embedded embed.FS

// contentTypes maps the extensions of the embedded files to the
// Content-Type they are served with, so the answer does not depend on the
// host's mime tables.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// asset is one embedded file, ready to serve.
type asset struct {
	name        string
	body        []byte
	contentType string
	etag        string
}

// assetSet holds every embedded file by its path below the assets folder.
type assetSet struct {
	files map[string]*asset
	total int
}

// loadAssets reads the embedded files once and fingerprints them.
func loadAssets(fsys fs.FS) (*assetSet, error) {
	set := &assetSet{files: map[string]*asset{}}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("read embedded asset %s: %w", name, err)
		}
		ct, ok := contentTypes[path.Ext(name)]
		if !ok {
			return fmt.Errorf("embedded asset %s: no content type for extension %q", name, path.Ext(name))
		}
		sum := sha256.Sum256(body)
		set.files[name] = &asset{name: name, body: body, contentType: ct,
			etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		set.total += len(body)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if set.files["index.html"] == nil {
		return nil, fmt.Errorf("embedded assets: index.html is missing")
	}
	return set, nil
}

// Handler serves the UI for every path under /ui/. Paths that name an
// embedded file get that file; paths under /ui/js/ that name no file get
// 404; every other path gets index.html, whose script routes on the URL.
func Handler() http.Handler {
	sub, err := fs.Sub(embedded, "assets")
	if err != nil {
		panic(fmt.Sprintf("ui: embedded assets: %v", err)) // the embed directive guarantees the folder
	}
	set, err := loadAssets(sub)
	if err != nil {
		panic(fmt.Sprintf("ui: %v", err)) // a broken build, caught by the package's tests
	}
	return set
}

// ServeHTTP implements http.Handler.
func (s *assetSet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/ui")
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	a := s.files[name]
	if a == nil {
		if strings.HasPrefix(name, "js/") || path.Ext(name) == ".css" {
			http.NotFound(w, r)
			return
		}
		a = s.files["index.html"]
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.body))
}
