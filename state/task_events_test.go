package state

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// fullTaskEvent sets every field of a task event, its strings outside
// taskEventStrings.
func fullTaskEvent() *api.TaskEvent {
	return &api.TaskEvent{
		Type: "Custom", Time: 1_772_600_769_123_456_789, DisplayMessage: "display", Message: "message",
		Details:   map[string]string{"k1": "v1", "exit_code": "0"},
		FailsTask: true, RestartReason: "restart", SetupError: "setup", DriverError: "driver",
		DriverMessage: "driver message", ExitCode: -3, Signal: 9, KillReason: "kill",
		KillTimeout: 5 * time.Second, KillError: "kill error", StartDelay: -7, DownloadError: "download",
		ValidationError: "validation", DiskLimit: 1 << 40, DiskSize: 12, FailedSibling: "sibling",
		VaultError: "vault", TaskSignalReason: "signal reason", TaskSignal: "SIGHUP", GenericSource: "source",
	}
}

// runningEvents are the events the client reports for a started task.
func runningEvents(at int64) []*api.TaskEvent {
	return []*api.TaskEvent{
		{Type: api.TaskReceived, Time: at, DisplayMessage: "Task received by client", Details: map[string]string{}},
		{Type: api.TaskSetup, Time: at + 1e6, DisplayMessage: "Building Task Directory", Message: "Building Task Directory", Details: map[string]string{}},
		{Type: api.TaskStarted, Time: at + 250e6, DisplayMessage: "Task started by client", Details: map[string]string{"pid": "4242"}},
	}
}

func TestTaskEventsRoundTrip(t *testing.T) {
	started := time.Date(2026, 3, 4, 5, 6, 9, 0, time.UTC)
	cases := []struct {
		name       string
		states     map[string]*api.TaskState
		wantEvents bool
	}{
		{"nil states", nil, false},
		{"no events", map[string]*api.TaskState{"web": {State: "pending"}}, false},
		{"a nil task state", map[string]*api.TaskState{"web": nil}, false},
		{"an empty event list stays empty", map[string]*api.TaskState{"web": {State: "pending", Events: []*api.TaskEvent{}}}, true},
		{"a running task", map[string]*api.TaskState{"web": {State: "running", StartedAt: started, Events: runningEvents(started.UnixNano())}}, true},
		{"every field set", map[string]*api.TaskState{"web": {State: "dead", Failed: true, Restarts: 2, Events: []*api.TaskEvent{fullTaskEvent()}}}, true},
		{"nil and empty events and details", map[string]*api.TaskState{"web": {Events: []*api.TaskEvent{
			nil, {}, {Details: map[string]string{}}, {Type: api.TaskKilled, Details: map[string]string{"": ""}}}}}, true},
		{"times out of order", map[string]*api.TaskState{"web": {Events: []*api.TaskEvent{
			{Time: 500}, {Time: 0}, {Time: 100}, {Time: -20}}}}, true},
		{"several tasks, some without events", map[string]*api.TaskState{
			"web":     {State: "running", Events: runningEvents(started.UnixNano())},
			"sidecar": {State: "running", Events: runningEvents(started.UnixNano() + 3)},
			"init":    {State: "dead"},
			"nil":     nil,
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, err := json.Marshal(tc.states)
			if err != nil {
				t.Fatal(err)
			}
			stripped, buf, err := splitTaskEvents(tc.states)
			if err != nil {
				t.Fatal(err)
			}
			if (buf != nil) != tc.wantEvents {
				t.Fatalf("encoded events %v, want some: %v", buf, tc.wantEvents)
			}
			for name, ts := range stripped {
				if ts != nil && ts.Events != nil {
					t.Errorf("task %s keeps its events in the stored states", name)
				}
			}
			if after, _ := json.Marshal(tc.states); !bytes.Equal(after, before) {
				t.Errorf("splitting changed its input:\n got %s\nwant %s", after, before)
			}
			got, err := joinTaskEvents(stripped, buf)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.states) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, tc.states)
			}
			if raw, _ := json.Marshal(got); !bytes.Equal(raw, before) {
				t.Errorf("round trip JSON:\n got %s\nwant %s", raw, before)
			}
		})
	}
}

// TestTaskEventEncodingCoversEveryField fails when the api package grows
// a field the encoding does not know: taskEventFields must learn it.
func TestTaskEventEncodingCoversEveryField(t *testing.T) {
	const known = 25 // taskEventFields, Time and Details
	if n := reflect.TypeOf(api.TaskEvent{}).NumField(); n != known || len(taskEventFields)+2 != known {
		t.Errorf("api.TaskEvent has %d fields, the encoding knows %d", n, len(taskEventFields)+2)
	}
	if len(taskEventStringIndex) != len(taskEventStrings) {
		t.Errorf("taskEventStrings holds %d strings, %d of them different", len(taskEventStrings), len(taskEventStringIndex))
	}
	full := reflect.ValueOf(fullTaskEvent()).Elem()
	for i := 0; i < full.NumField(); i++ {
		if full.Field(i).IsZero() {
			t.Errorf("fullTaskEvent leaves %s unset", full.Type().Field(i).Name)
		}
	}
}

