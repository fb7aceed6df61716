package jobspec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/nomad/api"
	"sigs.k8s.io/yaml"
)

// parseJSON decodes API JSON: {"Job": {...}} as the HTTP API takes it, or
// the bare job object.
func parseJSON(filename string, src []byte) (*api.Job, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(src, &probe); err != nil {
		return nil, jsonError(filename, src, err)
	}
	wrapped := false
	for k := range probe {
		if k == "Job" || k == "job" {
			wrapped = true
		}
	}
	if !wrapped {
		job := &api.Job{}
		if err := json.Unmarshal(src, job); err != nil {
			return nil, jsonError(filename, src, err)
		}
		return job, nil
	}
	var req struct{ Job *api.Job }
	if err := json.Unmarshal(src, &req); err != nil {
		return nil, jsonError(filename, src, err)
	}
	if req.Job == nil {
		return nil, fmt.Errorf("%s: the \"Job\" key holds no job", filename)
	}
	return req.Job, nil
}

// jsonError places a JSON decoding error at its line and column.
func jsonError(filename string, src []byte, err error) error {
	var offset int64 = -1
	summary := "Invalid JSON"
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		offset = syntaxErr.Offset
	case errors.As(err, &typeErr):
		offset, summary = typeErr.Offset, "Incorrect value type"
	}
	// The offset counts the bytes read, the offending one included.
	offset--
	if offset < 0 || offset >= int64(len(src)) {
		return fmt.Errorf("%s: %w", filename, err)
	}
	pos := offsetPos(src, int(offset))
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   err.Error(),
		Subject:  &hcl.Range{Filename: filename, Start: pos, End: pos},
	}}
}

// offsetPos converts a byte offset into a line and column.
func offsetPos(src []byte, offset int) hcl.Pos {
	before := src[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := offset - bytes.LastIndexByte(before, '\n')
	return hcl.Pos{Line: line, Column: col, Byte: offset}
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// parseYAML decodes the API structure written in YAML.
func parseYAML(filename string, src []byte) (*api.Job, error) {
	js, err := yaml.YAMLToJSON(src)
	if err != nil {
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			pos := hcl.Pos{Line: line, Column: 1}
			return nil, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Invalid YAML",
				Detail:   err.Error(),
				Subject:  &hcl.Range{Filename: filename, Start: pos, End: pos},
			}}
		}
		return nil, fmt.Errorf("%s: invalid YAML: %w", filename, err)
	}
	job, err := parseJSON(filename, js)
	if err != nil {
		var diags hcl.Diagnostics
		if errors.As(err, &diags) {
			// Positions refer to the converted JSON, not the YAML source.
			return nil, fmt.Errorf("%s: %s", filename, diags[0].Detail)
		}
		return nil, err
	}
	return job, nil
}
