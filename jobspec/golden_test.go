package jobspec

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the expected testdata/*.json files from the parser's output")

// goldenCase is one job file with the API JSON it must produce.
type goldenCase struct {
	input string   // file under testdata/
	want  string   // expected JSON under testdata/
	opts  *Options // nil for none
}

// goldenCases lists the corpus. Inputs in other formats share the expected
// JSON of the HCL file they mirror.
func goldenCases() map[string]goldenCase {
	hcl := func(name string) goldenCase {
		return goldenCase{input: name + ".nomad.hcl", want: name + ".json"}
	}
	cases := map[string]goldenCase{}
	for _, name := range []string{
		"example", "job_full", "group_full", "task_full", "periodic", "parameterized",
		"system", "connect", "functions", "docs_index", "docs_batch", "docs_service", "bench",
	} {
		cases[name] = hcl(name)
	}
	vars := hcl("variables")
	vars.opts = &Options{
		VarFiles: []string{"testdata/variables.vars.hcl", "testdata/variables.vars.json"},
		Env:      []string{"PATH=/bin", "NOMAD_VAR_image_tag=1.2.3", "NOMAD_VAR_debug=false"},
		Vars:     []string{"debug=true"},
	}
	cases["variables"] = vars
	cases["api_json_wrapped"] = goldenCase{input: "formats/example_wrapped.json", want: "example.json"}
	cases["api_json_bare"] = goldenCase{input: "formats/example_bare.json", want: "example.json"}
	cases["yaml"] = goldenCase{input: "formats/example.yaml", want: "example.json"}
	return cases
}

func TestGolden(t *testing.T) {
	for name, tc := range goldenCases() {
		t.Run(name, func(t *testing.T) {
			job, err := ParseFile(filepath.Join("testdata", tc.input), tc.opts)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if err := Validate(job); err != nil {
				t.Errorf("validate: %v", err)
			}
			got, err := json.MarshalIndent(job, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			wantPath := filepath.Join("testdata", tc.want)
			if *update && strings.HasSuffix(tc.input, ".nomad.hcl") {
				if err := os.WriteFile(wantPath, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatalf("read expected JSON (run with -update to create it): %v", err)
			}
			if diffs := jsonDiff(t, want, got); len(diffs) > 0 {
				t.Errorf("%s differs from %s:\n%s", tc.input, tc.want, strings.Join(diffs, "\n"))
			}
		})
	}
}

// jsonDiff compares two JSON documents field by field and lists the paths
// that differ.
func jsonDiff(t *testing.T, want, got []byte) []string {
	t.Helper()
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("expected JSON: %v", err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("parsed JSON: %v", err)
	}
	var diffs []string
	diffValues("", w, g, &diffs)
	return diffs
}

// diffValues appends "path: want X, got Y" for every differing leaf.
func diffValues(path string, want, got any, diffs *[]string) {
	wm, wok := want.(map[string]any)
	gm, gok := got.(map[string]any)
	if wok && gok {
		keys := map[string]bool{}
		for k := range wm {
			keys[k] = true
		}
		for k := range gm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			diffValues(path+"."+k, wm[k], gm[k], diffs)
		}
		return
	}
	wl, wok := want.([]any)
	gl, gok := got.([]any)
	if wok && gok && len(wl) == len(gl) {
		for i := range wl {
			diffValues(fmt.Sprintf("%s[%d]", path, i), wl[i], gl[i], diffs)
		}
		return
	}
	if !reflect.DeepEqual(want, got) {
		w, _ := json.Marshal(want)
		g, _ := json.Marshal(got)
		*diffs = append(*diffs, fmt.Sprintf("  %s: want %s, got %s", path, w, g))
	}
}