func TestTaskEventsDecodingRefusesDamage(t *testing.T) {
	states := map[string]*api.TaskState{"web": {State: "dead", Events: []*api.TaskEvent{fullTaskEvent(), fullTaskEvent()}}}
	stripped, buf, err := splitTaskEvents(states)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		states map[string]*api.TaskState
		buf    []byte
	}{
		{"truncated", stripped, buf[:len(buf)/2]},
		{"trailing bytes", stripped, append(append([]byte{}, buf...), 7)},
		{"one byte", stripped, []byte{0x80}},
		{"a task the states lack", map[string]*api.TaskState{"other": {}}, buf},
		{"a string index past the list", stripped, []byte{1, 0xff, 0x7f, 0}},
		{"more events than bytes", stripped, []byte{1, 3 << 1, 'w', 'e', 'b', 0x7f}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := joinTaskEvents(tc.states, tc.buf); err == nil {
				t.Error("damaged task events decoded without an error")
			}
		})
	}
}

// TestTaskEventsSize checks that a running task's events take a small
// part of what they took decoded (some 1,400 bytes).
func TestTaskEventsSize(t *testing.T) {
	states := map[string]*api.TaskState{"server": {State: "running", Events: runningEvents(time.Now().UnixNano())}}
	_, buf, err := splitTaskEvents(states)
	if err != nil {
		t.Fatal(err)
	}
	if len(buf) > 64 {
		t.Errorf("a running task's events encode in %d bytes, want at most 64", len(buf))
	}
}

// TestAllocTaskEventsReads checks where an allocation's task events are
// read: by ID, in lists completed with WithTaskEvents or WithMetrics, in
// events and after a snapshot's restore, each as the client reported
// them; left out of lists and AllocByIDAsListed; kept when a plan or a
// transition rewrites the allocation.
func TestAllocTaskEventsReads(t *testing.T) {
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
	reported := func() map[string]*api.TaskState {
		return map[string]*api.TaskState{
			"web":  {State: "running", StartedAt: time.Unix(1_772_600_769, 0).UTC(), Events: runningEvents(1_772_600_769_000_000_000)},
			"init": {State: "dead", Events: []*api.TaskEvent{fullTaskEvent()}},
		}
	}
	update := &api.Allocation{ID: "a1", NodeID: "n1", ClientStatus: "running", TaskStates: reported()}
	if err := s.AllocClientUpdate(12, &structs.AllocClientUpdateRequest{Allocs: []*api.Allocation{update}, Time: 3}); err != nil {
		t.Fatal(err)
	}
	if err := s.AllocDesiredTransition(13, &structs.AllocDesiredTransitionRequest{AllocIDs: []string{"a1"},
		Transition: api.DesiredTransition{Migrate: ptr(true)}, Time: 4}); err != nil {
		t.Fatal(err)
	}
	// A stop read from a list carries no metric and no events.
	listed, err := s.Snapshot().AllocByIDAsListed("a1")
	if err != nil || listed == nil {
		t.Fatalf("listed: %v %v", listed, err)
	}
	stop := *listed
	stop.DesiredStatus = "stop"
	if err := s.ApplyPlanResults(14, &structs.ApplyPlanResultsRequest{Job: job, Stopped: []*api.Allocation{&stop}, Time: 5}); err != nil {
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
	inList := func(snap *Snapshot, complete func([]*api.Allocation) ([]*api.Allocation, error)) func() (*api.Allocation, error) {
		return func() (*api.Allocation, error) {
			list, err := snap.AllocsByNode("n1")
			if err != nil || len(list) != 1 {
				return nil, err
			}
			if complete != nil {
				if list, err = complete(list); err != nil {
					return nil, err
				}
			}
			return list[0], nil
		}
	}
	snap, after := s.Snapshot(), restored.Snapshot()
	cases := []struct {
		name       string
		read       func() (*api.Allocation, error)
		wantEvents bool
	}{
		{"by ID", byID(snap), true},
		{"by ID without metric", func() (*api.Allocation, error) { return snap.AllocByIDWithoutMetric("a1") }, true},
		{"by ID as listed", func() (*api.Allocation, error) { return snap.AllocByIDAsListed("a1") }, false},
		{"in a list", inList(snap, nil), false},
		{"a list with task events", inList(snap, snap.WithTaskEvents), true},
		{"a list made full", inList(snap, snap.WithMetrics), true},
		{"in an event", allocInEvent(snap, "a1"), true},
		{"by ID after restore", byID(after), true},
		{"in a list after restore", inList(after, nil), false},
		{"a list with task events after restore", inList(after, after.WithTaskEvents), true},
	}
	want, err := json.Marshal(reported())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := tc.read()
			if err != nil || a == nil {
				t.Fatalf("read: %v %v", a, err)
			}
			if a.DesiredStatus != "stop" || a.DesiredTransition.Migrate == nil {
				t.Errorf("desired status %q, transition %+v: want the stop and the migration", a.DesiredStatus, a.DesiredTransition)
			}
			if !tc.wantEvents {
				for name, ts := range a.TaskStates {
					if ts.Events != nil {
						t.Errorf("task %s has events %+v, want none", name, ts.Events)
					}
				}
				if a.TaskStates["web"] == nil || a.TaskStates["web"].State != "running" {
					t.Errorf("task states %+v, want web running", a.TaskStates)
				}
				return
			}
			got, err := json.Marshal(a.TaskStates)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("task states\n got %s\nwant %s", got, want)
			}
		})
	}
}

// BenchmarkTaskEvents measures storing a running allocation's task
// events (split) and reading them back (join), as a client update and a
// read in full do.
func BenchmarkTaskEvents(b *testing.B) {
	states := map[string]*api.TaskState{"server": {State: "running", Events: runningEvents(time.Now().UnixNano())}}
	stripped, buf, err := splitTaskEvents(states)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("split", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := splitTaskEvents(states); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("join", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := joinTaskEvents(stripped, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}
