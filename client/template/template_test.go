package template

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"
)

func ptr[T any](v T) *T { return &v }

func newRenderer(t *testing.T) *Renderer {
	t.Helper()
	alloc := t.TempDir()
	task := filepath.Join(alloc, "web")
	if err := os.MkdirAll(filepath.Join(task, "local"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &Renderer{
		Env:      map[string]string{"NOMAD_TASK_NAME": "web", "GREETING": "hello", "EMPTY": ""},
		TaskDir:  task,
		AllocDir: alloc,
	}
}

func TestTemplateRender(t *testing.T) {
	cases := []struct {
		name    string
		tmpl    *api.Template
		want    string
		wantErr string
	}{
		{"static text", &api.Template{EmbeddedTmpl: ptr("plain"), DestPath: ptr("local/a")}, "plain", ""},
		{"env function", &api.Template{EmbeddedTmpl: ptr(`{{ env "GREETING" }} {{ env "NOMAD_TASK_NAME" }}`), DestPath: ptr("local/a")}, "hello web", ""},
		{"unset env is empty", &api.Template{EmbeddedTmpl: ptr(`[{{ env "NOPE" }}]`), DestPath: ptr("local/a")}, "[]", ""},
		{"custom delimiters", &api.Template{EmbeddedTmpl: ptr(`[[ env "GREETING" ]] {{ x }}`), DestPath: ptr("local/a"), LeftDelim: ptr("[["), RightDelim: ptr("]]")}, "hello {{ x }}", ""},
		{"helpers", &api.Template{EmbeddedTmpl: ptr(`{{ env "GREETING" | toUpper }} {{ "a,b" | split "," | join "-" }} {{ "  x " | trimSpace }} {{ replaceAll "l" "L" "hello" }} {{ parseInt "41" | printf "%d" }} {{ parseBool "true" }}`), DestPath: ptr("local/a")}, "HELLO a-b x heLLo 41 true", ""},
		{"base64 and json", &api.Template{EmbeddedTmpl: ptr(`{{ "hi" | base64Encode }} {{ base64Decode "aGk=" }} {{ with parseJSON "{\"k\":[1,2]}" }}{{ toJSON .k }}{{ end }}`), DestPath: ptr("local/a")}, "aGk= hi [1,2]", ""},
		{"default", &api.Template{EmbeddedTmpl: ptr(`{{ env "EMPTY" | default "fallback" }} {{ env "GREETING" | default "fallback" }}`), DestPath: ptr("local/a")}, "fallback hello", ""},
		{"missing key renders no value", &api.Template{EmbeddedTmpl: ptr(`{{ with parseJSON "{\"a\":1}" }}{{ .missing }}{{ end }}`), DestPath: ptr("local/a")}, "<no value>", ""},
		{"missing key is an error when asked", &api.Template{EmbeddedTmpl: ptr(`{{ with parseJSON "{\"a\":1}" }}{{ .missing }}{{ end }}`), DestPath: ptr("local/a"), ErrMissingKey: ptr(true)}, "", "map has no entry for key"},
		{"parse error", &api.Template{EmbeddedTmpl: ptr(`{{ nope }}`), DestPath: ptr("local/a")}, "", "parse template"},
		{"helper error", &api.Template{EmbeddedTmpl: ptr(`{{ parseInt "x" }}`), DestPath: ptr("local/a")}, "", "execute template"},
		{"destination escaping the alloc dir", &api.Template{EmbeddedTmpl: ptr("x"), DestPath: ptr("../../etc/x")}, "", "escapes the allocation directory"},
		{"absolute destination outside", &api.Template{EmbeddedTmpl: ptr("x"), DestPath: ptr("/etc/x")}, "", "escapes the allocation directory"},
		{"source escaping the alloc dir", &api.Template{SourcePath: ptr("../../../etc/hostname"), DestPath: ptr("local/a")}, "", "escapes the allocation directory"},
		{"no destination", &api.Template{EmbeddedTmpl: ptr("x")}, "", "destination is empty"},
		{"no data nor source", &api.Template{DestPath: ptr("local/a")}, "", "neither data nor source"},
		{"missing source file", &api.Template{SourcePath: ptr("local/none.tpl"), DestPath: ptr("local/a")}, "", "read template source"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := newRenderer(t).Render(tc.tmpl)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(res.Content) != tc.want {
				t.Fatalf("rendered %q, want %q", res.Content, tc.want)
			}
		})
	}
}

func TestTemplateParseEnv(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr bool
	}{
		{"simple lines", "A=1\nB=two\n", map[string]string{"A": "1", "B": "two"}, false},
		{"comments, blanks and export", "# c\n\nexport A=1\n  B = x y \n", map[string]string{"A": "1", "B": "x y"}, false},
		{"quoted values and = in value", "A=\"q v\"\nB='s'\nC=a=b\n", map[string]string{"A": "q v", "B": "s", "C": "a=b"}, false},
		{"empty value", "A=\n", map[string]string{"A": ""}, false},
		{"line without =", "A=1\nnope\n", nil, true},
		{"empty key", "=1\n", nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseEnv([]byte(tc.in))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("want an error, got %v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestTemplateEnvVars(t *testing.T) {
	r := newRenderer(t)
	res, err := r.Render(&api.Template{EmbeddedTmpl: ptr(`MSG={{ env "GREETING" }}`), DestPath: ptr("local/env"), Envvars: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Env["MSG"] != "hello" {
		t.Fatalf("env = %v", res.Env)
	}
	if _, err := r.Render(&api.Template{EmbeddedTmpl: ptr("not env"), DestPath: ptr("local/env"), Envvars: ptr(true)}); err == nil {
		t.Fatal("a malformed env template rendered")
	}
}

func TestTemplateLinksOutsideAreRefused(t *testing.T) {
	cases := []struct {
		name string
		tmpl *api.Template
	}{
		{"source linked outside", &api.Template{SourcePath: ptr("local/link/hostname"), DestPath: ptr("local/out")}},
		{"destination linked outside", &api.Template{EmbeddedTmpl: ptr("x"), DestPath: ptr("local/link/new/out")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRenderer(t)
			outside := t.TempDir()
			if err := os.WriteFile(filepath.Join(outside, "hostname"), []byte("secret"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(outside, filepath.Join(r.TaskDir, "local", "link")); err != nil {
				t.Fatal(err)
			}
			_, err := writeOnce(r, tc.tmpl)
			if err == nil || !strings.Contains(err.Error(), "through a link") {
				t.Fatalf("err = %v, want a link escape", err)
			}
			if _, err := os.Stat(filepath.Join(outside, "new")); err == nil {
				t.Fatal("a directory was created outside the allocation directory")
			}
		})
	}
}

// writeOnce renders t without lookups and writes it, as a Manager does.
func writeOnce(r *Renderer, t *api.Template) (*Result, error) {
	p, err := r.prepare(t)
	if err != nil {
		return nil, err
	}
	res, err := p.execute(nil)
	if err != nil {
		return nil, err
	}
	return res, r.write(p, res)
}

func TestTemplateWriteFromSourceWithPerms(t *testing.T) {
	cases := []struct {
		name      string
		perms     *string
		wantMode  os.FileMode
		wantError string
	}{
		{"default perms", nil, 0o644, ""},
		{"explicit perms", ptr("0600"), 0o600, ""},
		{"bad perms", ptr("rw-"), 0, "invalid template perms"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRenderer(t)
			src := filepath.Join(r.TaskDir, "local", "in.tpl")
			if err := os.WriteFile(src, []byte(`name={{ env "NOMAD_TASK_NAME" }}`), 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := writeOnce(r, &api.Template{SourcePath: ptr("local/in.tpl"), DestPath: ptr("secrets/out.txt"), Perms: tc.perms})
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("err = %v, want %q", err, tc.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Dest != filepath.Join(r.TaskDir, "secrets", "out.txt") {
				t.Fatalf("dest = %s", res.Dest)
			}
			got, err := os.ReadFile(res.Dest)
			if err != nil || string(got) != "name=web" {
				t.Fatalf("file = %q, %v", got, err)
			}
			st, err := os.Stat(res.Dest)
			if err != nil || st.Mode().Perm() != tc.wantMode {
				t.Fatalf("mode = %v, %v; want %v", st.Mode().Perm(), err, tc.wantMode)
			}
		})
	}
}
