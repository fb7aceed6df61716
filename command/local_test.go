package command

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roam-project/roam/jobspec"
)

func TestJobInit(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		existing string
		wantCode int
		wantFile string
		wantOut  string
		wantErr  string
		wantText string
	}{
		{name: "default name", wantFile: "example.nomad.hcl",
			wantOut: "Example job file written to example.nomad.hcl\n", wantText: "# This is an example job file"},
		{name: "short", args: []string{"-short"}, wantFile: "example.nomad.hcl", wantText: "job \"example\" {\n\n  group"},
		{name: "custom name", args: []string{"web.hcl"}, wantFile: "web.hcl",
			wantOut: "Example job file written to web.hcl\n"},
		{name: "existing file is kept", existing: "example.nomad.hcl", wantCode: 1,
			wantErr: "Job 'example.nomad.hcl' already exists"},
		{name: "too many arguments", args: []string{"a", "b"}, wantCode: 1, wantErr: "This command takes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			if tc.existing != "" {
				if err := os.WriteFile(tc.existing, []byte("keep"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c, out, errOut := testCLI(nil)
			if code := c.run(append([]string{"job", "init"}, tc.args...)); code != tc.wantCode {
				t.Fatalf("exit code %d, want %d; stderr %s", code, tc.wantCode, errOut)
			}
			if !strings.Contains(out.String(), tc.wantOut) || !strings.Contains(errOut.String(), tc.wantErr) {
				t.Errorf("stdout %q stderr %q, want %q and %q", out, errOut, tc.wantOut, tc.wantErr)
			}
			if tc.existing != "" {
				if data, _ := os.ReadFile(tc.existing); string(data) != "keep" {
					t.Errorf("existing file overwritten: %q", data)
				}
			}
			if tc.wantFile == "" {
				return
			}
			data, err := os.ReadFile(tc.wantFile)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), tc.wantText) {
				t.Errorf("%s lacks %q", tc.wantFile, tc.wantText)
			}
		})
	}
}

func TestExampleJobsParse(t *testing.T) {
	cases := []struct{ name, src string }{
		{"full example", exampleJob},
		{"short example", exampleJobShort},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job, err := jobspec.Parse("example.nomad.hcl", []byte(tc.src), nil)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if err := jobspec.Validate(job); err != nil {
				t.Errorf("validate: %v", err)
			}
			if got := deref(job.TaskGroups[0].Tasks[0].Resources.MemoryMB); got != 256 {
				t.Errorf("memory %d, want 256", got)
			}
			formatted, err := jobspec.Format("example.nomad.hcl", []byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			if string(formatted) != tc.src {
				t.Errorf("example is not in canonical format:\n%s", formatted)
			}
		})
	}
}

func TestFmt(t *testing.T) {
	const ugly = "job \"a\" {\ntype=\"batch\"\n}\n"
	const pretty = "job \"a\" {\n  type = \"batch\"\n}\n"
	cases := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		wantOut  string
		wantFile string
		wantErr  string
	}{
		{name: "rewrites and lists the file", args: []string{"a.nomad.hcl"}, wantOut: "a.nomad.hcl\n", wantFile: pretty},
		{name: "directory", args: nil, wantOut: "a.nomad.hcl\n", wantFile: pretty},
		{name: "check reports and keeps the file", args: []string{"-check", "a.nomad.hcl"}, wantCode: 1,
			wantOut: "a.nomad.hcl\n", wantFile: ugly},
		{name: "write=false list=false prints the result", args: []string{"-write=false", "-list=false", "a.nomad.hcl"},
			wantOut: pretty, wantFile: ugly},
		{name: "stdin to stdout", args: []string{"-"}, stdin: ugly, wantOut: pretty, wantFile: ugly},
		{name: "syntax error", args: []string{"bad.hcl"}, wantCode: 1, wantFile: ugly, wantErr: "Error formatting bad.hcl"},
		{name: "missing path", args: []string{"nope.hcl"}, wantCode: 1, wantFile: ugly, wantErr: "No file or directory at nope.hcl"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			if err := os.WriteFile("a.nomad.hcl", []byte(ugly), 0o644); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(tc.name, "syntax") {
				if err := os.WriteFile("bad.hcl", []byte("job {{\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c, out, errOut := testCLI(nil)
			c.in = strings.NewReader(tc.stdin)
			if code := c.run(append([]string{"fmt"}, tc.args...)); code != tc.wantCode {
				t.Errorf("exit code %d, want %d; stderr %s", code, tc.wantCode, errOut)
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Errorf("stdout %q, want %q", out, tc.wantOut)
			}
			if !strings.Contains(errOut.String(), tc.wantErr) {
				t.Errorf("stderr %q, want %q", errOut, tc.wantErr)
			}
			data, _ := os.ReadFile(filepath.Join(dir, "a.nomad.hcl"))
			if string(data) != tc.wantFile {
				t.Errorf("file now %q, want %q", data, tc.wantFile)
			}
		})
	}
}
