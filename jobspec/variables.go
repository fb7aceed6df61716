package jobspec

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// envVarPrefix marks environment variables that set input variables.
const envVarPrefix = "NOMAD_VAR_"

// variable is one declared input variable and the value it ends up with.
type variable struct {
	name        string
	typ         cty.Type
	defRange    hcl.Range
	value       cty.Value
	validations []*hcl.Block
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "sensitive"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "validation"}},
}

var validationSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "condition", Required: true}, {Name: "error_message", Required: true},
	},
}

// buildContext declares variables, assigns their values from every source
// in order of precedence, validates them and evaluates locals.
func (p *parser) buildContext(blocks hcl.Blocks, opts *Options) hcl.Diagnostics {
	p.ctx = &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.EmptyObjectVal, "local": cty.EmptyObjectVal},
		Functions: functions(""),
	}
	vars, diags := declareVariables(blocks.OfType("variable"))
	diags = append(diags, declareShorthands(vars, blocks.OfType("variables"))...)
	if diags.HasErrors() {
		return diags
	}
	diags = append(diags, assignValues(vars, opts)...)
	if diags.HasErrors() {
		return diags
	}
	values := map[string]cty.Value{}
	for name, v := range vars {
		if v.value == cty.NilVal {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unset variable",
				Detail:   fmt.Sprintf("The variable %q has no default value and was not given one; set it with -var, -var-file or NOMAD_VAR_%s.", name, name),
				Subject:  v.defRange.Ptr(),
			})
			continue
		}
		values[name] = v.value
	}
	if diags.HasErrors() {
		return diags
	}
	p.ctx.Variables["var"] = cty.ObjectVal(values)
	for _, v := range sortedVars(vars) {
		diags = append(diags, p.validateVariable(v)...)
	}
	if diags.HasErrors() {
		return diags
	}
	return append(diags, p.evalLocals(blocks.OfType("locals"))...)
}

// sortedVars returns the variables in declaration order.
func sortedVars(vars map[string]*variable) []*variable {
	out := make([]*variable, 0, len(vars))
	for _, v := range vars {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].defRange.Start.Byte < out[j].defRange.Start.Byte
	})
	return out
}

// declareVariables reads the variable blocks and their defaults.
func declareVariables(blocks hcl.Blocks) (map[string]*variable, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	vars := map[string]*variable{}
	for _, b := range blocks {
		name := b.Labels[0]
		if prev, dup := vars[name]; dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate variable",
				Detail:   fmt.Sprintf("The variable %q was already declared at %s.", name, prev.defRange),
				Subject:  b.DefRange.Ptr(),
			})
			continue
		}
		if !hclsyntax.ValidIdentifier(name) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid variable name", Detail: fmt.Sprintf("%q is not a valid identifier.", name), Subject: b.LabelRanges[0].Ptr()})
			continue
		}
		v, d := declareVariable(b)
		diags = append(diags, d...)
		vars[name] = v
	}
	return vars, diags
}

// declareShorthands reads `variables { name = default }` blocks, each
// attribute an untyped variable with that default.
func declareShorthands(vars map[string]*variable, blocks hcl.Blocks) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, b := range blocks {
		attrs, d := b.Body.JustAttributes()
		diags = append(diags, d...)
		for name, attr := range attrs {
			if prev, dup := vars[name]; dup {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Duplicate variable",
					Detail:   fmt.Sprintf("The variable %q was already declared at %s.", name, prev.defRange),
					Subject:  attr.NameRange.Ptr(),
				})
				continue
			}
			val, d := attr.Expr.Value(nil)
			diags = append(diags, d...)
			vars[name] = &variable{name: name, typ: cty.DynamicPseudoType, defRange: attr.Range, value: val}
		}
	}
	return diags
}

// declareVariable reads one variable block.
func declareVariable(b *hcl.Block) (*variable, hcl.Diagnostics) {
	v := &variable{name: b.Labels[0], typ: cty.DynamicPseudoType, defRange: b.DefRange}
	content, diags := b.Body.Content(variableSchema)
	if attr, ok := content.Attributes["type"]; ok {
		ty, d := typeexpr.TypeConstraint(attr.Expr)
		diags = append(diags, d...)
		if !d.HasErrors() {
			v.typ = ty
		}
	}
	if attr, ok := content.Attributes["default"]; ok {
		val, d := attr.Expr.Value(nil)
		diags = append(diags, d...)
		if !d.HasErrors() {
			conv, err := convert.Convert(val, v.typ)
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid default value for variable", Detail: fmt.Sprintf("This default value is not compatible with the variable's type constraint: %s.", err), Subject: attr.Expr.Range().Ptr()})
			} else {
				v.value = conv
			}
		}
	}
	for _, vb := range content.Blocks {
		_, d := vb.Body.Content(validationSchema)
		diags = append(diags, d...)
		v.validations = append(v.validations, vb)
	}
	return v, diags
}

