package jobspec

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// CheckNulls reports the null entries of a job's lists and maps of
// objects (`"TaskGroups":[null]`, `"Tasks":[null]`, `"Constraints":[null]`,
// ...), which decode as nil pointers that Canonicalize and every later
// step would trip on. Run it before anything else reads a submitted job;
// it returns a *ValidationError naming each entry by its JSON path.
func CheckNulls(job *api.Job) error {
	var list []string
	findNulls(reflect.ValueOf(job), "Job", &list)
	if len(list) == 0 {
		return nil
	}
	return &ValidationError{Problems: list}
}

// findNulls walks v (reached at path) and records nil entries of lists and
// maps whose elements are pointers. Free-form values (interfaces, such as
// a task's driver config) are not walked: null is a value there.
func findNulls(v reflect.Value, path string, list *[]string) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			findNulls(v.Elem(), path, list)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				findNulls(v.Field(i), path+"."+f.Name, list)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			elem, at := v.Index(i), fmt.Sprintf("%s[%d]", path, i)
			if elem.Kind() == reflect.Pointer && elem.IsNil() {
				*list = append(*list, at+" must not be null")
				continue
			}
			findNulls(elem, at, list)
		}
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int {
			return strings.Compare(fmt.Sprint(a.Interface()), fmt.Sprint(b.Interface()))
		})
		for _, k := range keys {
			elem, at := v.MapIndex(k), fmt.Sprintf("%s[%q]", path, fmt.Sprint(k.Interface()))
			if elem.Kind() == reflect.Pointer && elem.IsNil() {
				*list = append(*list, at+" must not be null")
				continue
			}
			findNulls(elem, at, list)
		}
	}
}
