package jobspec

import (
	"os"
	"path/filepath"
	"testing"
)

// TestVariableSources checks where variable values come from and which
// source wins: default < NOMAD_VAR_ < var files < VarContent < -var.
func TestVariableSources(t *testing.T) {
	dir := t.TempDir()
	hclFile := filepath.Join(dir, "a.hcl")
	jsonFile := filepath.Join(dir, "b.json")
	if err := os.WriteFile(hclFile, []byte("v = \"hcl-file\"\nn = 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jsonFile, []byte(`{"v": "json-file", "ghost": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	src := []byte(`
variable "v" {
  default = "default"
}
variable "n" {
  type    = number
  default = 1
}
variables {
  w = "shorthand"
}
job "j" {
  meta {
    v = var.v
    n = var.n + 1
    w = var.w
  }
}
`)
	cases := map[string]struct {
		opts  *Options
		wantV string
		wantN string
	}{
		"defaults":         {opts: nil, wantV: "default", wantN: "2"},
		"environment":      {opts: &Options{Env: []string{"NOMAD_VAR_v=env", "NOMAD_VAR_n=41", "NOMAD_VAR_unknown=x"}}, wantV: "env", wantN: "42"},
		"hcl var file":     {opts: &Options{Env: []string{"NOMAD_VAR_v=env"}, VarFiles: []string{hclFile}}, wantV: "hcl-file", wantN: "3"},
		"later file wins":  {opts: &Options{VarFiles: []string{hclFile, jsonFile}}, wantV: "json-file", wantN: "3"},
		"var content":      {opts: &Options{VarFiles: []string{hclFile}, VarContent: "v = \"content\""}, wantV: "content", wantN: "3"},
		"flag wins":        {opts: &Options{VarFiles: []string{hclFile}, VarContent: "v = \"content\"", Vars: []string{"v=flag", "n=9"}}, wantV: "flag", wantN: "10"},
		"flag with equals": {opts: &Options{Vars: []string{"v=a=b"}}, wantV: "a=b", wantN: "2"},
		"lenient unknown":  {opts: &Options{Vars: []string{"ghost=1"}}, wantV: "default", wantN: "2"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			job, err := Parse("vars.nomad.hcl", src, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if job.Meta["w"] != "shorthand" {
				t.Errorf("variables block: w = %q", job.Meta["w"])
			}
			if job.Meta["v"] != tc.wantV || job.Meta["n"] != tc.wantN {
				t.Errorf("got v=%q n=%q, want v=%q n=%q", job.Meta["v"], job.Meta["n"], tc.wantV, tc.wantN)
			}
		})
	}
}

// TestStrictVarFile checks that Strict rejects undeclared variables in files.
func TestStrictVarFile(t *testing.T) {
	_, err := Parse("j.nomad.hcl", []byte(`job "j" {}`), &Options{VarContent: "ghost = 1", Strict: true})
	if err == nil {
		t.Fatal("want an error for an undeclared variable")
	}
}

// TestRuntimeInterpolation checks that client-side references survive
// parsing verbatim, wherever they appear.
func TestRuntimeInterpolation(t *testing.T) {
	src := []byte(`
locals {
  dc = "${node.datacenter}"
}
job "j" {
  constraint {
    attribute = attr.kernel.name
    value     = "linux"
  }
  meta {
    both   = "${attr.kernel.name}/${attr.kernel.version}"
    index  = "${env["HOME"]}"
    local  = local.dc
    port   = "${NOMAD_PORT_http}"
    upper  = upper("${meta.rack}")
    dashed = "${attr.unique.network.ip-address}"
  }
}
`)
	job, err := Parse("j.nomad.hcl", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"both":   "${attr.kernel.name}/${attr.kernel.version}",
		"index":  `${env["HOME"]}`,
		"local":  "${node.datacenter}",
		"port":   "${NOMAD_PORT_http}",
		"upper":  "${META.RACK}",
		"dashed": "${attr.unique.network.ip-address}",
	}
	for k, v := range want {
		if job.Meta[k] != v {
			t.Errorf("meta %s = %q, want %q", k, job.Meta[k], v)
		}
	}
	if got := job.Constraints[0].LTarget; got != "${attr.kernel.name}" {
		t.Errorf("constraint attribute = %q", got)
	}
}

// TestMapForms checks that map-shaped blocks may also be written as
// attributes, which allows keys that are not identifiers.
func TestMapForms(t *testing.T) {
	src := []byte(`
job "j" {
  meta = {
    "team.name" = "core"
  }
  meta {
    tier = 1
  }
  group "g" {
    task "t" {
      driver = "exec"
      env = {
        "com.example/key" = "v"
      }
      config {
        command = "/bin/true"
      }
    }
  }
}
`)
	job, err := Parse("j.nomad.hcl", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if job.Meta["team.name"] != "core" || job.Meta["tier"] != "1" {
		t.Errorf("job meta = %v", job.Meta)
	}
	if got := job.TaskGroups[0].Tasks[0].Env["com.example/key"]; got != "v" {
		t.Errorf("task env = %v", job.TaskGroups[0].Tasks[0].Env)
	}
}

// TestRaw checks that Raw skips canonicalisation but keeps what the file
// says, the job's ID and name from its label included.
func TestRaw(t *testing.T) {
	job, err := ParseFile("testdata/example.nomad.hcl", &Options{Raw: true})
	if err != nil {
		t.Fatal(err)
	}
	if job.Priority != nil || job.Region != nil || job.Update != nil {
		t.Errorf("raw job has defaults: priority %v region %v update %v", job.Priority, job.Region, job.Update)
	}
	if *job.ID != "example" || *job.Name != "example" || *job.TaskGroups[0].Count != 1 {
		t.Errorf("raw job lost fields: %+v", job)
	}
	if job.TaskGroups[0].Tasks[0].KillTimeout != nil {
		t.Errorf("raw task has a default kill timeout")
	}
}
