package jobspec

import (
	"fmt"
	"reflect"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Free-form blocks (task `config`, scaling `policy`, proxy `config`) have no
// schema: drivers and plugins read them later. Their attributes become Go
// values; nested blocks become lists of maps, and a labelled block nests as
// {label: [body]}, the shape Nomad's drivers and the autoscaler read.

// indexBodies records every syntax body of the file by its start offset, so
// the names inside a free-form body can be listed even after dynamic-block
// expansion has wrapped it.
func indexBodies(body *hclsyntax.Body, index map[int]*hclsyntax.Body) {
	index[body.SrcRange.Start.Byte] = body
	for _, b := range body.Blocks {
		indexBodies(b.Body, index)
	}
}

// freeformSchema lists the attributes and block types written in body.
func (p *parser) freeformSchema(body hcl.Body) (*hcl.BodySchema, bool) {
	rng := body.MissingItemRange()
	syn, ok := p.bodies[rng.Start.Byte]
	if !ok || rng.Filename != p.filename {
		return nil, false
	}
	schema := &hcl.BodySchema{}
	for name := range syn.Attributes {
		schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: name})
	}
	seen := map[string]bool{}
	for _, b := range syn.Blocks {
		typ, labels := b.Type, len(b.Labels)
		if typ == "dynamic" && len(b.Labels) == 1 {
			typ, labels = b.Labels[0], 0
			for _, other := range syn.Blocks {
				if other.Type == typ {
					labels = len(other.Labels)
				}
			}
		}
		if seen[typ] {
			continue
		}
		seen[typ] = true
		schema.Blocks = append(schema.Blocks, hcl.BlockHeaderSchema{Type: typ, LabelNames: make([]string, labels)})
		for i := range labels {
			schema.Blocks[len(schema.Blocks)-1].LabelNames[i] = fmt.Sprintf("label%d", i)
		}
	}
	return schema, true
}

// decodeFreeform turns a schema-less body into a map.
func (p *parser) decodeFreeform(body hcl.Body) (map[string]any, hcl.Diagnostics) {
	out := map[string]any{}
	schema, ok := p.freeformSchema(body)
	if !ok {
		attrs, diags := body.JustAttributes()
		for name, attr := range attrs {
			diags = append(diags, p.freeformAttr(out, name, attr)...)
		}
		return out, diags
	}
	content, diags := body.Content(schema)
	for name, attr := range content.Attributes {
		diags = append(diags, p.freeformAttr(out, name, attr)...)
	}
	for _, b := range content.Blocks {
		inner, innerDiags := p.decodeFreeform(b.Body)
		diags = append(diags, innerDiags...)
		var elem any = inner
		for i := len(b.Labels) - 1; i >= 0; i-- {
			elem = map[string]any{b.Labels[i]: []any{elem}}
		}
		list, _ := out[b.Type].([]any)
		out[b.Type] = append(list, elem)
	}
	return out, diags
}

// freeformAttr evaluates one attribute of a free-form body into out.
func (p *parser) freeformAttr(out map[string]any, name string, attr *hcl.Attribute) hcl.Diagnostics {
	val, diags := p.eval(attr.Expr)
	if diags.HasErrors() {
		return diags
	}
	if !val.IsWhollyKnown() {
		return valueError(name, attr.Expr.Range(), "value is not known at parse time")
	}
	out[name] = ctyToGo(val)
	return diags
}

// decodeMapBlock decodes a map-shaped block (meta, env, config, header) into
// field, merging with what an attribute of the same name already set.
func (p *parser) decodeMapBlock(b *hcl.Block, field reflect.Value) hcl.Diagnostics {
	if field.Type().Elem().Kind() == reflect.Interface {
		m, diags := p.decodeFreeform(b.Body)
		if field.IsNil() {
			field.Set(reflect.MakeMap(field.Type()))
		}
		for k, v := range m {
			if v == nil {
				continue
			}
			field.SetMapIndex(reflect.ValueOf(k), reflect.ValueOf(v))
		}
		return diags
	}
	attrs, diags := p.attributes(b.Body)
	if field.IsNil() {
		field.Set(reflect.MakeMap(field.Type()))
	}
	for name, attr := range attrs {
		val, valDiags := p.eval(attr.Expr)
		diags = append(diags, valDiags...)
		if valDiags.HasErrors() || val.IsNull() {
			continue
		}
		elem := reflect.New(field.Type().Elem()).Elem()
		if d := setValue(elem, val, name, attr.Expr.Range()); d.HasErrors() {
			diags = append(diags, d...)
			continue
		}
		field.SetMapIndex(reflect.ValueOf(name), elem)
	}
	return diags
}

// attributes returns the attributes of a body that may hold no blocks. It
// reads them through Content rather than JustAttributes, because a body
// expanded from a dynamic block only gives its attributes access to the
// iterator (group.value, ...) that way.
func (p *parser) attributes(body hcl.Body) (hcl.Attributes, hcl.Diagnostics) {
	schema, ok := p.freeformSchema(body)
	if !ok {
		return body.JustAttributes()
	}
	schema.Blocks = nil
	content, diags := body.Content(schema)
	return content.Attributes, diags
}
