package jobspec

import (
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
)

// The decoder walks the api structs by reflection, driven by their `hcl`
// struct tags: `name,optional` and `name` are attributes (the latter
// required), `name,block` are blocks, `,label` and `name,label` receive block
// labels. Values are converted by setValue (values.go); free-form maps such as
// task `config` by decodeFreeform (freeform.go); per-type additions to the
// schema, like constraint shorthands, live in extensions.go.

// fieldKind says how a tagged struct field appears in HCL.
type fieldKind int

const (
	kindAttr fieldKind = iota
	kindBlock
	kindLabel
)

// fieldSpec describes one tagged struct field.
type fieldSpec struct {
	name     string
	kind     fieldKind
	required bool
	index    int
}

var specCache sync.Map // reflect.Type → []fieldSpec

// specsOf returns the tagged fields of struct type t.
func specsOf(t reflect.Type) []fieldSpec {
	if cached, ok := specCache.Load(t); ok {
		return cached.([]fieldSpec)
	}
	var specs []fieldSpec
	for i := 0; i < t.NumField(); i++ {
		tag, ok := t.Field(i).Tag.Lookup("hcl")
		if !ok || tag == "-" {
			continue
		}
		parts := strings.Split(tag, ",")
		spec := fieldSpec{name: parts[0], kind: kindAttr, required: true, index: i}
		for _, opt := range parts[1:] {
			switch opt {
			case "optional":
				spec.required = false
			case "block":
				spec.kind, spec.required = kindBlock, false
			case "label":
				spec.kind, spec.required = kindLabel, false
			}
		}
		specs = append(specs, spec)
	}
	specCache.Store(t, specs)
	return specs
}

// labelFields returns the label specs of struct type t, in order.
func labelFields(t reflect.Type) []fieldSpec {
	var labels []fieldSpec
	for _, s := range specsOf(t) {
		if s.kind == kindLabel {
			labels = append(labels, s)
		}
	}
	return labels
}

// structOf strips pointers and slices down to the struct a block decodes into.
func structOf(t reflect.Type) (reflect.Type, bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	return t, t.Kind() == reflect.Struct
}

// isFreeMap reports whether a block field is a plain map (meta, env, config)
// rather than a struct-shaped block or a map of labelled blocks.
func isFreeMap(t reflect.Type) bool {
	if t.Kind() != reflect.Map {
		return false
	}
	_, isStruct := structOf(t.Elem())
	return !isStruct
}

// blockLabelNames returns the label names a block field's blocks carry.
func blockLabelNames(t reflect.Type) []string {
	if t.Kind() == reflect.Map {
		if isFreeMap(t) {
			return nil
		}
		return []string{"name"}
	}
	st, _ := structOf(t)
	var names []string
	for _, l := range labelFields(st) {
		names = append(names, l.name)
	}
	return names
}

var schemaCache sync.Map // reflect.Type → *hcl.BodySchema

// schemaFor returns the body schema of struct type t with its extension.
func schemaFor(t reflect.Type, ext *typeExt) *hcl.BodySchema {
	if cached, ok := schemaCache.Load(t); ok {
		return cached.(*hcl.BodySchema)
	}
	schema := buildSchema(t, ext)
	schemaCache.Store(t, schema)
	return schema
}

// buildSchema builds the body schema of struct type t with its extension.
func buildSchema(t reflect.Type, ext *typeExt) *hcl.BodySchema {
	schema := &hcl.BodySchema{}
	for _, s := range specsOf(t) {
		switch s.kind {
		case kindAttr:
			required := s.required && !ext.isOptional(s.name)
			schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: s.name, Required: required})
		case kindBlock:
			if ext.overrides(s.name) {
				continue
			}
			ft := t.Field(s.index).Type
			schema.Blocks = append(schema.Blocks, hcl.BlockHeaderSchema{Type: s.name, LabelNames: blockLabelNames(ft)})
			if isFreeMap(ft) {
				// meta = { ... } is accepted as well as meta { ... }.
				schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: s.name})
			}
		}
	}
	if ext != nil {
		for _, name := range ext.attrs {
			schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: name})
		}
		for _, b := range ext.blocks {
			schema.Blocks = append(schema.Blocks, hcl.BlockHeaderSchema{Type: b.name, LabelNames: b.labels})
		}
	}
	return schema
}

