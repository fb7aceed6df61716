package jobspec

import (
	"fmt"
	"math"
	"math/big"
	"reflect"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

var durationType = reflect.TypeOf(time.Duration(0))

// valueError builds the diagnostic for a value that does not fit its field.
func valueError(name string, rng hcl.Range, detail string) hcl.Diagnostics {
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Incorrect attribute value type",
		Detail:   fmt.Sprintf("Inappropriate value for attribute %q: %s.", name, detail),
		Subject:  rng.Ptr(),
	}}
}

// setValue converts val to the Go type of field and stores it. Null values
// leave the field unset, as an omitted attribute would.
func setValue(field reflect.Value, val cty.Value, name string, rng hcl.Range) hcl.Diagnostics {
	val, _ = val.UnmarkDeep()
	if val.IsNull() {
		return nil
	}
	if !val.IsWhollyKnown() {
		return valueError(name, rng, "value is not known at parse time")
	}
	ft := field.Type()
	switch {
	case ft.Kind() == reflect.Pointer:
		elem := reflect.New(ft.Elem())
		diags := setValue(elem.Elem(), val, name, rng)
		if !diags.HasErrors() {
			field.Set(elem)
		}
		return diags
	case ft == durationType:
		d, err := toDuration(val)
		if err != nil {
			return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid duration", Detail: fmt.Sprintf("Invalid value for %q: %s.", name, err), Subject: rng.Ptr()}}
		}
		field.SetInt(int64(d))
		return nil
	case ft.Kind() == reflect.Interface:
		if v := ctyToGo(val); v != nil {
			field.Set(reflect.ValueOf(v))
		}
		return nil
	}
	return setPlain(field, val, name, rng)
}

// setPlain handles scalars, slices and maps.
func setPlain(field reflect.Value, val cty.Value, name string, rng hcl.Range) hcl.Diagnostics {
	ft := field.Type()
	switch ft.Kind() {
	case reflect.String:
		s, err := convert.Convert(val, cty.String)
		if err != nil {
			return valueError(name, rng, "string required")
		}
		field.SetString(s.AsString())
	case reflect.Bool:
		b, err := convert.Convert(val, cty.Bool)
		if err != nil {
			return valueError(name, rng, "bool required")
		}
		field.SetBool(b.True())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return setInteger(field, val, name, rng)
	case reflect.Float32, reflect.Float64:
		n, err := convert.Convert(val, cty.Number)
		if err != nil {
			return valueError(name, rng, "number required")
		}
		f, _ := n.AsBigFloat().Float64()
		field.SetFloat(f)
	case reflect.Slice:
		return setSlice(field, val, name, rng)
	case reflect.Map:
		return setMap(field, val, name, rng)
	default:
		return valueError(name, rng, "unsupported field type "+ft.String())
	}
	return nil
}

// setInteger stores a whole number, checking that it fits the field.
func setInteger(field reflect.Value, val cty.Value, name string, rng hcl.Range) hcl.Diagnostics {
	n, err := convert.Convert(val, cty.Number)
	if err != nil {
		return valueError(name, rng, "number required")
	}
	bf := n.AsBigFloat()
	if !bf.IsInt() {
		return valueError(name, rng, "a whole number is required")
	}
	i, acc := bf.Int64()
	if acc != big.Exact {
		return valueError(name, rng, "number is out of range")
	}
	switch field.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if i < 0 || field.OverflowUint(uint64(i)) {
			return valueError(name, rng, fmt.Sprintf("value %d is out of range", i))
		}
		field.SetUint(uint64(i))
	default:
		if field.OverflowInt(i) {
			return valueError(name, rng, fmt.Sprintf("value %d is out of range", i))
		}
		field.SetInt(i)
	}
	return nil
}

// setSlice stores a list, tuple or set element by element.
func setSlice(field reflect.Value, val cty.Value, name string, rng hcl.Range) hcl.Diagnostics {
	ty := val.Type()
	if !ty.IsListType() && !ty.IsTupleType() && !ty.IsSetType() {
		return valueError(name, rng, "list required")
	}
	out := reflect.MakeSlice(field.Type(), 0, val.LengthInt())
	for it := val.ElementIterator(); it.Next(); {
		_, ev := it.Element()
		elem := reflect.New(field.Type().Elem()).Elem()
		if diags := setValue(elem, ev, name, rng); diags.HasErrors() {
			return diags
		}
		out = reflect.Append(out, elem)
	}
	field.Set(out)
	return nil
}

// setMap merges an object or map value into a map field.
func setMap(field reflect.Value, val cty.Value, name string, rng hcl.Range) hcl.Diagnostics {
	ty := val.Type()
	if !ty.IsObjectType() && !ty.IsMapType() {
		return valueError(name, rng, "map required")
	}
	if field.IsNil() {
		field.Set(reflect.MakeMap(field.Type()))
	}
	for it := val.ElementIterator(); it.Next(); {
		k, ev := it.Element()
		elem := reflect.New(field.Type().Elem()).Elem()
		if diags := setValue(elem, ev, name+"."+k.AsString(), rng); diags.HasErrors() {
			return diags
		}
		field.SetMapIndex(reflect.ValueOf(k.AsString()).Convert(field.Type().Key()), elem)
	}
	return nil
}

// toDuration reads a duration written as a string ("30s", "1h") or as a
// number of nanoseconds, as the JSON API carries it.
func toDuration(val cty.Value) (time.Duration, error) {
	switch val.Type() {
	case cty.String:
		return time.ParseDuration(val.AsString())
	case cty.Number:
		f, _ := val.AsBigFloat().Float64()
		if f > math.MaxInt64 || f < math.MinInt64 {
			return 0, fmt.Errorf("duration %v is out of range", f)
		}
		return time.Duration(f), nil
	}
	return 0, fmt.Errorf("a duration string such as \"30s\" is required, got %s", val.Type().FriendlyName())
}

// ctyToGo converts a known value to the plain Go values JSON would decode
// to, except that whole numbers become int.
func ctyToGo(val cty.Value) any {
	if val.IsNull() {
		return nil
	}
	ty := val.Type()
	switch {
	case ty == cty.String:
		return val.AsString()
	case ty == cty.Bool:
		return val.True()
	case ty == cty.Number:
		bf := val.AsBigFloat()
		if i, acc := bf.Int64(); acc == big.Exact && i >= math.MinInt && i <= math.MaxInt {
			return int(i)
		}
		f, _ := bf.Float64()
		return f
	case ty.IsListType() || ty.IsTupleType() || ty.IsSetType():
		out := make([]any, 0, val.LengthInt())
		for it := val.ElementIterator(); it.Next(); {
			_, ev := it.Element()
			out = append(out, ctyToGo(ev))
		}
		return out
	case ty.IsMapType() || ty.IsObjectType():
		out := make(map[string]any, val.LengthInt())
		for it := val.ElementIterator(); it.Next(); {
			k, ev := it.Element()
			out[k.AsString()] = ctyToGo(ev)
		}
		return out
	}
	return nil
}
