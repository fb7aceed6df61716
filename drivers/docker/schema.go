package docker

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"
)

// kind is the type a configuration key accepts.
type kind int

const (
	kindString kind = iota
	kindBool
	kindInt
	kindDuration   // a Go duration string ("30s"), decoded to nanoseconds
	kindStringList // a list of strings
	kindStringMap  // string keys to scalar values, as a map or HCL block
	kindBlock      // one nested block: a map, or a list holding one map
	kindBlockList  // repeated nested blocks: a list of maps
)

// field describes one configuration key; block is the schema of a nested
// block for kindBlock and kindBlockList.
type field struct {
	kind  kind
	block schema
}

// schema is a configuration block's keys. Keys absent from the schema are
// rejected, so a typo in a job or agent file fails loudly.
type schema map[string]field

// decode checks in against the schema and decodes it into out, a pointer to
// a struct whose json tags name the schema's keys. Fields of out that in
// does not mention keep their value, which is how defaults are applied.
func (s schema) decode(in map[string]any, out any) error {
	norm, err := s.normalize("", in)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(norm)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode config: %w", err)
	}
	return nil
}

// normalize returns in with every value converted to its canonical JSON
// form, or an error naming the first unknown or mistyped key.
func (s schema) normalize(prefix string, in map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(in))
	for _, key := range sortedKeys(in) {
		name := prefix + key
		f, ok := s[key]
		if !ok {
			return nil, fmt.Errorf("unknown key %q", name)
		}
		v, err := f.normalize(name, in[key])
		if err != nil {
			return nil, err
		}
		out[key] = v
	}
	return out, nil
}

func (f field) normalize(name string, v any) (any, error) {
	switch f.kind {
	case kindString:
		return asString(name, v)
	case kindBool:
		return asBool(name, v)
	case kindInt:
		return asInt(name, v)
	case kindDuration:
		return asDuration(name, v)
	case kindStringList:
		return asStringList(name, v)
	case kindStringMap:
		return asStringMap(name, v)
	case kindBlock:
		return asBlock(name, v, f.block)
	case kindBlockList:
		return asBlockList(name, v, f.block)
	}
	return nil, fmt.Errorf("key %q: unsupported schema kind %d", name, f.kind)
}

func typeError(name, want string, v any) error {
	return fmt.Errorf("key %q: want %s, got %T", name, want, v)
}

func asString(name string, v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool, int, int64, float64:
		return fmt.Sprint(x), nil
	}
	return "", typeError(name, "a string", v)
}

func asBool(name string, v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		if b, err := strconv.ParseBool(x); err == nil {
			return b, nil
		}
	}
	return false, typeError(name, "a bool", v)
}

func asInt(name string, v any) (int64, error) {
	switch x := v.(type) {
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), nil
		}
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n, nil
		}
	case string:
		if n, err := strconv.ParseInt(x, 10, 64); err == nil {
			return n, nil
		}
	}
	return 0, typeError(name, "an integer", v)
}

func asDuration(name string, v any) (int64, error) {
	s, ok := v.(string)
	if !ok {
		return 0, typeError(name, `a duration string such as "30s"`, v)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("key %q: %w", name, err)
	}
	return int64(d), nil
}

func asStringList(name string, v any) ([]string, error) {
	switch x := v.(type) {
	case []string:
		return x, nil
	case []any:
		out := make([]string, 0, len(x))
		for i, e := range x {
			s, err := asString(fmt.Sprintf("%s[%d]", name, i), e)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, typeError(name, "a list of strings", v)
}

// asStringMap accepts `labels = { a = "b" }` and the block form
// `labels { a = "b" }`, which JSON job files carry as a list of maps.
func asStringMap(name string, v any) (map[string]string, error) {
	maps := blockMaps(v)
	if maps == nil {
		return nil, typeError(name, "a map of strings", v)
	}
	out := map[string]string{}
	for _, m := range maps {
		for k, e := range m {
			s, err := asString(name+"."+k, e)
			if err != nil {
				return nil, err
			}
			out[k] = s
		}
	}
	return out, nil
}

func asBlock(name string, v any, s schema) (map[string]any, error) {
	maps := blockMaps(v)
	if maps == nil || len(maps) > 1 {
		return nil, typeError(name, "one block", v)
	}
	if len(maps) == 0 {
		return map[string]any{}, nil
	}
	return s.normalize(name+".", maps[0])
}

func asBlockList(name string, v any, s schema) ([]map[string]any, error) {
	maps := blockMaps(v)
	if maps == nil {
		return nil, typeError(name, "a list of blocks", v)
	}
	out := make([]map[string]any, 0, len(maps))
	for i, m := range maps {
		n, err := s.normalize(fmt.Sprintf("%s[%d].", name, i), m)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// blockMaps returns v as a list of maps, or nil when v is neither a map nor
// a list of maps.
func blockMaps(v any) []map[string]any {
	switch x := v.(type) {
	case map[string]any:
		return []map[string]any{x}
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = e
		}
		return []map[string]any{m}
	case []map[string]any:
		return x
	case []any:
		out := make([]map[string]any, 0, len(x))
		for _, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				return nil
			}
			out = append(out, m)
		}
		return out
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
