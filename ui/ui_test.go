package ui

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// maxAssetBytes is the budget for everything the UI ships.
const maxAssetBytes = 300 * 1024

func TestHandlerServesAssets(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	tests := []struct {
		name        string
		path        string
		method      string
		wantStatus  int
		contentType string
		bodyHas     string
	}{
		{"index at the root", "/ui/", "GET", 200, "text/html; charset=utf-8", `<script type="module" src="/ui/js/app.js">`},
		{"index by name", "/ui/index.html", "GET", 200, "text/html; charset=utf-8", "<main"},
		{"entry module", "/ui/js/app.js", "GET", 200, "text/javascript; charset=utf-8", "import"},
		{"api module", "/ui/js/api.js", "GET", 200, "text/javascript; charset=utf-8", "export function watch"},
		{"stylesheet", "/ui/app.css", "GET", 200, "text/css; charset=utf-8", ":root"},
		{"icon", "/ui/favicon.svg", "GET", 200, "image/svg+xml", "<svg"},
		{"spa fallback for a job page", "/ui/jobs/example", "GET", 200, "text/html; charset=utf-8", "<main"},
		{"spa fallback for a job with a dot", "/ui/jobs/web.v2", "GET", 200, "text/html; charset=utf-8", "<main"},
		{"spa fallback for a deep path", "/ui/allocations/1234/whatever", "GET", 200, "text/html; charset=utf-8", "<main"},
		{"missing module is a 404", "/ui/js/nope.js", "GET", 404, "", ""},
		{"missing stylesheet is a 404", "/ui/other.css", "GET", 404, "", ""},
		{"head works", "/ui/js/app.js", "HEAD", 200, "text/javascript; charset=utf-8", ""},
		{"writes are refused", "/ui/", "POST", 405, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", tc.method, tc.path, err)
			}
			defer res.Body.Close()
			body := readAll(t, res)
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d", res.StatusCode, tc.wantStatus)
			}
			if tc.contentType != "" && res.Header.Get("Content-Type") != tc.contentType {
				t.Errorf("Content-Type = %q, want %q", res.Header.Get("Content-Type"), tc.contentType)
			}
			if !strings.Contains(body, tc.bodyHas) {
				t.Errorf("body does not contain %q", tc.bodyHas)
			}
		})
	}
}

func TestHandlerRevalidatesWithETag(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL + "/ui/js/app.js")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	etag := res.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on an asset")
	}
	req, _ := http.NewRequest("GET", srv.URL+"/ui/js/app.js", nil)
	req.Header.Set("If-None-Match", etag)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotModified {
		t.Fatalf("status with a matching ETag = %d, want 304", res.StatusCode)
	}
}

func TestAssetsWithinBudget(t *testing.T) {
	sub, err := fs.Sub(embedded, "assets")
	if err != nil {
		t.Fatal(err)
	}
	set, err := loadAssets(sub)
	if err != nil {
		t.Fatal(err)
	}
	if set.total > maxAssetBytes {
		t.Fatalf("assets are %d bytes, over the %d byte budget", set.total, maxAssetBytes)
	}
	t.Logf("%d assets, %d bytes", len(set.files), set.total)
}

func TestModulesOnlyImportEmbeddedFiles(t *testing.T) {
	sub, err := fs.Sub(embedded, "assets")
	if err != nil {
		t.Fatal(err)
	}
	set, err := loadAssets(sub)
	if err != nil {
		t.Fatal(err)
	}
	for name, a := range set.files {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		for _, m := range importRE.FindAllStringSubmatch(string(a.body), -1) {
			if set.files["js/"+m[1]] == nil {
				t.Errorf("%s imports %s, which is not embedded", name, m[1])
			}
		}
		if strings.Contains(string(a.body), "http://") || strings.Contains(string(a.body), "https://") {
			t.Errorf("%s refers to an external URL: the UI must load nothing from outside", name)
		}
	}
}

func TestIndexPreloadsEveryModule(t *testing.T) {
	index, err := fs.ReadFile(embedded, "assets/index.html")
	if err != nil {
		t.Fatal(err)
	}
	modules, err := fs.Glob(embedded, "assets/js/*.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range modules {
		link := `<link rel="modulepreload" href="/ui/` + strings.TrimPrefix(m, "assets/") + `">`
		if !strings.Contains(string(index), link) {
			t.Errorf("index.html does not preload %s: add %s so the first page loads in one round trip", m, link)
		}
	}
}

// importRE matches the relative module imports of a JavaScript module.
var importRE = regexp.MustCompile(`(?m)^(?:import|\}) .*from '\./([^']+)';`)

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}
