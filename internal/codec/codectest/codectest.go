// Package codectest checks that values survive the msgpack encoding of
// internal/codec as they survive JSON, for the round-trip tests of the
// packages whose messages it carries.
package codectest

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roam-project/roam/internal/codec"
)

// Mode says how Fill fills a value.
type Mode int

const (
	// Full sets every exported field, element and entry to a non-zero
	// value.
	Full Mode = iota
	// Empty sets every pointer to a zero value and every slice and map
	// to an empty, non-nil one, which JSON tells from nil.
	Empty
)

// Fill sets the value v points to as mode says, following pointers into
// a type at most twice (so recursive types end).
func Fill(v any, mode Mode) {
	f := filler{mode: mode, depth: map[reflect.Type]int{}}
	f.fill(reflect.ValueOf(v).Elem(), "v")
}

type filler struct {
	mode  Mode
	depth map[reflect.Type]int
}

var (
	timeType    = reflect.TypeOf(time.Time{})
	rawType     = reflect.TypeOf(json.RawMessage(nil))
	anyType     = reflect.TypeOf((*any)(nil)).Elem()
	fixedOffset = time.FixedZone("", 2*3600)
)

// dynamic is what Fill puts in an interface{}: what a JSON decoder makes
// of a document, with an int64 as the job file parser makes.
func dynamic() any {
	return map[string]any{
		"s": "str", "f": 1.5, "i": int64(8080), "b": true, "nil": nil,
		"list": []any{"a", 2.0, map[string]any{"k": "v"}},
		"map":  map[string]any{"nested": []any{}},
	}
}

func (f *filler) fill(v reflect.Value, name string) {
	t := v.Type()
	switch {
	case t == timeType:
		v.Set(reflect.ValueOf(time.Date(2026, 3, 4, 5, 6, 7, 890, fixedOffset)))
		return
	case t == rawType:
		v.SetBytes([]byte(`{"raw":[1,"two"]}`))
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if !sf.IsExported() || strings.HasPrefix(sf.Tag.Get("json"), "-") {
				continue
			}
			f.fill(v.Field(i), sf.Name)
		}
	case reflect.Pointer:
		if f.depth[t] >= 2 {
			return
		}
		f.depth[t]++
		p := reflect.New(t.Elem())
		if f.mode == Full || t.Elem().Kind() == reflect.Struct {
			f.fill(p.Elem(), name)
		}
		f.depth[t]--
		v.Set(p)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte("bytes of " + name))
			if f.mode == Empty {
				v.SetBytes([]byte{})
			}
			return
		}
		s := reflect.MakeSlice(t, 0, 1)
		if f.mode == Full && f.depth[t] < 2 {
			f.depth[t]++
			e := reflect.New(t.Elem()).Elem()
			f.fill(e, name)
			s = reflect.Append(s, e)
			f.depth[t]--
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(t)
		if f.mode == Full && f.depth[t] < 2 {
			f.depth[t]++
			k, e := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
			f.fill(k, name+"-key")
			f.fill(e, name)
			m.SetMapIndex(k, e)
			f.depth[t]--
		}
		v.Set(m)
	case reflect.Interface:
		if t == anyType && f.mode == Full {
			v.Set(reflect.ValueOf(dynamic()))
		}
	case reflect.String:
		v.SetString(name + "-value")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(-7)
		if t == reflect.TypeOf(time.Duration(0)) {
			v.SetInt(int64(90 * time.Second))
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(2.25)
	}
}

// RoundTrip encodes in (a pointer) with codec and decodes it into a new
// value of its type, and does the same with JSON. It fails t unless the
// two copies are equal (but for numbers in interface{} values, which JSON
// makes float64 and msgpack keeps as they were) and show the same through
// JSON (what the HTTP API serves).
func RoundTrip(t *testing.T, in any) {
	t.Helper()
	typ := reflect.TypeOf(in).Elem()
	data, err := codec.Marshal(in)
	if err != nil {
		t.Fatalf("msgpack encode %v: %v", typ, err)
	}
	viaMsgpack := reflect.New(typ).Interface()
	if err := codec.Unmarshal(data, viaMsgpack); err != nil {
		t.Fatalf("msgpack decode %v: %v", typ, err)
	}
	jsonData, err := json.Marshal(in)
	if err != nil {
		t.Fatalf("json encode %v: %v", typ, err)
	}
	viaJSON := reflect.New(typ).Interface()
	if err := json.Unmarshal(jsonData, viaJSON); err != nil {
		t.Fatalf("json decode %v: %v", typ, err)
	}
	opts := cmp.Options{
		cmp.Exporter(func(reflect.Type) bool { return true }),
		cmp.FilterValues(func(x, y any) bool { return isNumber(x) && isNumber(y) }, cmp.Comparer(func(x, y any) bool { return asFloat(x) == asFloat(y) })),
	}
	if diff := cmp.Diff(viaJSON, viaMsgpack, opts); diff != "" {
		t.Errorf("%v decodes differently from msgpack than from JSON (-json +msgpack):\n%s", typ, diff)
	}
	shownJSON, _ := json.Marshal(viaJSON)
	shownMsgpack, err := json.Marshal(viaMsgpack)
	if err != nil {
		t.Fatalf("json encode %v decoded from msgpack: %v", typ, err)
	}
	if string(shownJSON) != string(shownMsgpack) {
		t.Errorf("%v shows differently after msgpack than after JSON:\njson:    %s\nmsgpack: %s", typ, shownJSON, shownMsgpack)
	}
}

func isNumber(v any) bool {
	switch v.(type) {
	case int64, float64:
		return true
	}
	return false
}

func asFloat(v any) float64 {
	if i, ok := v.(int64); ok {
		return float64(i)
	}
	return v.(float64)
}
