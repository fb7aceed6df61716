package agent

import "reflect"

// Merge returns a new Config: c with other's settings laid over it, the
// way Nomad merges configuration files. A setting of other wins where it
// is not empty ("", 0, false, nil or an empty list), so a boolean can be
// turned on but never off. Maps are merged key by key, other's keys
// winning; lists are replaced; Plugins are replaced whole by name; Files
// are appended. Neither c nor other is modified.
func (c *Config) Merge(other *Config) *Config {
	out := &Config{}
	dst := reflect.ValueOf(out).Elem()
	for _, src := range []*Config{c, other} {
		if src != nil {
			overlay(dst, reflect.ValueOf(src).Elem())
		}
	}
	out.Files = nil
	if c != nil {
		out.Files = append(out.Files, c.Files...)
	}
	if other != nil {
		out.Files = append(out.Files, other.Files...)
	}
	return out
}

// mergeServerJoin merges two server_join settings under Merge's rules.
func mergeServerJoin(base, other *ServerJoin) *ServerJoin {
	if base == nil && other == nil {
		return nil
	}
	out := &ServerJoin{}
	for _, src := range []*ServerJoin{base, other} {
		if src != nil {
			overlay(reflect.ValueOf(out).Elem(), reflect.ValueOf(src).Elem())
		}
	}
	return out
}

// overlay writes src's non-empty values into dst, deep-copying maps,
// lists, pointers and interface values so dst shares no memory with src.
func overlay(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Struct:
		for i := range src.NumField() {
			overlay(dst.Field(i), src.Field(i))
		}
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		if dst.IsNil() {
			dst.Set(reflect.New(src.Type().Elem()))
		}
		overlay(dst.Elem(), src.Elem())
	case reflect.Map:
		if src.Len() == 0 {
			return
		}
		if dst.IsNil() {
			dst.Set(reflect.MakeMapWithSize(src.Type(), src.Len()))
		}
		iter := src.MapRange()
		for iter.Next() {
			dst.SetMapIndex(iter.Key(), deepCopy(iter.Value()))
		}
	case reflect.Slice:
		if src.Len() == 0 {
			return
		}
		dst.Set(deepCopy(src))
	case reflect.Interface:
		if !src.IsNil() {
			dst.Set(deepCopy(src.Elem()))
		}
	default:
		if !src.IsZero() {
			dst.Set(src)
		}
	}
}

// deepCopy returns a copy of v that shares no maps, lists or pointers
// with it.
func deepCopy(v reflect.Value) reflect.Value {
	if v.Kind() == reflect.Slice {
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(deepCopy(v.Index(i)))
		}
		return out
	}
	if v.Kind() == reflect.Map {
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		iter := v.MapRange()
		for iter.Next() {
			out.SetMapIndex(iter.Key(), deepCopy(iter.Value()))
		}
		return out
	}
	out := reflect.New(v.Type()).Elem()
	overlay(out, v)
	return out
}
