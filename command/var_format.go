package command

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/nomad/api"
)

// printVar prints a variable in an -out format: json, hcl, go-template
// (with tmpl), table or none.
func (c *cli) printVar(sv *api.Variable, out, tmpl string) int {
	if tmpl != "" && out != "go-template" {
		c.errorf("A -template is used only with -out=go-template")
		return 1
	}
	switch out {
	case "json":
		return c.printJSON(sv)
	case "hcl":
		c.outf("%s", formatVarHCL(sv))
	case "go-template":
		if tmpl == "" {
			c.errorf("-out=go-template needs a -template")
			return 1
		}
		t, err := template.New("var").Parse(tmpl)
		if err != nil {
			c.errorf("Error parsing the template: %s", err)
			return 1
		}
		var b bytes.Buffer
		if err := t.Execute(&b, sv); err != nil {
			c.errorf("Error executing the template: %s", err)
			return 1
		}
		c.outf("%s", b.String())
	case "table":
		c.outf("%s", formatVar(sv))
	case "none":
	default:
		c.errorf("Invalid -out value %q: want json, hcl, go-template, table or none", out)
		return 1
	}
	return 0
}

// formatVarHCL renders a variable as a variable specification that
// `var put @file` reads back.
func formatVarHCL(sv *api.Variable) string {
	var b strings.Builder
	fmt.Fprintf(&b, "namespace = %s\npath      = %s\n", strconv.Quote(sv.Namespace), strconv.Quote(sv.Path))
	fmt.Fprintf(&b, "\n# create_index = %d, modify_index = %d\n", sv.CreateIndex, sv.ModifyIndex)
	keys := make([]string, 0, len(sv.Items))
	width, open := 0, "\nitems {\n"
	for k := range sv.Items {
		keys = append(keys, k)
		width = max(width, len(hclKey(k)))
		if !hclsyntax.ValidIdentifier(k) {
			// A key that is no identifier needs the map form.
			open = "\nitems = {\n"
		}
	}
	sort.Strings(keys)
	b.WriteString(open)
	for _, k := range keys {
		fmt.Fprintf(&b, "  %-*s = %s\n", width, hclKey(k), strconv.Quote(sv.Items[k]))
	}
	b.WriteString("}")
	return b.String()
}

// hclKey is an item key as HCL writes it: bare when it is an identifier,
// quoted otherwise.
func hclKey(k string) string {
	if hclsyntax.ValidIdentifier(k) {
		return k
	}
	return strconv.Quote(k)
}

// varSpec is a variable specification file, as `var init` writes it.
type varSpec struct {
	Path      string            `hcl:"path,optional" json:"Path"`
	Namespace string            `hcl:"namespace,optional" json:"Namespace"`
	Items     map[string]string `json:"Items"`
	Rest      hcl.Body          `hcl:",remain" json:"-"`
}

// readVarSpec reads a specification file (HCL, or JSON when its name ends
// in .json) into a variable.
func readVarSpec(path string) (*api.Variable, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var spec varSpec
	if strings.HasSuffix(path, ".json") {
		if err := json.Unmarshal(src, &spec); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	} else {
		f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
		if diags.HasErrors() {
			return nil, diags
		}
		if diags := gohcl.DecodeBody(f.Body, nil, &spec); diags.HasErrors() {
			return nil, diags
		}
		if spec.Items, err = specItems(spec.Rest); err != nil {
			return nil, err
		}
	}
	sv := api.NewVariable(spec.Path)
	sv.Namespace = spec.Namespace
	for k, v := range spec.Items {
		sv.Items[k] = v
	}
	return sv, nil
}

// specItems reads the `items { key = "value" }` block, or the
// `items = { "key" = "value" }` map.
func specItems(body hcl.Body) (map[string]string, error) {
	content, _, diags := body.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "items"}}})
	if diags.HasErrors() {
		return nil, diags
	}
	asMap, _, diags := body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "items"}}})
	if diags.HasErrors() {
		return nil, diags
	}
	out := map[string]string{}
	if attr := asMap.Attributes["items"]; attr != nil {
		if diags := gohcl.DecodeExpression(attr.Expr, nil, &out); diags.HasErrors() {
			return nil, diags
		}
	}
	for _, blk := range content.Blocks {
		attrs, diags := blk.Body.JustAttributes()
		if diags.HasErrors() {
			return nil, diags
		}
		for name, attr := range attrs {
			var v string
			if diags := gohcl.DecodeExpression(attr.Expr, nil, &v); diags.HasErrors() {
				return nil, diags
			}
			out[name] = v
		}
	}
	return out, nil
}
