package agent

import (
	"fmt"
	"math/big"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// restSchema names what a block may hold beyond its typed fields: string
// maps, and Nomad settings Roam accepts without acting on. Anything else
// is an "Unsupported argument" or "Unsupported block type" error.
type restSchema struct {
	maps   []string                // map[string]string, as `name = {...}` or `name {...}`
	attrs  []string                // accepted arguments, kept generic
	blocks []hcl.BlockHeaderSchema // accepted blocks, kept generic
}

// restValues is what decodeRest found.
type restValues struct {
	maps   map[string]map[string]string
	extra  map[string]any // generic values of the accepted attrs and blocks
	blocks hcl.Blocks     // the accepted blocks themselves
}

// decodeRest decodes the part of body that gohcl left over, under schema.
func decodeRest(body hcl.Body, schema restSchema) (restValues, hcl.Diagnostics) {
	var out restValues
	if body == nil {
		return out, nil
	}
	var diags hcl.Diagnostics
	for _, name := range schema.maps {
		var m map[string]string
		var d hcl.Diagnostics
		m, body, d = decodeStringMap(body, name)
		diags = append(diags, d...)
		if m != nil {
			if out.maps == nil {
				out.maps = make(map[string]map[string]string)
			}
			out.maps[name] = m
		}
	}
	hs := &hcl.BodySchema{Blocks: schema.blocks}
	for _, a := range schema.attrs {
		hs.Attributes = append(hs.Attributes, hcl.AttributeSchema{Name: a})
	}
	content, d := body.Content(hs)
	diags = append(diags, d...)
	if content == nil {
		return out, diags
	}
	out.blocks = content.Blocks
	extra := make(map[string]any)
	for name, attr := range content.Attributes {
		v, d := genericExpr(attr.Expr)
		diags = append(diags, d...)
		extra[name] = v
	}
	for _, b := range content.Blocks {
		v, d := genericBody(b.Body)
		diags = append(diags, d...)
		diags = append(diags, addBlock(extra, b, v)...)
	}
	if len(extra) > 0 {
		out.extra = extra
	}
	return out, diags
}

// decodeStringMap reads a string map written either as an argument
// (`meta = { rack = "r1" }`, and always so in JSON) or as a block
// (`meta { rack = "r1" }`), returning the rest of body.
func decodeStringMap(body hcl.Body, name string) (map[string]string, hcl.Body, hcl.Diagnostics) {
	if !writtenAsBlock(body, name) {
		content, rest, diags := body.PartialContent(&hcl.BodySchema{
			Attributes: []hcl.AttributeSchema{{Name: name}}})
		attr := content.Attributes[name]
		if attr == nil || diags.HasErrors() {
			return nil, rest, diags
		}
		v, d := attr.Expr.Value(nil)
		diags = append(diags, d...)
		if d.HasErrors() || v.IsNull() {
			return nil, rest, diags
		}
		m, d := ctyStringMap(v, attr.Expr.Range())
		return m, rest, append(diags, d...)
	}
	content, rest, diags := body.PartialContent(&hcl.BodySchema{
		Blocks: []hcl.BlockHeaderSchema{{Type: name}}})
	m := make(map[string]string)
	for _, b := range content.Blocks {
		attrs, d := b.Body.JustAttributes()
		diags = append(diags, d...)
		for key, attr := range attrs {
			v, d := attr.Expr.Value(nil)
			diags = append(diags, d...)
			if s, ok := ctyString(v, attr.Expr.Range(), &diags); ok {
				m[key] = s
			}
		}
	}
	return m, rest, diags
}

// writtenAsBlock reports whether a native-syntax body holds name as a
// block rather than as an argument.
func writtenAsBlock(body hcl.Body, name string) bool {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		return false
	}
	for _, b := range sb.Blocks {
		if b.Type == name {
			return true
		}
	}
	return false
}

// ctyStringMap converts an object or map value to map[string]string.
func ctyStringMap(v cty.Value, rng hcl.Range) (map[string]string, hcl.Diagnostics) {
	ty := v.Type()
	if !ty.IsObjectType() && !ty.IsMapType() {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Incorrect attribute value type",
			Detail: "A map of strings is required, such as { key = \"value\" }.", Subject: rng.Ptr()}}
	}
	var diags hcl.Diagnostics
	m := make(map[string]string, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if s, ok := ctyString(e, rng, &diags); ok {
			m[k.AsString()] = s
		}
	}
	return m, diags
}

// ctyString converts a primitive value to a string, adding an error to
// diags when it is not one.
func ctyString(v cty.Value, rng hcl.Range, diags *hcl.Diagnostics) (string, bool) {
	s, err := convert.Convert(v, cty.String)
	if err != nil || s.IsNull() || !s.IsKnown() {
		*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagError,
			Summary: "Incorrect attribute value type", Detail: "A string value is required here.",
			Subject: rng.Ptr()})
		return "", false
	}
	return s.AsString(), true
}

