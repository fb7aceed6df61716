// Package acl parses Nomad's ACL policy rule language and compiles sets of
// policies into an ACL that answers whether an operation is allowed.
package acl

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// Coarse policy dispositions.
const (
	PolicyDeny  = "deny"
	PolicyRead  = "read"
	PolicyWrite = "write"
	PolicyScale = "scale"
	PolicyList  = "list"
)

// Namespace capabilities, as in Nomad.
const (
	NamespaceCapabilityDeny                 = "deny"
	NamespaceCapabilityListJobs             = "list-jobs"
	NamespaceCapabilityParseJob             = "parse-job"
	NamespaceCapabilityReadJob              = "read-job"
	NamespaceCapabilitySubmitJob            = "submit-job"
	NamespaceCapabilityDispatchJob          = "dispatch-job"
	NamespaceCapabilityReadLogs             = "read-logs"
	NamespaceCapabilityReadFS               = "read-fs"
	NamespaceCapabilityAllocExec            = "alloc-exec"
	NamespaceCapabilityAllocNodeExec        = "alloc-node-exec"
	NamespaceCapabilityAllocLifecycle       = "alloc-lifecycle"
	NamespaceCapabilityCSIRegisterPlugin    = "csi-register-plugin"
	NamespaceCapabilityCSIWriteVolume       = "csi-write-volume"
	NamespaceCapabilityCSIReadVolume        = "csi-read-volume"
	NamespaceCapabilityCSIListVolume        = "csi-list-volume"
	NamespaceCapabilityCSIMountVolume       = "csi-mount-volume"
	NamespaceCapabilityListScalingPolicies  = "list-scaling-policies"
	NamespaceCapabilityReadScalingPolicy    = "read-scaling-policy"
	NamespaceCapabilityReadJobScaling       = "read-job-scaling"
	NamespaceCapabilityScaleJob             = "scale-job"
	NamespaceCapabilitySentinelOverride     = "sentinel-override"
	NamespaceCapabilitySubmitRecommendation = "submit-recommendation"
	NamespaceCapabilityHostVolumeCreate     = "host-volume-create"
	NamespaceCapabilityHostVolumeRegister   = "host-volume-register"
	NamespaceCapabilityHostVolumeRead       = "host-volume-read"
	NamespaceCapabilityHostVolumeWrite      = "host-volume-write"
	NamespaceCapabilityHostVolumeDelete     = "host-volume-delete"
)

// Variable capabilities.
const (
	VariablesCapabilityWrite   = "write"
	VariablesCapabilityRead    = "read"
	VariablesCapabilityList    = "list"
	VariablesCapabilityDestroy = "destroy"
	VariablesCapabilityDeny    = "deny"
)

// Host volume capabilities.
const (
	HostVolumeCapabilityDeny           = "deny"
	HostVolumeCapabilityMountReadOnly  = "mount-readonly"
	HostVolumeCapabilityMountReadWrite = "mount-readwrite"
)

// Node pool capabilities.
const (
	NodePoolCapabilityDeny   = "deny"
	NodePoolCapabilityRead   = "read"
	NodePoolCapabilityWrite  = "write"
	NodePoolCapabilityDelete = "delete"
)

var nodePoolCapabilities = []string{NodePoolCapabilityDeny, NodePoolCapabilityRead,
	NodePoolCapabilityWrite, NodePoolCapabilityDelete}

var namespaceCapabilities = []string{
	NamespaceCapabilityDeny, NamespaceCapabilityListJobs, NamespaceCapabilityParseJob,
	NamespaceCapabilityReadJob, NamespaceCapabilitySubmitJob, NamespaceCapabilityDispatchJob,
	NamespaceCapabilityReadLogs, NamespaceCapabilityReadFS, NamespaceCapabilityAllocExec,
	NamespaceCapabilityAllocNodeExec, NamespaceCapabilityAllocLifecycle,
	NamespaceCapabilityCSIRegisterPlugin, NamespaceCapabilityCSIWriteVolume,
	NamespaceCapabilityCSIReadVolume, NamespaceCapabilityCSIListVolume,
	NamespaceCapabilityCSIMountVolume, NamespaceCapabilityListScalingPolicies,
	NamespaceCapabilityReadScalingPolicy, NamespaceCapabilityReadJobScaling,
	NamespaceCapabilityScaleJob, NamespaceCapabilitySentinelOverride,
	NamespaceCapabilitySubmitRecommendation, NamespaceCapabilityHostVolumeCreate,
	NamespaceCapabilityHostVolumeRegister, NamespaceCapabilityHostVolumeRead,
	NamespaceCapabilityHostVolumeWrite, NamespaceCapabilityHostVolumeDelete,
}

