package template

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// lookupKind is what a template looks up.
type lookupKind int

const (
	lookupVar lookupKind = iota
	lookupVarList
	lookupService
	lookupServices
)

// lookup is one dependency of a template: a variable, a variable prefix,
// a service or the namespace's services. It is comparable, so a watcher
// keys its entries by it.
type lookup struct {
	kind      lookupKind
	namespace string
	// key is the variable's path, the prefix, or the service's name.
	key string
}

// String names the lookup as task events show it, after consul-template's
// dependency names.
func (l lookup) String() string {
	switch l.kind {
	case lookupVar:
		return fmt.Sprintf("nomad.var.block(%s@%s)", l.key, l.namespace)
	case lookupVarList:
		return fmt.Sprintf("nomad.var.list(%s@%s)", l.key, l.namespace)
	case lookupService:
		return fmt.Sprintf("nomad.service(%s@%s)", l.key, l.namespace)
	}
	return fmt.Sprintf("nomad.services(@%s)", l.namespace)
}

// VarItem is one item of a variable, as nomadVar returns it: it prints as
// its value.
type VarItem struct {
	Key, Value string
}

// String is the item's value.
func (i VarItem) String() string { return i.Value }

// VarItems is what nomadVar returns: a variable's items by key, so that
// `{{ .password }}` and `{{ range $k, $v := ... }}` work.
type VarItems map[string]VarItem

// Keys are the item keys, sorted.
func (v VarItems) Keys() []string {
	out := make([]string, 0, len(v))
	for k := range v {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Values are the item values, in key order.
func (v VarItems) Values() []string {
	var out []string
	for _, k := range v.Keys() {
		out = append(out, v[k].Value)
	}
	return out
}

// Tuples are the items in key order.
func (v VarItems) Tuples() []VarItem {
	var out []VarItem
	for _, k := range v.Keys() {
		out = append(out, v[k])
	}
	return out
}

// Service is one instance of a service, as nomadService returns it.
type Service struct {
	ID, Name, Namespace, NodeID, Datacenter, JobID, AllocID string
	Tags                                                    []string
	Address                                                 string
	Port                                                    int
}

// ServiceSummary is one service, as nomadServices lists it: its name and
// the union of its instances' tags.
type ServiceSummary struct {
	Name string
	Tags []string
}

// serviceQuery is `[tag.]name[@region]`, as consul-template parses it.
var serviceQuery = regexp.MustCompile(`^(?:([[:word:]=:.\-]+)\.)?([[:word:]\-]+)(?:@([[:word:].\-]+))?$`)

// parseServiceQuery splits a nomadService query into tag and name.
func parseServiceQuery(q, region string) (tag, name string, err error) {
	m := serviceQuery.FindStringSubmatch(strings.TrimSpace(q))
	if m == nil {
		return "", "", fmt.Errorf("nomadService: invalid query %q: want \"[tag.]name[@region]\"", q)
	}
	if m[3] != "" && region != "" && m[3] != region {
		return "", "", fmt.Errorf("nomadService: %q: region %q is not this client's (%q)", q, m[3], region)
	}
	return m[1], m[2], nil
}

// splitNamespace splits `path@namespace`; the namespace defaults to def.
func splitNamespace(s, def string) (string, string) {
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, def
}
