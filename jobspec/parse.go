// Package jobspec turns Nomad job files (HCL2, API JSON or YAML) into the
// API's *api.Job as Nomad's own parser does: every block of the job
// specification, input variables, locals, Nomad's function library, dynamic
// blocks and runtime interpolations kept verbatim for the client. Errors name
// the file, line and column. Format rewrites a file in canonical HCL style and
// Validate runs the semantic checks Nomad applies on registration.
package jobspec

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/dynblock"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/nomad/api"
)

// Options are the inputs besides the file itself.
type Options struct {
	// Vars are "-var k=v" values, in order; later ones win.
	Vars []string
	// VarFiles are "-var-file" paths (HCL, or JSON when named *.json).
	VarFiles []string
	// Env is the environment as KEY=VALUE; NOMAD_VAR_<name> entries set
	// variables (nil = none).
	Env []string
	// VarContent is extra variable-file content in HCL (the API's
	// /v1/jobs/parse "Variables" field).
	VarContent string
	// Strict rejects variables given a value (by -var, a var file or
	// VarContent) but never declared, as the nomad CLI does for -var.
	Strict bool
	// Raw returns the job as written, without the defaults of
	// api.Job.Canonicalize: what /v1/jobs/parse answers when its
	// "Canonicalize" field is false.
	Raw bool
}

// ParseFile reads path and parses it by its extension: .json is API JSON
// ({"Job": {...}} or the bare job), .yaml/.yml the same structure in YAML,
// anything else (.hcl, .nomad) HCL2.
func ParseFile(path string, opts *Options) (*api.Job, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read job file: %w", err)
	}
	return Parse(path, src, opts)
}

// Parse parses src, naming it filename in errors and choosing the format by
// its extension as ParseFile does. The job is canonicalised (defaults filled
// in as api.Job.Canonicalize does), except that a job file that names no
// namespace yields a nil Namespace: as with `nomad job run`, the namespace
// then comes from the caller (-namespace, NOMAD_NAMESPACE), and "default"
// only when that names none either.
func Parse(filename string, src []byte, opts *Options) (*api.Job, error) {
	if opts == nil {
		opts = &Options{}
	}
	var (
		job *api.Job
		err error
	)
	switch strings.ToLower(filepath.Ext(filename)) {
	case ".json":
		job, err = parseJSON(filename, src)
	case ".yaml", ".yml":
		job, err = parseYAML(filename, src)
	default:
		job, err = parseHCL(filename, src, opts)
	}
	if err != nil {
		return nil, err
	}
	DefaultOperators(job)
	if opts.Raw {
		return job, nil
	}
	namespaceSet := job.Namespace != nil
	job.Canonicalize()
	if !namespaceSet {
		job.Namespace = nil
	}
	return job, nil
}

// parser holds the state of one HCL parse.
type parser struct {
	filename string
	src      []byte
	bodies   map[int]*hclsyntax.Body
	ctx      *hcl.EvalContext
	jobVault *api.Vault
}

var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "job", LabelNames: []string{"name"}},
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "variables"},
		{Type: "locals"},
	},
}

// parseHCL parses an HCL2 job file.
func parseHCL(filename string, src []byte, opts *Options) (*api.Job, error) {
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	body := file.Body.(*hclsyntax.Body)
	p := &parser{filename: filename, src: src, bodies: map[int]*hclsyntax.Body{}}
	indexBodies(body, p.bodies)

	content, diags := body.Content(rootSchema)
	if diags.HasErrors() {
		return nil, diags
	}
	if d := p.buildContext(content.Blocks, opts); d.HasErrors() {
		return nil, append(diags, d...)
	}
	job, d := p.decodeJob(content.Blocks.OfType("job"), body)
	diags = append(diags, d...)
	if diags.HasErrors() {
		return nil, diags
	}
	return job, nil
}

// decodeJob decodes the file's single job block.
func (p *parser) decodeJob(blocks hcl.Blocks, root *hclsyntax.Body) (*api.Job, hcl.Diagnostics) {
	if len(blocks) == 0 {
		rng := root.SrcRange
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Missing job block",
			Detail:   "A job file must contain exactly one job block, such as job \"example\" { ... }.",
			Subject:  &hcl.Range{Filename: rng.Filename, Start: rng.Start, End: rng.Start},
		}}
	}
	if diags := duplicateBlocks(blocks); diags.HasErrors() {
		return nil, diags
	}
	block := blocks[0]
	job := &api.Job{}
	body := dynblock.Expand(block.Body, p.ctx)
	diags := p.decodeBody(body, nil, reflect.ValueOf(job).Elem())
	label := block.Labels[0]
	if job.ID == nil {
		job.ID = &label
	}
	if job.Name == nil {
		name := label
		job.Name = &name
	}
	return job, diags
}
