package structs

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// AllNamespaces is the wildcard that list endpoints accept to list the
// objects of every namespace.
const AllNamespaces = "*"

// maxNamespaceDescription bounds a namespace's description, as in Nomad.
const maxNamespaceDescription = 256

// validNamespaceName is Nomad's rule for namespace names.
var validNamespaceName = regexp.MustCompile(`^[a-zA-Z0-9-]{1,128}$`)

// ValidateNamespace checks a namespace a user wants to create or update:
// its name is 1 to 128 letters, digits and dashes, as in Nomad, and its
// description at most 256 characters.
func ValidateNamespace(ns *api.Namespace) error {
	if ns == nil {
		return fmt.Errorf("missing namespace")
	}
	if !validNamespaceName.MatchString(ns.Name) {
		return fmt.Errorf("invalid name %q. Must match regex %s", ns.Name, validNamespaceName)
	}
	if len(ns.Description) > maxNamespaceDescription {
		return fmt.Errorf("namespace %q: description longer than %d characters", ns.Name, maxNamespaceDescription)
	}
	return nil
}

// DefaultNamespaceObject is the namespace every cluster starts with; it
// cannot be deleted.
func DefaultNamespaceObject() *api.Namespace {
	return &api.Namespace{Name: DefaultNamespace, Description: "Default shared namespace", CreateIndex: 1, ModifyIndex: 1}
}

// NamespaceUpsertRequest is the Raft entry that creates or updates
// namespaces.
type NamespaceUpsertRequest struct {
	Namespaces []*api.Namespace
}

// NamespaceDeleteRequest is the Raft entry that deletes namespaces; it
// fails, changing nothing, when one of them still holds work.
type NamespaceDeleteRequest struct {
	Names []string
}

// CheckNamespaceCapabilities refuses a job that a namespace's
// capabilities and node pool configuration do not allow: a task driver or
// group network mode outside the enabled lists (when they are set) or in
// the disabled ones, or a node pool that is neither the namespace's default
// nor in Allowed (when Allowed is set), or is in Denied. Node pool patterns
// may use "*" wildcards, as in Nomad.
func CheckNamespaceCapabilities(ns *api.Namespace, job *api.Job) error {
	if caps := ns.Capabilities; caps != nil {
		for _, tg := range job.TaskGroups {
			for _, t := range tg.Tasks {
				if !allowedBy(t.Driver, caps.EnabledTaskDrivers, caps.DisabledTaskDrivers) {
					return fmt.Errorf("used task driver %q is not allowed in namespace %q", t.Driver, ns.Name)
				}
			}
			for _, n := range tg.Networks {
				mode := n.Mode
				if mode == "" {
					mode = "host"
				}
				if !allowedBy(mode, caps.EnabledNetworkModes, caps.DisabledNetworkModes) {
					return fmt.Errorf("used group network mode %q is not allowed in namespace %q", mode, ns.Name)
				}
			}
		}
	}
	if pools := ns.NodePoolConfiguration; pools != nil && job.NodePool != nil {
		pool, def := *job.NodePool, pools.Default
		if def == "" {
			def = "default"
		}
		// A nil Allowed allows every pool; an empty one only the default.
		if (pools.Allowed != nil && pool != def && !matchesAny(pools.Allowed, pool, true)) || matchesAny(pools.Denied, pool, true) {
			return fmt.Errorf("namespace %q does not allow jobs to use node pool %q", ns.Name, pool)
		}
	}
	return nil
}

// allowedBy reports whether v is in enabled (when enabled is not empty) and
// not in disabled.
func allowedBy(v string, enabled, disabled []string) bool {
	if len(enabled) > 0 && !matchesAny(enabled, v, false) {
		return false
	}
	return !matchesAny(disabled, v, false)
}

// matchesAny reports whether v is one of list; with globs, entries may
// hold "*" wildcards.
func matchesAny(list []string, v string, globs bool) bool {
	for _, p := range list {
		if p == v || (globs && globMatch(p, v)) {
			return true
		}
	}
	return false
}

// globMatch matches v against a pattern in which "*" stands for any run of
// characters.
func globMatch(pattern, v string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == v
	}
	if !strings.HasPrefix(v, parts[0]) {
		return false
	}
	v = v[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(v, p)
		if i < 0 {
			return false
		}
		v = v[i+len(p):]
	}
	return strings.HasSuffix(v, parts[len(parts)-1])
}