// assignValues applies, in rising precedence, NOMAD_VAR_ environment
// variables, variable files, VarContent and -var flags.
func assignValues(vars map[string]*variable, opts *Options) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, kv := range opts.Env {
		name, raw, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, envVarPrefix) {
			continue
		}
		if v, declared := vars[strings.TrimPrefix(name, envVarPrefix)]; declared {
			rng := hcl.Range{Filename: "<env " + name + ">", Start: hcl.InitialPos, End: hcl.InitialPos}
			diags = append(diags, v.setRaw(raw, rng)...)
		}
	}
	for _, path := range opts.VarFiles {
		src, err := os.ReadFile(path)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Failed to read variable file", Detail: err.Error()})
			continue
		}
		diags = append(diags, assignFile(vars, path, src, opts.Strict)...)
	}
	if opts.VarContent != "" {
		diags = append(diags, assignFile(vars, "<variables>.hcl", []byte(opts.VarContent), opts.Strict)...)
	}
	for _, kv := range opts.Vars {
		diags = append(diags, assignFlag(vars, kv, opts.Strict)...)
	}
	return diags
}

// assignFlag applies one "-var name=value".
func assignFlag(vars map[string]*variable, kv string, strict bool) hcl.Diagnostics {
	rng := hcl.Range{Filename: "<value for -var " + kv + ">", Start: hcl.InitialPos, End: hcl.InitialPos}
	name, raw, ok := strings.Cut(kv, "=")
	if !ok {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid -var option", Detail: fmt.Sprintf("The given -var option %q is not correctly specified. It must be a variable name and value separated by an equals sign, like -var=\"key=value\".", kv)}}
	}
	name = strings.TrimSpace(name)
	v, declared := vars[name]
	if !declared {
		if strict {
			return hcl.Diagnostics{undeclared(name, "-var", nil)}
		}
		return nil
	}
	return v.setRaw(raw, rng)
}

// undeclared reports a value given for a variable that was never declared.
func undeclared(name, source string, subject *hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Undefined " + source + " variable",
		Detail:   fmt.Sprintf("A %q variable was passed in but was not found in known variables. To declare variable %q, place this block in your job file:\n\nvariable %q {\n  type = string\n}", name, name, name),
		Subject:  subject,
	}
}

// setRaw sets the variable from a command-line or environment string: taken
// as is for string and untyped variables, parsed as an HCL expression
// otherwise.
func (v *variable) setRaw(raw string, rng hcl.Range) hcl.Diagnostics {
	if v.typ == cty.String || v.typ == cty.DynamicPseudoType {
		return v.set(cty.StringVal(raw), rng)
	}
	expr, diags := hclsyntax.ParseExpression([]byte(raw), rng.Filename, rng.Start)
	if diags.HasErrors() {
		return diags
	}
	val, diags := expr.Value(nil)
	if diags.HasErrors() {
		return diags
	}
	return v.set(val, rng)
}

// set converts val to the variable's type and stores it.
func (v *variable) set(val cty.Value, rng hcl.Range) hcl.Diagnostics {
	conv, err := convert.Convert(val, v.typ)
	if err != nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail:   fmt.Sprintf("The value given for variable %q is not compatible with its type constraint: %s.", v.name, err),
			Subject:  rng.Ptr(),
		}}
	}
	v.value = conv
	return nil
}

// assignFile applies a variable file in HCL or (for *.json) JSON syntax.
func assignFile(vars map[string]*variable, path string, src []byte, strict bool) hcl.Diagnostics {
	var (
		file  *hcl.File
		diags hcl.Diagnostics
	)
	if strings.EqualFold(filepath.Ext(path), ".json") {
		file, diags = json.Parse(src, path)
	} else {
		file, diags = hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	}
	if diags.HasErrors() {
		return diags
	}
	attrs, diags := file.Body.JustAttributes()
	for name, attr := range attrs {
		v, declared := vars[name]
		if !declared {
			if strict {
				diags = append(diags, undeclared(name, "file", attr.NameRange.Ptr()))
			}
			continue
		}
		val, d := attr.Expr.Value(&hcl.EvalContext{Functions: functions("")})
		diags = append(diags, d...)
		if !d.HasErrors() {
			diags = append(diags, v.set(val, attr.Expr.Range())...)
		}
	}
	return diags
}

// validateVariable runs a variable's validation blocks.
func (p *parser) validateVariable(v *variable) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, vb := range v.validations {
		content, d := vb.Body.Content(validationSchema)
		if d.HasErrors() {
			continue
		}
		cond := content.Attributes["condition"]
		ok, d := cond.Expr.Value(p.ctx)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		ok, err := convert.Convert(ok, cty.Bool)
		if err != nil || ok.IsNull() || !ok.IsKnown() {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid variable validation result", Detail: "The condition must produce true or false.", Subject: cond.Expr.Range().Ptr()})
			continue
		}
		if ok.True() {
			continue
		}
		msg := "The value of this variable failed its validation rule."
		if m, d := content.Attributes["error_message"].Expr.Value(p.ctx); !d.HasErrors() && m.Type() == cty.String && m.IsKnown() && !m.IsNull() {
			msg = m.AsString()
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail:   fmt.Sprintf("%s\n\nThis was checked by the validation rule at %s.", msg, cond.Expr.Range()),
			Subject:  v.defRange.Ptr(),
		})
	}
	return diags
}
