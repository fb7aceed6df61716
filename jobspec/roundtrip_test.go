package jobspec

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestRoundTrip checks HCL → api.Job → JSON (and YAML) → api.Job gives the
// same job for every HCL file of the golden corpus.
func TestRoundTrip(t *testing.T) {
	for name, tc := range goldenCases() {
		if !strings.HasSuffix(tc.input, ".nomad.hcl") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			job, err := ParseFile(filepath.Join("testdata", tc.input), tc.opts)
			if err != nil {
				t.Fatalf("parse HCL: %v", err)
			}
			first, err := json.Marshal(map[string]any{"Job": job})
			if err != nil {
				t.Fatal(err)
			}
			asYAML, err := yaml.JSONToYAML(first)
			if err != nil {
				t.Fatal(err)
			}
			for file, src := range map[string][]byte{"job.json": first, "job.yaml": asYAML} {
				again, err := Parse(file, src, nil)
				if err != nil {
					t.Fatalf("parse %s: %v", file, err)
				}
				second, err := json.Marshal(map[string]any{"Job": again})
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(first, second) {
					t.Errorf("%s round trip changed the job:\n%s", file, strings.Join(jsonDiff(t, first, second), "\n"))
				}
			}
		})
	}
}
