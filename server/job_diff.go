package server

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// Diff types, as Nomad's API reports them.
const (
	diffNone    = "None"
	diffAdded   = "Added"
	diffDeleted = "Deleted"
	diffEdited  = "Edited"
)

// serverOwnedJobFields are maintained by the servers, not written by users,
// and never show in a diff (TaskGroups are compared group by group). Stop
// does show, as in Nomad: `job history -p` of a restarted job prints
// `Stop: "true" => "false"`.
var serverOwnedJobFields = map[string]bool{
	"Status": true, "StatusDescription": true, "Stable": true, "Version": true,
	"SubmitTime": true, "CreateIndex": true, "ModifyIndex": true, "JobModifyIndex": true,
	"TaskGroups": true,
}

// JobDiff compares two versions of a job (old may be nil for a new job) the
// way `job plan` and `job history -p` show it: changed fields, nested
// objects, and per task group and task.
func JobDiff(old, new *api.Job) *api.JobDiff {
	oldMap, newMap := jsonMap(old), jsonMap(new)
	for k := range serverOwnedJobFields {
		delete(oldMap, k)
		delete(newMap, k)
	}
	d := &api.JobDiff{ID: idOf(new, old)}
	d.Fields, d.Objects = diffObject(oldMap, newMap)
	d.TaskGroups = diffGroups(old, new)
	d.Type = diffType(old != nil, new != nil, len(d.Fields)+len(d.Objects) > 0 || anyGroupChanged(d.TaskGroups))
	return d
}

func idOf(jobs ...*api.Job) string {
	for _, j := range jobs {
		if j != nil && j.ID != nil {
			return *j.ID
		}
	}
	return ""
}

func anyGroupChanged(groups []*api.TaskGroupDiff) bool {
	for _, g := range groups {
		if g.Type != diffNone {
			return true
		}
	}
	return false
}

func diffType(hadOld, hasNew, changed bool) string {
	switch {
	case !hadOld && hasNew:
		return diffAdded
	case hadOld && !hasNew:
		return diffDeleted
	case changed:
		return diffEdited
	}
	return diffNone
}

func diffGroups(old, new *api.Job) []*api.TaskGroupDiff {
	oldGroups, newGroups := map[string]*api.TaskGroup{}, map[string]*api.TaskGroup{}
	var names []string
	collect := func(j *api.Job, into map[string]*api.TaskGroup) {
		if j == nil {
			return
		}
		for _, tg := range j.TaskGroups {
			if _, seen := oldGroups[*tg.Name]; !seen {
				if _, seen := newGroups[*tg.Name]; !seen {
					names = append(names, *tg.Name)
				}
			}
			into[*tg.Name] = tg
		}
	}
	collect(old, oldGroups)
	collect(new, newGroups)
	sort.Strings(names)
	var out []*api.TaskGroupDiff
	for _, name := range names {
		o, n := oldGroups[name], newGroups[name]
		om, nm := jsonMap(o), jsonMap(n)
		delete(om, "Tasks")
		delete(nm, "Tasks")
		g := &api.TaskGroupDiff{Name: name}
		g.Fields, g.Objects = diffObject(om, nm)
		g.Tasks = diffTasks(o, n)
		changed := len(g.Fields)+len(g.Objects) > 0
		for _, t := range g.Tasks {
			changed = changed || t.Type != diffNone
		}
		g.Type = diffType(o != nil, n != nil, changed)
		out = append(out, g)
	}
	return out
}

func diffTasks(old, new *api.TaskGroup) []*api.TaskDiff {
	oldTasks, newTasks := map[string]*api.Task{}, map[string]*api.Task{}
	var names []string
	if old != nil {
		for _, t := range old.Tasks {
			oldTasks[t.Name] = t
			names = append(names, t.Name)
		}
	}
	if new != nil {
		for _, t := range new.Tasks {
			if _, ok := oldTasks[t.Name]; !ok {
				names = append(names, t.Name)
			}
			newTasks[t.Name] = t
		}
	}
	sort.Strings(names)
	var out []*api.TaskDiff
	for _, name := range names {
		o, n := oldTasks[name], newTasks[name]
		t := &api.TaskDiff{Name: name}
		t.Fields, t.Objects = diffObject(jsonMap(o), jsonMap(n))
		t.Type = diffType(o != nil, n != nil, len(t.Fields)+len(t.Objects) > 0)
		out = append(out, t)
	}
	return out
}

