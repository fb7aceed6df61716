package isolation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// DecodeConfig decodes a driver's task or plugin config (generic values as
// decoded from HCL or JSON) into out, a pointer to a struct whose json tags
// name the keys. An unknown key or a value of the wrong type is an error
// that names the key.
func DecodeConfig(config map[string]any, out any) error {
	data, err := json.Marshal(config)
	if err != nil {
		return fmt.Errorf("config is not plain data: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err = dec.Decode(out)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &typeErr):
		return fmt.Errorf("config key %q: expected %s, got %s", typeErr.Field, typeName(typeErr.Type.String()), typeErr.Value)
	case strings.Contains(err.Error(), "unknown field "):
		_, key, _ := strings.Cut(err.Error(), "unknown field ")
		return fmt.Errorf("config key %s is not a valid option", key)
	default:
		return fmt.Errorf("decode config: %w", err)
	}
}

// typeName spells a Go type as a config author would read it.
func typeName(goType string) string {
	switch {
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "a bool"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"), strings.HasPrefix(goType, "float"):
		return "a number"
	case strings.HasPrefix(goType, "[]"):
		return "a list of " + strings.TrimPrefix(typeName(goType[2:]), "a ") + "s"
	case strings.HasPrefix(goType, "map["):
		return "a map"
	default:
		return goType
	}
}
