package jobspec

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/nomad/api"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/roam-project/roam/ingress"
)

// The service `ingress { host path }` block is Roam's own: the API's
// Service has no such field, so the block is written as the service tags
// the ingress routes by (ingress.host=..., ingress.path=...), which every
// other tool (the API, JSON job files, `job inspect`) carries unchanged.
// A canary registers with canary_tags in place of tags when there are
// any, so the block's tags go into canary_tags too: canaries are
// instances of the service and take their share of the route's traffic.

var ingressBlockSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "host", Required: true}, {Name: "path"}},
}

// decodeServiceIngress turns a service's ingress block into its tags.
func decodeServiceIngress(p *parser, rv reflect.Value, blocks hcl.Blocks) hcl.Diagnostics {
	if len(blocks) == 0 {
		return nil
	}
	svc := rv.Addr().Interface().(*api.Service)
	diags := duplicateBlocks(blocks)
	content, d := blocks[0].Body.Content(ingressBlockSchema)
	diags = append(diags, d...)
	if d.HasErrors() {
		return diags
	}
	host, d := p.ingressString(content.Attributes["host"], svc.Name, ingress.ValidateHost)
	diags = append(diags, d...)
	path, d := p.ingressString(content.Attributes["path"], svc.Name, ingress.ValidatePath)
	diags = append(diags, d...)
	for _, tag := range append(append([]string{}, svc.Tags...), svc.CanaryTags...) {
		if strings.HasPrefix(tag, ingress.HostTag) || strings.HasPrefix(tag, ingress.PathTag) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Ingress given twice",
				Detail:   fmt.Sprintf("Service %q has both an ingress block and the tag %q; keep one.", svc.Name, tag),
				Subject:  blocks[0].DefRange.Ptr(),
			})
		}
	}
	if diags.HasErrors() {
		return diags
	}
	svc.Tags = append(svc.Tags, ingress.Tags(host, path)...)
	if len(svc.CanaryTags) > 0 {
		svc.CanaryTags = append(svc.CanaryTags, ingress.Tags(host, path)...)
	}
	return diags
}

// ingressString evaluates one attribute of an ingress block to a string
// and checks it, unless it is left to runtime interpolation ("${...}").
func (p *parser) ingressString(attr *hcl.Attribute, service string, check func(string) error) (string, hcl.Diagnostics) {
	if attr == nil {
		return "", nil
	}
	val, diags := p.eval(attr.Expr)
	if diags.HasErrors() {
		return "", diags
	}
	val, _ = val.UnmarkDeep()
	s, err := convert.Convert(val, cty.String)
	if err != nil || s.IsNull() || !s.IsKnown() {
		return "", append(diags, valueError(attr.Name, attr.Expr.Range(), "string required")...)
	}
	v := s.AsString()
	if strings.Contains(v, "${") {
		return v, diags
	}
	if err := check(v); err != nil {
		return "", append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid ingress " + attr.Name,
			Detail:   fmt.Sprintf("Service %q ingress %s: %v.", service, attr.Name, err),
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	return v, diags
}
