package agent

import (
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/roam-project/roam/client/template"
)

// fileClientTemplate is the client's `template` block as written.
type fileClientTemplate struct {
	FunctionDenylist   []string        `hcl:"function_denylist,optional"`
	FunctionBlacklist  []string        `hcl:"function_blacklist,optional"`
	DisableFileSandbox bool            `hcl:"disable_file_sandbox,optional"`
	MaxStale           hcl.Expression  `hcl:"max_stale,optional"`
	BlockQueryWait     hcl.Expression  `hcl:"block_query_wait,optional"`
	Wait               *fileWaitBounds `hcl:"wait,block"`
	WaitBounds         *fileWaitBounds `hcl:"wait_bounds,block"`
	Rest               hcl.Body        `hcl:",remain"`
}

// fileWaitBounds is a `wait` or `wait_bounds` block.
type fileWaitBounds struct {
	Min hcl.Expression `hcl:"min,optional"`
	Max hcl.Expression `hcl:"max,optional"`
}

// clientTemplateRest lists the template settings Roam accepts without
// acting on them: the Consul and Vault retries (no Consul or Vault here)
// and the Nomad retry (lookups retry with a capped backoff).
var clientTemplateRest = restSchema{
	blocks: []hcl.BlockHeaderSchema{{Type: "consul_retry"}, {Type: "vault_retry"}, {Type: "nomad_retry"}},
}

// config converts the template block. max_stale is accepted and has no
// effect: lookups are always answered by the server the client talks to.
func (f *fileClientTemplate) config(dp *durationParser) (template.Settings, hcl.Diagnostics) {
	if f == nil {
		return template.Settings{}, nil
	}
	s := template.Settings{FunctionDenylist: f.FunctionDenylist, DisableFileSandbox: f.DisableFileSandbox,
		BlockQueryWait: dp.parse(f.BlockQueryWait)}
	if s.FunctionDenylist == nil {
		s.FunctionDenylist = f.FunctionBlacklist
	}
	dp.parse(f.MaxStale)
	// The client-wide wait is the default of templates that set none:
	// Roam applies it as the lower bound, and wait_bounds clamps.
	for _, b := range []*fileWaitBounds{f.Wait, f.WaitBounds} {
		if b == nil {
			continue
		}
		if d := dp.parse(b.Min); d > 0 {
			s.WaitMin = durationPtr(d)
		}
		if d := dp.parse(b.Max); d > 0 {
			s.WaitMax = durationPtr(d)
		}
	}
	_, diags := decodeRest(f.Rest, clientTemplateRest)
	return s, diags
}

func durationPtr(d time.Duration) *time.Duration { return &d }