// decodeBody decodes body into the struct that rv (a struct value) holds,
// assigning labels to its label fields.
func (p *parser) decodeBody(body hcl.Body, labels []string, rv reflect.Value) hcl.Diagnostics {
	t := rv.Type()
	ext := extensions[t]
	content, diags := body.Content(schemaFor(t, ext))
	labelIdx := 0
	for _, s := range specsOf(t) {
		field := rv.Field(s.index)
		switch s.kind {
		case kindLabel:
			if labelIdx < len(labels) {
				diags = append(diags, setString(field, labels[labelIdx])...)
				labelIdx++
			}
		case kindAttr:
			if attr, ok := content.Attributes[s.name]; ok {
				diags = append(diags, p.decodeAttr(attr, field)...)
			}
		case kindBlock:
			if ext.overrides(s.name) {
				continue
			}
			diags = append(diags, p.decodeBlockField(s.name, content, field)...)
		}
	}
	if ext != nil {
		for _, b := range ext.blocks {
			diags = append(diags, b.decode(p, rv, content.Blocks.OfType(b.name))...)
		}
		if ext.post != nil {
			diags = append(diags, ext.post(p, rv, content)...)
		}
	}
	return diags
}

// decodeAttr evaluates an attribute and stores it in field.
func (p *parser) decodeAttr(attr *hcl.Attribute, field reflect.Value) hcl.Diagnostics {
	val, diags := p.eval(attr.Expr)
	if diags.HasErrors() {
		return diags
	}
	return append(diags, setValue(field, val, attr.Name, attr.Expr.Range())...)
}

// decodeBlockField decodes the blocks of one type into a struct field.
func (p *parser) decodeBlockField(name string, content *hcl.BodyContent, field reflect.Value) hcl.Diagnostics {
	blocks := content.Blocks.OfType(name)
	attr, hasAttr := content.Attributes[name]
	ft := field.Type()
	switch {
	case isFreeMap(ft):
		var diags hcl.Diagnostics
		if hasAttr {
			diags = append(diags, p.decodeAttr(attr, field)...)
		}
		for _, b := range blocks {
			diags = append(diags, p.decodeMapBlock(b, field)...)
		}
		return diags
	case ft.Kind() == reflect.Map:
		return p.decodeLabelledMap(blocks, field)
	case ft.Kind() == reflect.Slice:
		var diags hcl.Diagnostics
		for _, b := range blocks {
			elem := reflect.New(ft.Elem()).Elem()
			diags = append(diags, p.decodeBlockInto(b, elem)...)
			field.Set(reflect.Append(field, elem))
		}
		return diags
	default:
		if len(blocks) == 0 {
			return nil
		}
		diags := duplicateBlocks(blocks)
		return append(diags, p.decodeBlockInto(blocks[0], field)...)
	}
}

// decodeBlockInto decodes one block into v, a struct or pointer to struct.
func (p *parser) decodeBlockInto(b *hcl.Block, v reflect.Value) hcl.Diagnostics {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	return p.decodeBody(b.Body, b.Labels, v)
}

// decodeLabelledMap decodes labelled blocks into a map keyed by label.
func (p *parser) decodeLabelledMap(blocks hcl.Blocks, field reflect.Value) hcl.Diagnostics {
	var diags hcl.Diagnostics
	seen := map[string]*hcl.Block{}
	for _, b := range blocks {
		key := b.Labels[0]
		if prev, dup := seen[key]; dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Duplicate %s block", b.Type),
				Detail:   fmt.Sprintf("A %s block labelled %q was already defined at %s.", b.Type, key, prev.DefRange),
				Subject:  b.DefRange.Ptr(),
			})
			continue
		}
		seen[key] = b
		if field.IsNil() {
			field.Set(reflect.MakeMap(field.Type()))
		}
		elem := reflect.New(field.Type().Elem()).Elem()
		diags = append(diags, p.decodeBlockInto(b, elem)...)
		field.SetMapIndex(reflect.ValueOf(key), elem)
	}
	return diags
}

// duplicateBlocks reports every block after the first of a single-block type.
func duplicateBlocks(blocks hcl.Blocks) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, b := range blocks[1:] {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Duplicate %s block", b.Type),
			Detail:   fmt.Sprintf("Only one %s block is allowed here. Another was defined at %s.", b.Type, blocks[0].DefRange),
			Subject:  b.DefRange.Ptr(),
		})
	}
	return diags
}

// setString stores a label in a string or *string field.
func setString(field reflect.Value, s string) hcl.Diagnostics {
	if field.Kind() == reflect.Pointer {
		field.Set(reflect.New(field.Type().Elem()))
		field = field.Elem()
	}
	if field.Kind() != reflect.String {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Internal decoder error", Detail: "label field " + field.Type().String() + " is not a string"}}
	}
	field.SetString(s)
	return nil
}