// diffObject compares two decoded JSON objects: scalars become fields,
// nested objects and lists become object diffs. Maps of user data (Meta,
// Env) are flattened into fields named "Meta[key]", as Nomad names them.
func diffObject(old, new map[string]any) ([]*api.FieldDiff, []*api.ObjectDiff) {
	var fields []*api.FieldDiff
	var objects []*api.ObjectDiff
	for _, k := range unionKeys(old, new) {
		o, n := old[k], new[k]
		if reflect.DeepEqual(o, n) {
			continue
		}
		om, oIsMap := o.(map[string]any)
		nm, nIsMap := n.(map[string]any)
		ol, oIsList := o.([]any)
		nl, nIsList := n.([]any)
		switch {
		case (oIsMap || o == nil) && (nIsMap || n == nil) && (k == "Meta" || k == "Env"):
			fields = append(fields, flattenMapFields(k, om, nm)...)
		case (oIsMap || o == nil) && (nIsMap || n == nil) && k == "Config":
			objects = append(objects, &api.ObjectDiff{Type: diffType(o != nil, n != nil, true), Name: k, Fields: configFields(om, nm)})
		case (oIsMap || o == nil) && (nIsMap || n == nil):
			f, obj := diffObject(om, nm)
			objects = append(objects, &api.ObjectDiff{Type: diffType(o != nil, n != nil, true), Name: k, Fields: f, Objects: obj})
		case (oIsList || o == nil) && (nIsList || n == nil):
			objects = append(objects, diffList(k, ol, nl)...)
		default:
			fields = append(fields, fieldDiff(k, o, n))
		}
	}
	return fields, objects
}

// configFields compares a task's driver configuration as Nomad does: each
// value flattened into a field named by its path, "args[1]" or
// "port_map.http", so that changing one list element edits one field.
func configFields(old, new map[string]any) []*api.FieldDiff {
	o, n := map[string]any{}, map[string]any{}
	flattenConfig("", old, o)
	flattenConfig("", new, n)
	var out []*api.FieldDiff
	for _, k := range unionKeys(o, n) {
		if !reflect.DeepEqual(o[k], n[k]) {
			out = append(out, fieldDiff(k, o[k], n[k]))
		}
	}
	return out
}

// flattenConfig adds v's scalars to out under their paths below prefix.
func flattenConfig(prefix string, v any, out map[string]any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if prefix != "" {
				k = prefix + "." + k
			}
			flattenConfig(k, e, out)
		}
	case []any:
		for i, e := range x {
			flattenConfig(fmt.Sprintf("%s[%d]", prefix, i), e, out)
		}
	default:
		out[prefix] = v
	}
}

func fieldDiff(name string, o, n any) *api.FieldDiff {
	f := &api.FieldDiff{Name: name, Old: scalar(o), New: scalar(n)}
	f.Type = diffType(o != nil, n != nil, true)
	return f
}

func flattenMapFields(name string, old, new map[string]any) []*api.FieldDiff {
	var out []*api.FieldDiff
	for _, k := range unionKeys(old, new) {
		if !reflect.DeepEqual(old[k], new[k]) {
			out = append(out, fieldDiff(fmt.Sprintf("%s[%s]", name, k), old[k], new[k]))
		}
	}
	return out
}

// diffList compares lists by content: elements only in the old list are
// deleted, elements only in the new one added.
func diffList(name string, old, new []any) []*api.ObjectDiff {
	single := strings.TrimSuffix(name, "s")
	key := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	oldSet, newSet := map[string]any{}, map[string]any{}
	for _, v := range old {
		oldSet[key(v)] = v
	}
	for _, v := range new {
		newSet[key(v)] = v
	}
	scalarList := &api.ObjectDiff{Type: diffEdited, Name: name}
	var out []*api.ObjectDiff
	add := func(v any, added bool) {
		m, isMap := v.(map[string]any)
		switch {
		case isMap && added:
			f, o := diffObject(nil, m)
			out = append(out, &api.ObjectDiff{Type: diffAdded, Name: single, Fields: f, Objects: o})
		case isMap:
			f, o := diffObject(m, nil)
			out = append(out, &api.ObjectDiff{Type: diffDeleted, Name: single, Fields: f, Objects: o})
		case added:
			scalarList.Fields = append(scalarList.Fields, fieldDiff(name, nil, v))
		default:
			scalarList.Fields = append(scalarList.Fields, fieldDiff(name, v, nil))
		}
	}
	for _, k := range sortedKeys(oldSet) {
		if _, ok := newSet[k]; !ok {
			add(oldSet[k], false)
		}
	}
	for _, k := range sortedKeys(newSet) {
		if _, ok := oldSet[k]; !ok {
			add(newSet[k], true)
		}
	}
	if len(scalarList.Fields) > 0 {
		if len(old) == 0 {
			scalarList.Type = diffAdded
		} else if len(new) == 0 {
			scalarList.Type = diffDeleted
		}
		out = append(out, scalarList)
	}
	return out
}

func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return fmt.Sprint(json.Number(fmt.Sprintf("%v", x)))
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// jsonMap decodes v's JSON form into a generic map; nil for nil.
func jsonMap(v any) map[string]any {
	if v == nil || reflect.ValueOf(v).IsNil() {
		return nil
	}
	buf, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m map[string]any
	_ = json.Unmarshal(buf, &m)
	pruneEmpty(m)
	return m
}

// pruneEmpty drops nulls and empty collections so that "unset" and
// "empty" do not show as changes.
func pruneEmpty(m map[string]any) {
	for k, v := range m {
		switch x := v.(type) {
		case nil:
			delete(m, k)
		case map[string]any:
			pruneEmpty(x)
			if len(x) == 0 {
				delete(m, k)
			}
		case []any:
			if len(x) == 0 {
				delete(m, k)
			}
			for _, e := range x {
				if em, ok := e.(map[string]any); ok {
					pruneEmpty(em)
				}
			}
		}
	}
}

func unionKeys(a, b map[string]any) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	return sortedKeys(seen)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
