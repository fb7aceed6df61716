package taskenv

import (
	"regexp"
	"strings"
)

var reference = regexp.MustCompile(`\$\{([^{}]+)\}`)

// Replace substitutes ${NAME} references with the task's environment
// variables, ${attr.X} with node attributes, ${meta.X} with node meta and
// ${node.unique.id}, ${node.unique.name}, ${node.datacenter},
// ${node.class}, ${node.region} and ${node.pool}. ${env.NAME} is accepted
// for variables too. Unknown references are left as written, as in Nomad.
func (e *Env) Replace(s string) string {
	return reference.ReplaceAllStringFunc(s, func(m string) string {
		key := strings.TrimSpace(m[2 : len(m)-1])
		if v, ok := e.lookup(key); ok {
			return v
		}
		return m
	})
}

func (e *Env) lookup(key string) (string, bool) {
	if v, ok := e.vars[key]; ok {
		return v, true
	}
	if name, ok := strings.CutPrefix(key, "env."); ok {
		v, ok := e.vars[name]
		return v, ok
	}
	n := e.node
	if n == nil {
		return "", false
	}
	if attr, ok := strings.CutPrefix(key, "attr."); ok {
		v, ok := n.Attributes[attr]
		return v, ok
	}
	if meta, ok := strings.CutPrefix(key, "meta."); ok {
		v, ok := n.Meta[meta]
		return v, ok
	}
	switch key {
	case "node.unique.id":
		return n.ID, true
	case "node.unique.name":
		return n.Name, true
	case "node.datacenter":
		return n.Datacenter, true
	case "node.class":
		return n.NodeClass, true
	case "node.pool":
		return n.NodePool, true
	case "node.region":
		return e.in.Region, true
	}
	return "", false
}

// ReplaceConfig returns a copy of a driver config block with every string,
// at any depth, interpolated.
func (e *Env) ReplaceConfig(config map[string]any) map[string]any {
	out := make(map[string]any, len(config))
	for k, v := range config {
		out[k] = e.replaceValue(v)
	}
	return out
}

func (e *Env) replaceValue(v any) any {
	switch t := v.(type) {
	case string:
		return e.Replace(t)
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = e.replaceValue(x)
		}
		return out
	case []string:
		out := make([]string, len(t))
		for i, x := range t {
			out[i] = e.Replace(x)
		}
		return out
	case map[string]any:
		return e.ReplaceConfig(t)
	case []map[string]any:
		out := make([]map[string]any, len(t))
		for i, x := range t {
			out[i] = e.ReplaceConfig(x)
		}
		return out
	default:
		return v
	}
}
