package command

import (
	"encoding/json"
	"fmt"

	units "github.com/docker/go-units"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/nomad/api"
)

// volumeSpecFile is a volume specification as Nomad's `volume create`
// reads it; only `type = "host"` volumes exist in Roam.
type volumeSpecFile struct {
	Type         string                 `hcl:"type"`
	Name         string                 `hcl:"name"`
	Namespace    string                 `hcl:"namespace,optional"`
	PluginID     string                 `hcl:"plugin_id,optional"`
	NodeID       string                 `hcl:"node_id,optional"`
	NodePool     string                 `hcl:"node_pool,optional"`
	CapacityMin  string                 `hcl:"capacity_min,optional"`
	CapacityMax  string                 `hcl:"capacity_max,optional"`
	Capabilities []volumeSpecCapability `hcl:"capability,block"`
	Constraints  []volumeSpecConstr     `hcl:"constraint,block"`
	Parameters   *volumeParamsBlock     `hcl:"parameters,block"`
}

type volumeSpecCapability struct {
	AccessMode     string `hcl:"access_mode,optional"`
	AttachmentMode string `hcl:"attachment_mode,optional"`
}

type volumeSpecConstr struct {
	Attribute string `hcl:"attribute,optional"`
	Operator  string `hcl:"operator,optional"`
	Value     string `hcl:"value,optional"`
}

// volumeParamsBlock is the `parameters` block: the plugin's settings.
type volumeParamsBlock struct {
	Attrs hcl.Attributes `hcl:",remain"`
}

// parseVolumeSpec reads a host volume specification (HCL, or JSON with
// -json in the API's form).
func parseVolumeSpec(filename string, src []byte, asJSON bool) (*api.HostVolume, error) {
	if asJSON {
		var v api.HostVolume
		if err := json.Unmarshal(src, &v); err != nil {
			return nil, fmt.Errorf("%s: %v", filename, err)
		}
		return &v, nil
	}
	file, diags := hclparse.NewParser().ParseHCL(src, filename)
	if diags.HasErrors() {
		return nil, diags
	}
	var spec volumeSpecFile
	if diags := gohcl.DecodeBody(file.Body, nil, &spec); diags.HasErrors() {
		return nil, diags
	}
	if spec.Type != "host" {
		return nil, fmt.Errorf("%s: type %q: Roam has host volumes only (type = \"host\")", filename, spec.Type)
	}
	v := &api.HostVolume{Name: spec.Name, Namespace: spec.Namespace, PluginID: spec.PluginID,
		NodeID: spec.NodeID, NodePool: spec.NodePool}
	if spec.Parameters != nil {
		v.Parameters = map[string]string{}
		for name, attr := range spec.Parameters.Attrs {
			var s string
			if diags := gohcl.DecodeExpression(attr.Expr, nil, &s); diags.HasErrors() {
				return nil, diags
			}
			v.Parameters[name] = s
		}
	}
	var err error
	if v.RequestedCapacityMinBytes, err = parseCapacity(filename, "capacity_min", spec.CapacityMin); err != nil {
		return nil, err
	}
	if v.RequestedCapacityMaxBytes, err = parseCapacity(filename, "capacity_max", spec.CapacityMax); err != nil {
		return nil, err
	}
	for _, c := range spec.Capabilities {
		v.RequestedCapabilities = append(v.RequestedCapabilities, &api.HostVolumeCapability{
			AccessMode: api.HostVolumeAccessMode(c.AccessMode), AttachmentMode: api.HostVolumeAttachmentMode(c.AttachmentMode)})
	}
	for _, c := range spec.Constraints {
		v.Constraints = append(v.Constraints, &api.Constraint{LTarget: c.Attribute, Operand: c.Operator, RTarget: c.Value})
	}
	return v, nil
}

func parseCapacity(filename, field, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := units.RAMInBytes(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %s %q: want a size such as \"10GiB\"", filename, field, s)
	}
	return n, nil
}