var variableCapabilities = []string{VariablesCapabilityWrite, VariablesCapabilityRead,
	VariablesCapabilityList, VariablesCapabilityDestroy, VariablesCapabilityDeny}

var hostVolumeCapabilities = []string{HostVolumeCapabilityDeny,
	HostVolumeCapabilityMountReadOnly, HostVolumeCapabilityMountReadWrite}

// readCapabilities are what a namespace "read" policy grants.
var readCapabilities = []string{
	NamespaceCapabilityListJobs, NamespaceCapabilityParseJob, NamespaceCapabilityReadJob,
	NamespaceCapabilityCSIListVolume, NamespaceCapabilityCSIReadVolume,
	NamespaceCapabilityReadJobScaling, NamespaceCapabilityListScalingPolicies,
	NamespaceCapabilityReadScalingPolicy,
}

// writeCapabilities are what a namespace "write" policy adds to "read".
var writeCapabilities = []string{
	NamespaceCapabilityScaleJob, NamespaceCapabilitySubmitJob, NamespaceCapabilityDispatchJob,
	NamespaceCapabilityReadLogs, NamespaceCapabilityReadFS, NamespaceCapabilityAllocExec,
	NamespaceCapabilityAllocLifecycle, NamespaceCapabilityCSIMountVolume,
	NamespaceCapabilityCSIWriteVolume, NamespaceCapabilitySubmitRecommendation,
}

// scaleCapabilities are what a namespace "scale" policy grants.
var scaleCapabilities = []string{
	NamespaceCapabilityListScalingPolicies, NamespaceCapabilityReadScalingPolicy,
	NamespaceCapabilityReadJobScaling, NamespaceCapabilityScaleJob,
}

// expandNamespacePolicy lists the capabilities a coarse namespace policy
// stands for.
func expandNamespacePolicy(policy string) []string {
	switch policy {
	case PolicyDeny:
		return []string{NamespaceCapabilityDeny}
	case PolicyRead:
		return slices.Clone(readCapabilities)
	case PolicyWrite:
		return append(slices.Clone(readCapabilities), writeCapabilities...)
	case PolicyScale:
		return slices.Clone(scaleCapabilities)
	}
	return nil
}

// expandNamespaceVariables lists the variable capabilities a coarse
// namespace policy grants on every path.
func expandNamespaceVariables(policy string) []string {
	switch policy {
	case PolicyRead:
		return []string{VariablesCapabilityRead, VariablesCapabilityList}
	case PolicyWrite:
		return []string{VariablesCapabilityWrite, VariablesCapabilityRead,
			VariablesCapabilityList, VariablesCapabilityDestroy}
	}
	return nil
}

// expandHostVolumePolicy lists the capabilities a host_volume policy
// stands for.
func expandHostVolumePolicy(policy string) []string {
	switch policy {
	case PolicyDeny:
		return []string{HostVolumeCapabilityDeny}
	case PolicyRead:
		return []string{HostVolumeCapabilityMountReadOnly}
	case PolicyWrite:
		return []string{HostVolumeCapabilityMountReadOnly, HostVolumeCapabilityMountReadWrite}
	}
	return nil
}

// expandNodePoolPolicy lists the capabilities a node_pool policy stands
// for.
func expandNodePoolPolicy(policy string) []string {
	switch policy {
	case PolicyDeny:
		return []string{NodePoolCapabilityDeny}
	case PolicyRead:
		return []string{NodePoolCapabilityRead}
	case PolicyWrite:
		return []string{NodePoolCapabilityRead, NodePoolCapabilityWrite, NodePoolCapabilityDelete}
	}
	return nil
}

// Policy is one parsed policy document, with coarse policies expanded
// into capabilities.
type Policy struct {
	Namespaces  []*NamespaceRule
	HostVolumes []*HostVolumeRule
	NodePools   []*NodePoolRule
	Node        string
	Agent       string
	Operator    string
	Quota       string
	Plugin      string
}

