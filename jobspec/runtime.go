package jobspec

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Runtime interpolations such as ${attr.kernel.name}, ${node.datacenter},
// ${meta.rack} or ${NOMAD_PORT_http} are resolved by the client when a task
// starts, not by the parser. As Nomad does, a reference whose root name is not
// a parse-time variable (var, local, a dynamic block iterator) evaluates to its
// own source text wrapped in "${...}", so the client receives it verbatim.

// eval evaluates expr in the parser's context, keeping runtime references.
func (p *parser) eval(expr hcl.Expression) (cty.Value, hcl.Diagnostics) {
	ctx := p.ctx
	if placeholders := p.runtimePlaceholders(expr); len(placeholders) > 0 {
		ctx = p.ctx.NewChild()
		ctx.Variables = placeholders
	}
	val, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	val, _ = val.UnmarkDeep()
	return val, diags
}

// runtimeNode is one step of a tree of runtime references sharing a root.
type runtimeNode struct {
	text     string
	children map[string]*runtimeNode
}

// runtimePlaceholders builds values for the unknown roots referenced by expr.
func (p *parser) runtimePlaceholders(expr hcl.Expression) map[string]cty.Value {
	var roots map[string]*runtimeNode
	for _, trav := range expr.Variables() {
		root := trav.RootName()
		if p.defined(root) {
			continue
		}
		if roots == nil {
			roots = map[string]*runtimeNode{}
		}
		node := roots[root]
		if node == nil {
			node = &runtimeNode{}
			roots[root] = node
		}
		node.insert(trav[1:], "${"+p.sourceText(trav)+"}")
	}
	if roots == nil {
		return nil
	}
	vals := make(map[string]cty.Value, len(roots))
	for name, node := range roots {
		vals[name] = node.value()
	}
	return vals
}

// defined reports whether name is a variable of the parse-time context.
func (p *parser) defined(name string) bool {
	for ctx := p.ctx; ctx != nil; ctx = ctx.Parent() {
		if _, ok := ctx.Variables[name]; ok {
			return true
		}
	}
	return false
}

// insert records text at the path given by the traversal steps.
func (n *runtimeNode) insert(steps hcl.Traversal, text string) {
	if len(steps) == 0 {
		if n.text == "" {
			n.text = text
		}
		return
	}
	key, ok := stepKey(steps[0])
	if !ok {
		if n.text == "" {
			n.text = text
		}
		return
	}
	if n.children == nil {
		n.children = map[string]*runtimeNode{}
	}
	child := n.children[key]
	if child == nil {
		child = &runtimeNode{}
		n.children[key] = child
	}
	child.insert(steps[1:], text)
}

// stepKey names the object attribute a traversal step selects.
func stepKey(step hcl.Traverser) (string, bool) {
	switch s := step.(type) {
	case hcl.TraverseAttr:
		return s.Name, true
	case hcl.TraverseIndex:
		k, err := convert.Convert(s.Key, cty.String)
		if err != nil || k.IsNull() || !k.IsKnown() {
			return "", false
		}
		return k.AsString(), true
	}
	return "", false
}

// value turns the tree into nested objects whose leaves are source texts.
func (n *runtimeNode) value() cty.Value {
	if len(n.children) == 0 {
		return cty.StringVal(n.text)
	}
	attrs := make(map[string]cty.Value, len(n.children))
	for k, c := range n.children {
		attrs[k] = c.value()
	}
	return cty.ObjectVal(attrs)
}

// sourceText returns the text of a traversal as written in the job file.
func (p *parser) sourceText(trav hcl.Traversal) string {
	rng := trav.SourceRange()
	if rng.Filename == p.filename && rng.Start.Byte >= 0 && rng.End.Byte <= len(p.src) && rng.Start.Byte < rng.End.Byte {
		return string(p.src[rng.Start.Byte:rng.End.Byte])
	}
	var b strings.Builder
	b.WriteString(trav.RootName())
	for _, step := range trav[1:] {
		switch s := step.(type) {
		case hcl.TraverseAttr:
			b.WriteString("." + s.Name)
		case hcl.TraverseIndex:
			if s.Key.Type() == cty.String {
				fmt.Fprintf(&b, "[%q]", s.Key.AsString())
			} else if k, err := convert.Convert(s.Key, cty.String); err == nil {
				b.WriteString("[" + k.AsString() + "]")
			}
		}
	}
	return b.String()
}
