package state

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// fullMetric sets every field of a placement metric.
func fullMetric() *api.AllocationMetric {
	return &api.AllocationMetric{
		NodesEvaluated: 8, NodesFiltered: 3, NodesInPool: 200, NodePool: "default",
		NodesAvailable:     map[string]int{"dc1": 150, "dc2": 50},
		ClassFiltered:      map[string]int{"small": 2},
		ConstraintFiltered: map[string]int{"${attr.kernel.name} = linux": 3},
		NodesExhausted:     2,
		ClassExhausted:     map[string]int{"big": 1},
		DimensionExhausted: map[string]int{"memory": 2},
		QuotaExhausted:     []string{"cpu exhausted"},
		ResourcesExhausted: map[string]*api.Resources{"web": {CPU: ptr(100), MemoryMB: ptr(64)}},
		Scores:             map[string]float64{"n1.binpack": 0.5},
		AllocationTime:     9710 * time.Nanosecond,
		CoalescedFailures:  4,
		ScoreMetaData: []*api.NodeScoreMeta{
			{NodeID: "n1", Scores: map[string]float64{"binpack": 0.6, "job-anti-affinity": -0.5}, NormScore: 0.05},
			nil,
			{NodeID: "n2", Scores: map[string]float64{}, NormScore: -0.25},
		},
	}
}

func TestMetricEncodingRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		in   *api.AllocationMetric
	}{
		{"nil", nil},
		{"empty: nil maps stay nil", &api.AllocationMetric{}},
		{"empty maps stay empty", &api.AllocationMetric{NodesAvailable: map[string]int{}, ScoreMetaData: []*api.NodeScoreMeta{}, QuotaExhausted: []string{}}},
		{"every field set", fullMetric()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			buf, err := encodeMetric(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeMetric(buf)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.in) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, tc.in)
			}
		})
	}
}

// TestMetricEncodingCoversEveryField fails when the api package grows a
// field the encoding does not know: encodeMetric must learn it.
func TestMetricEncodingCoversEveryField(t *testing.T) {
	cases := []struct {
		name   string
		typ    reflect.Type
		fields int
	}{
		{"AllocationMetric", reflect.TypeOf(api.AllocationMetric{}), 16},
		{"NodeScoreMeta", reflect.TypeOf(api.NodeScoreMeta{}), 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if n := tc.typ.NumField(); n != tc.fields {
				t.Errorf("%s has %d fields, the metric encoding knows %d", tc.name, n, tc.fields)
			}
		})
	}
	full := reflect.ValueOf(fullMetric()).Elem()
	for i := 0; i < full.NumField(); i++ {
		if full.Field(i).IsZero() {
			t.Errorf("fullMetric leaves %s unset", full.Type().Field(i).Name)
		}
	}
}

func TestMetricDecodingRefusesDamage(t *testing.T) {
	buf, err := encodeMetric(fullMetric())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		buf  []byte
	}{
		{"truncated", buf[:len(buf)/2]},
		{"trailing bytes", append(append([]byte{}, buf...), 7)},
		{"one byte", []byte{0x80}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeMetric(tc.buf); err == nil {
				t.Error("damaged metric decoded without an error")
			}
		})
	}
}

// TestAllocMetricReads checks where an allocation's metric is read: in
// full by ID, in events and snapshots; left out of lists; kept when a
// plan rewrites the allocation without one.
func TestAllocMetricReads(t *testing.T) {
	s := mustStore(t)
	job := testJob("web", 1)
	if err := s.JobRegister(10, &structs.JobRegisterRequest{Job: job, Time: 1}); err != nil {
		t.Fatal(err)
	}
	placed := &api.Allocation{ID: "a1", Namespace: "default", JobID: "web", TaskGroup: "web", NodeID: "n1",
		DesiredStatus: "run", ClientStatus: "pending", Metrics: fullMetric()}
	if err := s.ApplyPlanResults(11, &structs.ApplyPlanResultsRequest{Job: job, Allocs: []*api.Allocation{placed}, Time: 2}); err != nil {
		t.Fatal(err)
	}
	// A stop read from a list carries no metric.
	stop := &api.Allocation{ID: "a1", Namespace: "default", JobID: "web", TaskGroup: "web", NodeID: "n1", DesiredStatus: "stop"}
	if err := s.ApplyPlanResults(12, &structs.ApplyPlanResultsRequest{Job: job, Stopped: []*api.Allocation{stop}, Time: 3}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.Snapshot().Persist(&buf); err != nil {
		t.Fatal(err)
	}
	restored, err := Restore(&buf)
	if err != nil {
		t.Fatal(err)
	}
	byID := func(snap *Snapshot) func() (*api.Allocation, error) {
		return func() (*api.Allocation, error) { return snap.AllocByID("a1") }
	}
	byIDWithout := func(snap *Snapshot) func() (*api.Allocation, error) {
		return func() (*api.Allocation, error) { return snap.AllocByIDWithoutMetric("a1") }
	}
	inList := func(snap *Snapshot) func() (*api.Allocation, error) {
		return func() (*api.Allocation, error) {
			list, err := snap.AllocsByNode("n1")
			if err != nil || len(list) != 1 {
				return nil, err
			}
			return list[0], nil
		}
	}
	listInFull := func(snap *Snapshot) func() (*api.Allocation, error) {
		return func() (*api.Allocation, error) {
			list, err := inList(snap)()
			if err != nil || list == nil {
				return nil, err
			}
			full, err := snap.WithMetrics([]*api.Allocation{list})
			if err != nil {
				return nil, err
			}
			return full[0], nil
		}
	}
	cases := []struct {
		name       string
		read       func() (*api.Allocation, error)
		wantMetric bool
	}{
		{"by ID", byID(s.Snapshot()), true},
		{"by ID without metric", byIDWithout(s.Snapshot()), false},
		{"in a list", inList(s.Snapshot()), false},
		{"a list made full", listInFull(s.Snapshot()), true},
		{"in an event", allocInEvent(s.Snapshot(), "a1"), true},
		{"by ID after restore", byID(restored.Snapshot()), true},
		{"in a list after restore", inList(restored.Snapshot()), false},
		{"by ID without metric after restore", byIDWithout(restored.Snapshot()), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := tc.read()
			if err != nil || a == nil {
				t.Fatalf("read: %v %v", a, err)
			}
			if a.DesiredStatus != "stop" {
				t.Errorf("desired status %q, want the stop", a.DesiredStatus)
			}
			if !tc.wantMetric {
				if a.Metrics != nil {
					t.Errorf("metric %+v, want none", a.Metrics)
				}
				return
			}
			if !reflect.DeepEqual(a.Metrics, fullMetric()) {
				t.Errorf("metric\n got %+v\nwant %+v", a.Metrics, fullMetric())
			}
		})
	}
}

