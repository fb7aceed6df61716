package jobspec

import (
	"os"
	"testing"
)

// BenchmarkParse parses a ~340-line job with variables, locals, functions
// and dynamic blocks.
func BenchmarkParse(b *testing.B) {
	src, err := os.ReadFile("testdata/bench.nomad.hcl")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := Parse("bench.nomad.hcl", src, nil); err != nil {
			b.Fatal(err)
		}
	}
}
