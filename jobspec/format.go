package jobspec

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Format rewrites an HCL job file in canonical style (as `nomad fmt` does:
// indentation, aligned equals signs). A file with syntax errors is returned
// as an error naming file:line,col.
func Format(filename string, src []byte) ([]byte, error) {
	if _, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos); diags.HasErrors() {
		return nil, diags
	}
	return hclwrite.Format(src), nil
}