// NamespaceRule is a namespace block: its name (maybe a glob), its
// capabilities and its variable path rules.
type NamespaceRule struct {
	Name         string
	Policy       string
	Capabilities []string
	Variables    []*VariableRule
}

// VariableRule is a variables path block.
type VariableRule struct {
	Path         string
	Capabilities []string
}

// HostVolumeRule is a host_volume block.
type HostVolumeRule struct {
	Name         string
	Policy       string
	Capabilities []string
}

// NodePoolRule is a node_pool block: a pool name (maybe a glob) and its
// capabilities.
type NodePoolRule struct {
	Name         string
	Policy       string
	Capabilities []string
}

// The policy document as written; expressions keep their source ranges so
// that errors can name the line.
type filePolicy struct {
	Namespaces  []*fileNamespace `hcl:"namespace,block"`
	HostVolumes []*fileNamedRule `hcl:"host_volume,block"`
	NodePools   []*fileNamedRule `hcl:"node_pool,block"`
	Node        []*fileCoarse    `hcl:"node,block"`
	Agent       []*fileCoarse    `hcl:"agent,block"`
	Operator    []*fileCoarse    `hcl:"operator,block"`
	Quota       []*fileCoarse    `hcl:"quota,block"`
	Plugin      []*fileCoarse    `hcl:"plugin,block"`
}

type fileNamespace struct {
	Name         string          `hcl:"name,label"`
	Policy       hcl.Expression  `hcl:"policy,optional"`
	Capabilities hcl.Expression  `hcl:"capabilities,optional"`
	Variables    []*fileVariable `hcl:"variables,block"`
}

type fileVariable struct {
	Paths []*filePath `hcl:"path,block"`
}

type filePath struct {
	Path         string         `hcl:"path,label"`
	Capabilities hcl.Expression `hcl:"capabilities"`
}

// fileNamedRule is a block of a named object: host_volume or node_pool.
type fileNamedRule struct {
	Name         string         `hcl:"name,label"`
	Policy       hcl.Expression `hcl:"policy,optional"`
	Capabilities hcl.Expression `hcl:"capabilities,optional"`
}

type fileCoarse struct {
	Policy hcl.Expression `hcl:"policy"`
}

// Parse reads a policy in HCL (or its JSON form) and validates it. Errors
// name the line of the offending rule.
func Parse(rules string) (*Policy, error) {
	p := hclparse.NewParser()
	var file *hcl.File
	var diags hcl.Diagnostics
	if strings.HasPrefix(strings.TrimSpace(rules), "{") {
		file, diags = p.ParseJSON([]byte(rules), "policy.json")
	} else {
		file, diags = p.ParseHCL([]byte(rules), "policy.hcl")
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("failed to parse ACL policy: %s", diags.Error())
	}
	var fp filePolicy
	if diags := gohcl.DecodeBody(file.Body, nil, &fp); diags.HasErrors() {
		return nil, fmt.Errorf("failed to parse ACL policy: %s", diags.Error())
	}
	out, diags := fp.compile()
	if diags.HasErrors() {
		return nil, fmt.Errorf("invalid ACL policy: %s", diags.Error())
	}
	return out, nil
}

