package template

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// ParseEnv parses the output of an `env = true` template: KEY=VALUE
// lines, with blank lines and `#` comments skipped, an optional `export `
// prefix, and values optionally wrapped in matching single or double
// quotes.
func ParseEnv(content []byte) (map[string]string, error) {
	out := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(content))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		key, val, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" || strings.ContainsAny(key, " \t") {
			return nil, fmt.Errorf("env line %d: want KEY=VALUE, got %q", n, line)
		}
		out[key] = unquote(strings.TrimSpace(val))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read env template: %w", err)
	}
	return out, nil
}

// unquote strips one pair of matching surrounding quotes.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}
