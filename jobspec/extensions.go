package jobspec

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/nomad/api"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// typeExt adds to what a struct's hcl tags say: extra attributes read by
// post, and blocks decoded by hand instead of by the tags.
type typeExt struct {
	// optional names attributes whose tag says required but which Nomad's
	// documentation gives a default.
	optional []string
	attrs    []string
	blocks   []blockOverride
	post     func(p *parser, rv reflect.Value, content *hcl.BodyContent) hcl.Diagnostics
}

// blockOverride decodes the blocks of one type in place of the generic walk.
type blockOverride struct {
	name   string
	labels []string
	decode func(p *parser, rv reflect.Value, blocks hcl.Blocks) hcl.Diagnostics
}

// isOptional reports whether ext relaxes a required attribute.
func (ext *typeExt) isOptional(name string) bool {
	return ext != nil && slices.Contains(ext.optional, name)
}

// overrides reports whether ext decodes blocks named name itself.
func (ext *typeExt) overrides(name string) bool {
	if ext == nil {
		return false
	}
	for _, b := range ext.blocks {
		if b.name == name {
			return true
		}
	}
	return false
}

// Shorthand attributes of constraint and affinity blocks: `version = ">= 1.2"`
// stands for operator "version" with that value.
var operatorShorthands = []string{"version", "semver", "regexp", "set_contains", "set_contains_all", "set_contains_any"}

// extensions holds the additions per api type; filled by init because the
// decoders it names call back into the generic walk.
var extensions map[reflect.Type]*typeExt

func init() {
	extensions = map[reflect.Type]*typeExt{
		reflect.TypeFor[api.Job](): {
			attrs:  []string{"consul_namespace", "vault_namespace"},
			blocks: []blockOverride{{name: "vault", decode: decodeJobVault}},
			post:   postJob,
		},
		reflect.TypeFor[api.TaskGroup](): {
			blocks: []blockOverride{{name: "vault", decode: decodeGroupVault}},
		},
		reflect.TypeFor[api.Task](): {
			blocks: []blockOverride{{name: "scaling", labels: []string{"type"}, decode: decodeTaskScaling}},
			post:   postTask,
		},
		reflect.TypeFor[api.Constraint](): {
			attrs: append([]string{"distinct_hosts", "distinct_property"}, operatorShorthands...),
			post:  postConstraint,
		},
		reflect.TypeFor[api.Affinity](): {
			attrs: operatorShorthands,
			post:  postAffinity,
		},
		reflect.TypeFor[api.Service](): {
			blocks: []blockOverride{{name: "ingress", decode: decodeServiceIngress}},
		},
		reflect.TypeFor[api.NetworkResource](): {post: postNetwork},
		reflect.TypeFor[api.WaitConfig]():      {optional: []string{"min", "max"}},
		reflect.TypeFor[api.ChangeScript]():    {optional: []string{"fail_on_error"}},
	}
}

// decodeVault decodes the single vault block among blocks, if any.
func (p *parser) decodeVault(blocks hcl.Blocks) (*api.Vault, hcl.Diagnostics) {
	if len(blocks) == 0 {
		return nil, nil
	}
	diags := duplicateBlocks(blocks)
	v := &api.Vault{}
	diags = append(diags, p.decodeBody(blocks[0].Body, nil, reflect.ValueOf(v).Elem())...)
	return v, diags
}

// decodeJobVault keeps a job-level vault block for tasks that lack their own.
func decodeJobVault(p *parser, _ reflect.Value, blocks hcl.Blocks) hcl.Diagnostics {
	v, diags := p.decodeVault(blocks)
	p.jobVault = v
	return diags
}

// decodeGroupVault applies a group-level vault block to the group's tasks
// that have none.
func decodeGroupVault(p *parser, rv reflect.Value, blocks hcl.Blocks) hcl.Diagnostics {
	v, diags := p.decodeVault(blocks)
	if v == nil {
		return diags
	}
	for _, t := range rv.Addr().Interface().(*api.TaskGroup).Tasks {
		if t.Vault == nil {
			t.Vault = copyVault(v)
		}
	}
	return diags
}

// copyVault returns a copy that tasks can canonicalise independently.
func copyVault(v *api.Vault) *api.Vault {
	c := *v
	c.Policies = append([]string(nil), v.Policies...)
	return &c
}

// postJob applies the job-level namespaces and vault block.
func postJob(p *parser, rv reflect.Value, content *hcl.BodyContent) hcl.Diagnostics {
	job := rv.Addr().Interface().(*api.Job)
	var diags hcl.Diagnostics
	if a, ok := content.Attributes["consul_namespace"]; ok {
		diags = append(diags, p.decodeAttr(a, reflect.ValueOf(&job.ConsulNamespace).Elem())...)
	}
	if a, ok := content.Attributes["vault_namespace"]; ok {
		diags = append(diags, p.decodeAttr(a, reflect.ValueOf(&job.VaultNamespace).Elem())...)
	}
	if p.jobVault != nil {
		for _, tg := range job.TaskGroups {
			for _, t := range tg.Tasks {
				if t.Vault == nil {
					t.Vault = copyVault(p.jobVault)
				}
			}
		}
	}
	return diags
}