// genericBody converts a block body to generic Go values: attributes by
// name; nested blocks as map[string]any, nested by their labels, and a
// []any of maps for an unlabeled block written more than once.
func genericBody(body hcl.Body) (map[string]any, hcl.Diagnostics) {
	out := make(map[string]any)
	sb, ok := body.(*hclsyntax.Body)
	if !ok { // JSON: nested objects are attribute values
		attrs, diags := body.JustAttributes()
		for name, attr := range attrs {
			v, d := genericExpr(attr.Expr)
			diags = append(diags, d...)
			out[name] = v
		}
		return out, diags
	}
	var diags hcl.Diagnostics
	for name, attr := range sb.Attributes {
		v, d := genericExpr(attr.Expr)
		diags = append(diags, d...)
		out[name] = v
	}
	for _, b := range sb.Blocks {
		v, d := genericBody(b.Body)
		diags = append(diags, d...)
		diags = append(diags, addBlock(out, b.AsHCLBlock(), v)...)
	}
	return out, diags
}

// addBlock stores a converted block under its type (and labels) in out.
func addBlock(out map[string]any, b *hcl.Block, v map[string]any) hcl.Diagnostics {
	if len(b.Labels) == 0 {
		switch prev := out[b.Type].(type) {
		case nil:
			out[b.Type] = v
		case []any:
			out[b.Type] = append(prev, v)
		default:
			out[b.Type] = []any{prev, v}
		}
		return nil
	}
	node := out
	key := b.Type
	for _, label := range b.Labels {
		child, ok := node[key].(map[string]any)
		if !ok {
			if node[key] != nil {
				return blockConflict(b)
			}
			child = make(map[string]any)
			node[key] = child
		}
		node, key = child, label
	}
	if node[key] != nil {
		return blockConflict(b)
	}
	node[key] = v
	return nil
}

// blockConflict reports a labeled block that repeats or clashes with an
// earlier setting of the same name.
func blockConflict(b *hcl.Block) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Duplicate block",
		Detail:  fmt.Sprintf("A %s block with labels %q is already defined here.", b.Type, b.Labels),
		Subject: b.DefRange.Ptr()}}
}

// genericExpr evaluates an expression (no variables or functions) to a
// generic Go value.
func genericExpr(expr hcl.Expression) (any, hcl.Diagnostics) {
	v, diags := expr.Value(nil)
	if diags.HasErrors() {
		return nil, diags
	}
	g, err := ctyToGo(v)
	if err != nil {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError,
			Summary: "Unsupported value", Detail: err.Error(), Subject: expr.Range().Ptr()})
	}
	return g, diags
}

// ctyToGo converts a value to bool, string, int (whole numbers), float64,
// []any or map[string]any.
func ctyToGo(v cty.Value) (any, error) {
	if !v.IsKnown() {
		return nil, fmt.Errorf("value is not known")
	}
	if v.IsNull() {
		return nil, nil
	}
	ty := v.Type()
	switch {
	case ty == cty.Bool:
		return v.True(), nil
	case ty == cty.String:
		return v.AsString(), nil
	case ty == cty.Number:
		return numberToGo(v.AsBigFloat()), nil
	case ty.IsListType() || ty.IsSetType() || ty.IsTupleType():
		out := make([]any, 0, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			g, err := ctyToGo(e)
			if err != nil {
				return nil, err
			}
			out = append(out, g)
		}
		return out, nil
	case ty.IsMapType() || ty.IsObjectType():
		out := make(map[string]any, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			g, err := ctyToGo(e)
			if err != nil {
				return nil, err
			}
			out[k.AsString()] = g
		}
		return out, nil
	}
	return nil, fmt.Errorf("a value of type %s cannot be used here", ty.FriendlyName())
}

// numberToGo is an int for a whole number that fits, else a float64.
func numberToGo(f *big.Float) any {
	if f.IsInt() {
		if i, acc := f.Int64(); acc == big.Exact && int64(int(i)) == i {
			return int(i)
		}
	}
	g, _ := f.Float64()
	return g
}

// durationParser parses duration settings ("10s", "5m"), collecting
// errors that point at the offending value.
type durationParser struct {
	diags hcl.Diagnostics
}

// parse returns the duration expr holds; zero when it is absent or bad.
func (p *durationParser) parse(expr hcl.Expression) time.Duration {
	if expr == nil {
		return 0
	}
	v, diags := expr.Value(nil)
	p.diags = append(p.diags, diags...)
	if diags.HasErrors() || v.IsNull() {
		return 0
	}
	s, ok := ctyString(v, expr.Range(), &p.diags)
	if !ok {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.diags = append(p.diags, &hcl.Diagnostic{Severity: hcl.DiagError,
			Summary: "Invalid duration",
			Detail:  fmt.Sprintf("%q is not a duration; write a number with a unit, such as \"10s\" or \"5m\".", s),
			Subject: expr.Range().Ptr()})
		return 0
	}
	return d
}
