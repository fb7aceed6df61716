package command

import (
	"encoding/json"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/nomad/api"
)

// namespaceSpecFile is the HCL form of a namespace specification, as
// `nomad namespace apply` reads it.
type namespaceSpecFile struct {
	Name         string                  `hcl:"name"`
	Description  string                  `hcl:"description,optional"`
	Quota        string                  `hcl:"quota,optional"`
	Capabilities *namespaceCapabilities  `hcl:"capabilities,block"`
	NodePools    *namespaceNodePoolBlock `hcl:"node_pool_config,block"`
	Meta         *namespaceMetaBlock     `hcl:"meta,block"`
}

type namespaceCapabilities struct {
	EnabledTaskDrivers   []string `hcl:"enabled_task_drivers,optional"`
	DisabledTaskDrivers  []string `hcl:"disabled_task_drivers,optional"`
	EnabledNetworkModes  []string `hcl:"enabled_network_modes,optional"`
	DisabledNetworkModes []string `hcl:"disabled_network_modes,optional"`
}

type namespaceNodePoolBlock struct {
	Default string   `hcl:"default,optional"`
	Allowed []string `hcl:"allowed,optional"`
	Denied  []string `hcl:"denied,optional"`
}

type namespaceMetaBlock struct {
	Attrs hcl.Attributes `hcl:",remain"`
}

// parseNamespaceSpec reads a namespace specification: HCL, or with
// asJSON the API's JSON form. Errors name the file and line.
func parseNamespaceSpec(filename string, src []byte, asJSON bool) (*api.Namespace, error) {
	if asJSON {
		var ns api.Namespace
		if err := json.Unmarshal(src, &ns); err != nil {
			return nil, fmt.Errorf("%s: %v", filename, err)
		}
		return &ns, nil
	}
	file, diags := hclparse.NewParser().ParseHCL(src, filename)
	if diags.HasErrors() {
		return nil, diags
	}
	var spec namespaceSpecFile
	if diags := gohcl.DecodeBody(file.Body, nil, &spec); diags.HasErrors() {
		return nil, diags
	}
	ns := &api.Namespace{Name: spec.Name, Description: spec.Description, Quota: spec.Quota}
	if c := spec.Capabilities; c != nil {
		ns.Capabilities = &api.NamespaceCapabilities{
			EnabledTaskDrivers: c.EnabledTaskDrivers, DisabledTaskDrivers: c.DisabledTaskDrivers,
			EnabledNetworkModes: c.EnabledNetworkModes, DisabledNetworkModes: c.DisabledNetworkModes,
		}
	}
	if p := spec.NodePools; p != nil {
		ns.NodePoolConfiguration = &api.NamespaceNodePoolConfiguration{Default: p.Default, Allowed: p.Allowed, Denied: p.Denied}
	}
	if spec.Meta != nil {
		ns.Meta = map[string]string{}
		for name, attr := range spec.Meta.Attrs {
			var v string
			if diags := gohcl.DecodeExpression(attr.Expr, nil, &v); diags.HasErrors() {
				return nil, diags
			}
			ns.Meta[name] = v
		}
	}
	return ns, nil
}