// decodeTaskScaling decodes `scaling "cpu"` and `scaling "mem"` blocks, the
// task's vertical scaling policies.
func decodeTaskScaling(p *parser, rv reflect.Value, blocks hcl.Blocks) hcl.Diagnostics {
	task := rv.Addr().Interface().(*api.Task)
	var diags hcl.Diagnostics
	seen := map[string]bool{}
	for _, b := range blocks {
		kind := b.Labels[0]
		if kind != "cpu" && kind != "mem" {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid scaling policy type",
				Detail:   fmt.Sprintf("A task scaling block must be labelled \"cpu\" or \"mem\", not %q.", kind),
				Subject:  b.LabelRanges[0].Ptr(),
			})
			continue
		}
		if seen[kind] {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate scaling block",
				Detail:   fmt.Sprintf("Only one scaling %q block is allowed in a task.", kind),
				Subject:  b.DefRange.Ptr(),
			})
			continue
		}
		seen[kind] = true
		policy := &api.ScalingPolicy{}
		diags = append(diags, p.decodeBody(b.Body, nil, reflect.ValueOf(policy).Elem())...)
		policy.Type = "vertical_" + kind
		task.ScalingPolicies = append(task.ScalingPolicies, policy)
	}
	return diags
}

// shorthand returns the operator and value of a shorthand attribute, if any.
func (p *parser) shorthand(content *hcl.BodyContent, names []string) (op, value string, diags hcl.Diagnostics) {
	for _, name := range names {
		attr, ok := content.Attributes[name]
		if !ok {
			continue
		}
		val, valDiags := p.eval(attr.Expr)
		diags = append(diags, valDiags...)
		if valDiags.HasErrors() {
			continue
		}
		s, err := convert.Convert(val, cty.String)
		if err != nil || s.IsNull() {
			diags = append(diags, valueError(name, attr.Expr.Range(), "string required")...)
			continue
		}
		op, value = name, s.AsString()
	}
	return op, value, diags
}

// postConstraint resolves constraint shorthands.
func postConstraint(p *parser, rv reflect.Value, content *hcl.BodyContent) hcl.Diagnostics {
	c := rv.Addr().Interface().(*api.Constraint)
	op, value, diags := p.shorthand(content, operatorShorthands)
	if op != "" {
		c.Operand, c.RTarget = op, value
	}
	if attr, ok := content.Attributes["distinct_hosts"]; ok {
		var enabled bool
		d := p.decodeAttr(attr, reflect.ValueOf(&enabled).Elem())
		diags = append(diags, d...)
		c.Operand, c.RTarget = "distinct_hosts", strconv.FormatBool(enabled)
	}
	if attr, ok := content.Attributes["distinct_property"]; ok {
		c.Operand = "distinct_property"
		diags = append(diags, p.decodeAttr(attr, reflect.ValueOf(&c.LTarget).Elem())...)
	}
	return diags
}

// postAffinity resolves affinity shorthands.
func postAffinity(p *parser, rv reflect.Value, content *hcl.BodyContent) hcl.Diagnostics {
	a := rv.Addr().Interface().(*api.Affinity)
	op, value, diags := p.shorthand(content, operatorShorthands)
	if op != "" {
		a.Operand, a.RTarget = op, value
	}
	return diags
}

// postNetwork moves ports with a static number to ReservedPorts, where the
// API keeps them; `port "x" {}` blocks all decode into DynamicPorts first.
func postNetwork(_ *parser, rv reflect.Value, _ *hcl.BodyContent) hcl.Diagnostics {
	n := rv.Addr().Interface().(*api.NetworkResource)
	var dynamic []api.Port
	for _, port := range n.DynamicPorts {
		if port.Value > 0 {
			n.ReservedPorts = append(n.ReservedPorts, port)
		} else {
			dynamic = append(dynamic, port)
		}
	}
	n.DynamicPorts = dynamic
	return nil
}

// postTask moves the default workload identity (an identity block with no
// name, or named "default") from Identities to the Identity field.
func postTask(_ *parser, rv reflect.Value, content *hcl.BodyContent) hcl.Diagnostics {
	task := rv.Addr().Interface().(*api.Task)
	var (
		named []*api.WorkloadIdentity
		diags hcl.Diagnostics
	)
	blocks := content.Blocks.OfType("identity")
	for i, id := range task.Identities {
		if id.Name != "" && id.Name != "default" {
			named = append(named, id)
			continue
		}
		if task.Identity != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate default identity",
				Detail:   "Only one identity block without a name (the default identity) is allowed in a task.",
				Subject:  blocks[i].DefRange.Ptr(),
			})
			continue
		}
		task.Identity = id
	}
	task.Identities = named
	return diags
}
