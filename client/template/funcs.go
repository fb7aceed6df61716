package template

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/Masterminds/sprig/v3"
	socktmpl "github.com/hashicorp/go-sockaddr/template"
)

// DefaultFunctionDenylist is the client's function_denylist when its
// template block sets none, as Nomad's.
var DefaultFunctionDenylist = []string{"plugin", "writeToFile"}

// funcs returns the template functions that need no lookup: `env` over
// the task environment, `file`, `sockaddr`, consul-template's helpers and
// sprig's functions under the `sprig_` prefix; the denied ones answer
// with an error.
func (r *Renderer) funcs() template.FuncMap {
	fm := template.FuncMap{}
	for name, fn := range sprigFuncs() {
		fm[name] = fn
	}
	for name, fn := range helperFuncs(r.Env) {
		fm[name] = fn
	}
	fm["file"] = r.readFile
	fm["sockaddr"] = sockaddr
	deny := r.Denylist
	if deny == nil {
		deny = DefaultFunctionDenylist
	}
	for _, name := range deny {
		fm[name] = deniedFunc(name)
	}
	return fm
}

// sockaddr evaluates a go-sockaddr template expression, such as
// `sockaddr "GetPrivateIP"`.
func sockaddr(args ...string) (string, error) {
	out, err := socktmpl.Parse("{{ " + strings.Join(args, " ") + " }}")
	if err != nil {
		return "", fmt.Errorf("sockaddr: %w", err)
	}
	return out, nil
}

// sprigFuncs are sprig's functions under the sprig_ prefix, built once.
var sprigFuncs = sync.OnceValue(func() template.FuncMap {
	fm := template.FuncMap{}
	for name, fn := range sprig.TxtFuncMap() {
		fm["sprig_"+name] = fn
	}
	return fm
})

// deniedFunc stands in for a function the client's function_denylist
// names.
func deniedFunc(name string) func(...any) (string, error) {
	return func(...any) (string, error) {
		return "", fmt.Errorf("function %q is denied by the client's template function_denylist", name)
	}
}

// readFile is `file`: a file's contents; unless the file sandbox is
// disabled, only files inside the allocation directory.
func (r *Renderer) readFile(path string) (string, error) {
	p := path
	if !r.DisableFileSandbox {
		var err error
		if p, err = r.resolve(path, "file"); err != nil {
			return "", err
		}
		if err := r.checkLinks(p, "file"); err != nil {
			return "", err
		}
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("file: %w", err)
	}
	return string(b), nil
}

// helperFuncs are consul-template's helpers over the task environment.
func helperFuncs(env map[string]string) template.FuncMap {
	return template.FuncMap{
		"env":          func(name string) string { return env[name] },
		"toLower":      strings.ToLower,
		"toUpper":      strings.ToUpper,
		"trimSpace":    strings.TrimSpace,
		"split":        func(sep, s string) []string { return strings.Split(s, sep) },
		"join":         func(sep string, parts []string) string { return strings.Join(parts, sep) },
		"replaceAll":   func(old, repl, s string) string { return strings.ReplaceAll(s, old, repl) },
		"contains":     func(sub, s string) bool { return strings.Contains(s, sub) },
		"parseInt":     func(s string) (int64, error) { return strconv.ParseInt(strings.TrimSpace(s), 10, 64) },
		"parseFloat":   func(s string) (float64, error) { return strconv.ParseFloat(strings.TrimSpace(s), 64) },
		"parseBool":    func(s string) (bool, error) { return strconv.ParseBool(strings.TrimSpace(s)) },
		"parseJSON":    parseJSON,
		"toJSON":       toJSON,
		"timestamp":    timestamp,
		"base64Encode": func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
		"base64Decode": base64Decode,
		"default":      defaultValue,
	}
}

func parseJSON(s string) (any, error) {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("parseJSON: %w", err)
	}
	return v, nil
}

func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("toJSON: %w", err)
	}
	return string(b), nil
}

func base64Decode(s string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("base64Decode: %w", err)
	}
	return string(b), nil
}

// timestamp formats the current UTC time: RFC 3339 by default, the given
// Go layout otherwise, or seconds since the epoch for "unix".
func timestamp(layout ...string) (string, error) {
	now := time.Now().UTC()
	switch len(layout) {
	case 0:
		return now.Format(time.RFC3339), nil
	case 1:
		if layout[0] == "unix" {
			return strconv.FormatInt(now.Unix(), 10), nil
		}
		return now.Format(layout[0]), nil
	}
	return "", fmt.Errorf("timestamp: want at most one layout, got %d", len(layout))
}

// defaultValue returns def when v is empty (nil, zero, or an empty
// string, slice or map), as sprig's `default` does: `{{ x | default "y" }}`.
func defaultValue(def any, v ...any) any {
	if len(v) == 0 || v[0] == nil {
		return def
	}
	rv := reflect.ValueOf(v[0])
	switch rv.Kind() {
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		if rv.Len() == 0 {
			return def
		}
	default:
		if rv.IsZero() {
			return def
		}
	}
	return v[0]
}
