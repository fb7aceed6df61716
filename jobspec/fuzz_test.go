package jobspec

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to every entry point as HCL, JSON and
// YAML: whatever the input, the parser must return a job or an error, never
// panic.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/*.hcl", "testdata/formats/*"} {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, path := range paths {
			src, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(src)
		}
	}
	f.Add([]byte(`job "x" { group "g" { dynamic "task" { for_each = [1] labels = ["t${task.value}"] content {} } } }`))
	f.Fuzz(func(t *testing.T, src []byte) {
		for _, name := range []string{"fuzz.nomad.hcl", "fuzz.json", "fuzz.yaml"} {
			if job, err := Parse(name, src, nil); err == nil {
				_ = Validate(job)
			}
		}
		_, _ = Format("fuzz.nomad.hcl", src)
	})
}
