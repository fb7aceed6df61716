package jobspec

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// evalLocals evaluates the attributes of every locals block. A local may use
// variables, functions and other locals, in any order of declaration; a
// cycle is an error.
func (p *parser) evalLocals(blocks hcl.Blocks) hcl.Diagnostics {
	var diags hcl.Diagnostics
	pending := map[string]*hcl.Attribute{}
	for _, b := range blocks {
		attrs, d := b.Body.JustAttributes()
		diags = append(diags, d...)
		for name, attr := range attrs {
			if prev, dup := pending[name]; dup {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Duplicate local value",
					Detail:   fmt.Sprintf("A local value named %q was already defined at %s.", name, prev.NameRange),
					Subject:  attr.NameRange.Ptr(),
				})
				continue
			}
			pending[name] = attr
		}
	}
	if diags.HasErrors() {
		return diags
	}
	values := map[string]cty.Value{}
	for len(pending) > 0 {
		progressed := false
		for _, name := range sortedNames(pending) {
			attr := pending[name]
			if waitsOnPending(attr.Expr, pending) {
				continue
			}
			val, d := p.eval(attr.Expr)
			diags = append(diags, d...)
			if d.HasErrors() {
				return diags
			}
			values[name] = val
			p.ctx.Variables["local"] = cty.ObjectVal(values)
			delete(pending, name)
			progressed = true
		}
		if !progressed {
			return append(diags, cycleError(pending))
		}
	}
	return diags
}

// waitsOnPending reports whether expr refers to a local not yet evaluated.
func waitsOnPending(expr hcl.Expression, pending map[string]*hcl.Attribute) bool {
	for _, trav := range expr.Variables() {
		if trav.RootName() != "local" || len(trav) < 2 {
			continue
		}
		if step, ok := trav[1].(hcl.TraverseAttr); ok {
			if _, waiting := pending[step.Name]; waiting {
				return true
			}
		}
	}
	return false
}

// cycleError reports the locals that refer to each other in a loop.
func cycleError(pending map[string]*hcl.Attribute) *hcl.Diagnostic {
	names := sortedNames(pending)
	first := pending[names[0]]
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Cycle in local values",
		Detail:   fmt.Sprintf("The local values %v refer to each other in a cycle.", names),
		Subject:  first.NameRange.Ptr(),
	}
}

// sortedNames returns the keys of m in order.
func sortedNames(m map[string]*hcl.Attribute) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