func (fp *filePolicy) compile() (*Policy, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	out := &Policy{}
	for _, ns := range fp.Namespaces {
		rule := &NamespaceRule{Name: ns.Name}
		rule.Policy = policyAttr(ns.Policy, []string{PolicyDeny, PolicyRead, PolicyWrite, PolicyScale}, "namespace "+ns.Name, &diags)
		rule.Capabilities = capabilitiesAttr(ns.Capabilities, namespaceCapabilities, "namespace "+ns.Name, &diags)
		rule.Capabilities = append(rule.Capabilities, expandNamespacePolicy(rule.Policy)...)
		for _, v := range ns.Variables {
			for _, p := range v.Paths {
				caps := capabilitiesAttr(p.Capabilities, variableCapabilities, "variables path "+p.Path, &diags)
				rule.Variables = append(rule.Variables, &VariableRule{Path: p.Path, Capabilities: caps})
			}
		}
		if caps := expandNamespaceVariables(rule.Policy); caps != nil {
			rule.Variables = append(rule.Variables, &VariableRule{Path: "*", Capabilities: caps})
		}
		out.Namespaces = append(out.Namespaces, rule)
	}
	for _, hv := range fp.HostVolumes {
		rule := &HostVolumeRule{Name: hv.Name}
		rule.Policy = policyAttr(hv.Policy, []string{PolicyDeny, PolicyRead, PolicyWrite}, "host_volume "+hv.Name, &diags)
		rule.Capabilities = capabilitiesAttr(hv.Capabilities, hostVolumeCapabilities, "host_volume "+hv.Name, &diags)
		rule.Capabilities = append(rule.Capabilities, expandHostVolumePolicy(rule.Policy)...)
		out.HostVolumes = append(out.HostVolumes, rule)
	}
	for _, np := range fp.NodePools {
		rule := &NodePoolRule{Name: np.Name}
		rule.Policy = policyAttr(np.Policy, []string{PolicyDeny, PolicyRead, PolicyWrite}, "node_pool "+np.Name, &diags)
		rule.Capabilities = capabilitiesAttr(np.Capabilities, nodePoolCapabilities, "node_pool "+np.Name, &diags)
		rule.Capabilities = append(rule.Capabilities, expandNodePoolPolicy(rule.Policy)...)
		out.NodePools = append(out.NodePools, rule)
	}
	coarse := []struct {
		name   string
		blocks []*fileCoarse
		dst    *string
		valid  []string
	}{
		{"node", fp.Node, &out.Node, []string{PolicyDeny, PolicyRead, PolicyWrite}},
		{"agent", fp.Agent, &out.Agent, []string{PolicyDeny, PolicyRead, PolicyWrite}},
		{"operator", fp.Operator, &out.Operator, []string{PolicyDeny, PolicyRead, PolicyWrite}},
		{"quota", fp.Quota, &out.Quota, []string{PolicyDeny, PolicyRead, PolicyWrite}},
		{"plugin", fp.Plugin, &out.Plugin, []string{PolicyDeny, PolicyList, PolicyRead}},
	}
	for _, c := range coarse {
		for _, b := range c.blocks {
			*c.dst = mergeLevel(*c.dst, policyAttr(b.Policy, c.valid, c.name, &diags))
		}
	}
	return out, diags
}

// policyAttr reads a policy attribute, which must be one of valid.
func policyAttr(expr hcl.Expression, valid []string, where string, diags *hcl.Diagnostics) string {
	var s string
	if expr == nil || isNull(expr) {
		return ""
	}
	if d := gohcl.DecodeExpression(expr, nil, &s); d.HasErrors() {
		*diags = append(*diags, d...)
		return ""
	}
	if !slices.Contains(valid, s) {
		r := expr.Range()
		*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagError,
			Summary: fmt.Sprintf("Invalid %s policy %q", where, s),
			Detail:  fmt.Sprintf("policy must be one of %s", strings.Join(valid, ", ")), Subject: &r})
		return ""
	}
	return s
}

// capabilitiesAttr reads a capabilities list, each of which must be one
// of valid.
func capabilitiesAttr(expr hcl.Expression, valid []string, where string, diags *hcl.Diagnostics) []string {
	var caps []string
	if expr == nil || isNull(expr) {
		return nil
	}
	if d := gohcl.DecodeExpression(expr, nil, &caps); d.HasErrors() {
		*diags = append(*diags, d...)
		return nil
	}
	for _, c := range caps {
		if !slices.Contains(valid, c) {
			r := expr.Range()
			*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagError,
				Summary: fmt.Sprintf("Invalid %s capability %q", where, c), Subject: &r})
		}
	}
	return caps
}

// isNull reports an optional attribute that was not set.
func isNull(expr hcl.Expression) bool {
	v, d := expr.Value(nil)
	return !d.HasErrors() && v.IsNull()
}

// levels orders coarse policies; deny is handled apart, as it always wins.
var levels = map[string]int{"": 0, PolicyList: 1, PolicyRead: 2, PolicyWrite: 3}

// mergeLevel combines two coarse policies: deny wins, else the broader.
func mergeLevel(a, b string) string {
	if a == PolicyDeny || b == PolicyDeny {
		return PolicyDeny
	}
	if levels[b] > levels[a] {
		return b
	}
	return a
}