// TestCompactionSharesEqualParts checks that allocations of one group
// placed together share their resources and strings, and that unequal
// resources stay apart.
func TestCompactionSharesEqualParts(t *testing.T) {
	s := mustStore(t)
	job := testJob("web", 3)
	if err := s.JobRegister(10, &structs.JobRegisterRequest{Job: job, Time: 1}); err != nil {
		t.Fatal(err)
	}
	resources := func(mb int) (*api.AllocatedResources, *api.Resources, map[string]*api.Resources) {
		return &api.AllocatedResources{Tasks: map[string]*api.AllocatedTaskResources{"t": {Memory: api.AllocatedMemoryResources{MemoryMB: int64(mb)}}}},
			&api.Resources{MemoryMB: ptr(mb)}, map[string]*api.Resources{"t": {MemoryMB: ptr(mb)}}
	}
	var allocs []*api.Allocation
	for i, mb := range []int{64, 64, 128} {
		a := &api.Allocation{ID: string(rune('a'+i)) + "-alloc", Namespace: "default", JobID: "web", TaskGroup: "web",
			NodeID: string([]byte("node-1")), DesiredStatus: "run", ClientStatus: "pending"}
		a.AllocatedResources, a.Resources, a.TaskResources = resources(mb)
		allocs = append(allocs, a)
	}
	if err := s.ApplyPlanResults(11, &structs.ApplyPlanResultsRequest{Job: job, Allocs: allocs, Time: 2}); err != nil {
		t.Fatal(err)
	}
	snap := s.Snapshot()
	get := func(id string) *api.Allocation {
		a, err := snap.AllocByID(id)
		if err != nil || a == nil {
			t.Fatalf("alloc %s: %v %v", id, a, err)
		}
		return a
	}
	a, b, c := get("a-alloc"), get("b-alloc"), get("c-alloc")
	cases := []struct {
		name string
		got  bool
		want bool
	}{
		{"equal allocated resources shared", a.AllocatedResources == b.AllocatedResources, true},
		{"equal resources shared", a.Resources == b.Resources, true},
		{"equal task resources shared", sameMap(a.TaskResources, b.TaskResources), true},
		{"node ID interned", unsafe.StringData(a.NodeID) == unsafe.StringData(b.NodeID), true},
		{"different resources apart", b.AllocatedResources == c.AllocatedResources, false},
		{"different resources keep their values", *c.Resources.MemoryMB == 128 && c.TaskResources["t"].MemoryMB != nil && *c.TaskResources["t"].MemoryMB == 128, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
}

func TestAllocsByEvalFollowsTheJob(t *testing.T) {
	s := mustStore(t)
	job := testJob("web", 2)
	eval := &api.Evaluation{ID: "e1", Namespace: "default", JobID: "web", Status: "pending"}
	if err := s.JobRegister(10, &structs.JobRegisterRequest{Job: job, Eval: eval, Time: 1}); err != nil {
		t.Fatal(err)
	}
	allocs := []*api.Allocation{
		{ID: "a1", Namespace: "default", JobID: "web", TaskGroup: "web", NodeID: "n1", EvalID: "e1"},
		{ID: "a2", Namespace: "default", JobID: "web", TaskGroup: "web", NodeID: "n1", EvalID: "e0"},
	}
	if err := s.ApplyPlanResults(11, &structs.ApplyPlanResultsRequest{Job: job, Allocs: allocs, Time: 2}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		eval string
		want []string
	}{
		{"the allocation the evaluation placed", "e1", []string{"a1"}},
		{"an evaluation the store does not hold", "e0", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Snapshot().AllocsByEval(tc.eval)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, a := range got {
				ids = append(ids, a.ID)
			}
			if !reflect.DeepEqual(ids, tc.want) {
				t.Errorf("allocations %v, want %v", ids, tc.want)
			}
		})
	}
}

// allocInEvent reads allocation id as the event stream carries it.
func allocInEvent(snap *Snapshot, id string) func() (*api.Allocation, error) {
	return func() (*api.Allocation, error) {
		ev, err := snap.AllocEvent(id)
		if err != nil || ev == nil {
			return nil, err
		}
		raw, err := json.Marshal(ev)
		if err != nil {
			return nil, err
		}
		var a api.Allocation
		return &a, json.Unmarshal(raw, &a)
	}
}
