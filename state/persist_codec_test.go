package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/internal/codec"
	"github.com/roam-project/roam/internal/codec/codectest"
	"github.com/roam-project/roam/structs"
)

// TestSnapshotRecordsRoundTrip sends a snapshot record of every kind of
// object the store holds, filled in two ways (every field set; every
// collection empty), through the msgpack codec and through JSON.
func TestSnapshotRecordsRoundTrip(t *testing.T) {
	rt := reflect.TypeOf(snapshotRecord{})
	modes := []struct {
		name string
		mode codectest.Mode
	}{{"full", codectest.Full}, {"empty", codectest.Empty}}
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		if f.Type.Kind() != reflect.Pointer {
			continue
		}
		for _, m := range modes {
			t.Run(f.Name+"/"+m.name, func(t *testing.T) {
				obj := reflect.New(f.Type.Elem())
				codectest.Fill(obj.Interface(), m.mode)
				rec := &snapshotRecord{Table: "table", JobRef: 3}
				reflect.ValueOf(rec).Elem().Field(i).Set(obj)
				codectest.RoundTrip(t, rec)
			})
		}
	}
}

// TestRestoreReadsJSONSnapshots restores the same state from a snapshot
// stream in msgpack, from one with the allocations' metrics decoded and
// from one in JSON, as earlier versions wrote them: all give the same
// store.
func TestRestoreReadsJSONSnapshots(t *testing.T) {
	s := mustStore(t)
	job := testJob("web", 2)
	job.TaskGroups[0].Tasks[0].Config = map[string]any{"command": "/bin/sleep", "args": []any{"60"}, "port": int64(8080)}
	job.Meta = map[string]string{"owner": "ops"}
	if err := s.JobRegister(10, &structs.JobRegisterRequest{Job: job, Time: 1}); err != nil {
		t.Fatal(err)
	}
	stored, _ := s.Snapshot().JobByID("default", "web")
	planJob := *stored
	var allocs []*api.Allocation
	for _, id := range []string{"a1", "a2"} {
		allocs = append(allocs, &api.Allocation{ID: id, Namespace: "default", JobID: "web", TaskGroup: "web", NodeID: "n1",
			DesiredStatus: "run", ClientStatus: "running", CreateTime: time.Now().UnixNano(),
			TaskStates: map[string]*api.TaskState{"t": {State: "running", StartedAt: time.Now().Round(0),
				Events: []*api.TaskEvent{{Type: api.TaskStarted, Time: 5, DisplayMessage: "Task started by client", Details: map[string]string{"pid": "1"}}}}},
			Metrics: &api.AllocationMetric{NodesEvaluated: 3, NodesAvailable: map[string]int{"dc1": 3}}})
	}
	if err := s.ApplyPlanResults(11, &structs.ApplyPlanResultsRequest{Job: &planJob, Allocs: allocs, Time: 2}); err != nil {
		t.Fatal(err)
	}
	if err := s.NodeRegister(12, &structs.NodeRegisterRequest{Node: &api.Node{ID: "n1", Name: "n1", Status: "ready", Attributes: map[string]string{"kernel.name": "linux"}}}); err != nil {
		t.Fatal(err)
	}
	var image bytes.Buffer
	if err := s.Snapshot().Persist(&image); err != nil {
		t.Fatal(err)
	}
	// The streams earlier versions wrote: the same records, each a JSON
	// document, or in msgpack with their metrics decoded.
	dec, err := newRecordDecoder(bytes.NewReader(image.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var jsonImage, msgpackImage bytes.Buffer
	jsonEnc := json.NewEncoder(&jsonImage)
	msgpackImage.WriteByte(codec.Format)
	msgpackEnc := codec.NewEncoder(&msgpackImage)
	for {
		var rec snapshotRecord
		if err := dec.Decode(&rec); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if rec.Metric != nil {
			m, err := decodeMetric(rec.Metric)
			if err != nil {
				t.Fatal(err)
			}
			withMetric := *rec.Alloc
			withMetric.Metrics = m
			rec.Alloc, rec.Metric = &withMetric, nil
		}
		if err := jsonEnc.Encode(&rec); err != nil {
			t.Fatal(err)
		}
		if err := msgpackEnc.Encode(&rec); err != nil {
			t.Fatal(err)
		}
	}
	streams := []struct {
		name  string
		image []byte
		opens byte
	}{{"msgpack", image.Bytes(), codec.Format}, {"metrics decoded", msgpackImage.Bytes(), codec.Format}, {"json", jsonImage.Bytes(), '{'}}
	var shown []string
	for _, tc := range streams {
		t.Run(tc.name, func(t *testing.T) {
			if tc.image[0] != tc.opens {
				t.Fatalf("stream opens with %#02x, want %#02x", tc.image[0], tc.opens)
			}
			counts, err := CountRecords(bytes.NewReader(tc.image))
			if err != nil || counts[tableAllocs] != 2 || counts[tableJobs] != 1 || counts[tableNodes] != 1 {
				t.Fatalf("record counts %v, %v: want 2 allocs, 1 job, 1 node", counts, err)
			}
			restored, err := Restore(bytes.NewReader(tc.image))
			if err != nil {
				t.Fatal(err)
			}
			snap := restored.Snapshot()
			a, _ := snap.AllocByID("a1")
			if a == nil || a.Job == nil || a.TaskStates["t"] == nil || a.TaskStates["t"].StartedAt.IsZero() {
				t.Fatalf("allocation a1 restored as %+v", a)
			}
			if a.Metrics == nil || a.Metrics.NodesEvaluated != 3 || a.Metrics.NodesAvailable["dc1"] != 3 {
				t.Fatalf("allocation a1's metric restored as %+v", a.Metrics)
			}
			if ev := a.TaskStates["t"].Events; len(ev) != 1 || ev[0].Type != api.TaskStarted || ev[0].Time != 5 || ev[0].Details["pid"] != "1" {
				t.Fatalf("allocation a1's task events restored as %+v", ev)
			}
			if j, _ := snap.JobByID("default", "web"); j == nil || j.Meta["owner"] != "ops" || j.TaskGroups[0].Tasks[0].Config["command"] != "/bin/sleep" {
				t.Fatalf("job restored as %+v", j)
			}
			var again bytes.Buffer
			if err := snap.Persist(&again); err != nil {
				t.Fatal(err)
			}
			shown = append(shown, showRecords(t, again.Bytes()))
		})
	}
	for i := 1; i < len(shown); i++ {
		if shown[i] != shown[0] {
			t.Errorf("the store restored from %s differs from the one restored from %s:\n%s: %s\n%s: %s",
				streams[i].name, streams[0].name, streams[0].name, shown[0], streams[i].name, shown[i])
		}
	}
}

// showRecords is the JSON of a snapshot stream's records.
func showRecords(t *testing.T, image []byte) string {
	t.Helper()
	dec, err := newRecordDecoder(bytes.NewReader(image))
	if err != nil {
		t.Fatal(err)
	}
	var recs []snapshotRecord
	for {
		var rec snapshotRecord
		if err := dec.Decode(&rec); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	out, err := json.Marshal(recs)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestRestoreInBatches restores streams of more records than a decoding
// batch holds, and damaged ones, which fail.
func TestRestoreInBatches(t *testing.T) {
	s := mustStore(t)
	if err := s.JobRegister(10, &structs.JobRegisterRequest{Job: testJob("web", 1), Time: 1}); err != nil {
		t.Fatal(err)
	}
	stored, _ := s.Snapshot().JobByID("default", "web")
	const n = 3*restoreBatchSize + 7
	var allocs []*api.Allocation
	for i := 0; i < n; i++ {
		allocs = append(allocs, &api.Allocation{ID: fmt.Sprintf("a%05d", i), Namespace: "default", JobID: "web", TaskGroup: "web",
			NodeID: fmt.Sprintf("n%d", i%3), DesiredStatus: "run", ClientStatus: "running",
			Metrics: &api.AllocationMetric{NodesEvaluated: i}})
	}
	if err := s.ApplyPlanResults(11, &structs.ApplyPlanResultsRequest{Job: stored, Allocs: allocs, Time: 2}); err != nil {
		t.Fatal(err)
	}
	var image bytes.Buffer
	if err := s.Snapshot().Persist(&image); err != nil {
		t.Fatal(err)
	}
	full := image.Bytes()
	cases := []struct {
		name    string
		image   []byte
		wantErr string
	}{
		{"whole stream", full, ""},
		{"cut in a record", full[:len(full)/2], "EOF"},
		{"a byte no record opens with", append(append([]byte{}, full...), 0xc1), "read snapshot"},
		{"a record that is not one", append(append([]byte{}, full...), 0x01), "read snapshot"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			restored, err := Restore(bytes.NewReader(tc.image))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Restore = %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			snap := restored.Snapshot()
			byJob, _ := snap.AllocsByJob("default", "web")
			if len(byJob) != n {
				t.Fatalf("%d allocations of the job restored, want %d", len(byJob), n)
			}
			total := 0
			for i := 0; i < 3; i++ {
				byNode, _ := snap.AllocsByNode(fmt.Sprintf("n%d", i))
				total += len(byNode)
			}
			if total != n {
				t.Fatalf("%d allocations on the nodes restored, want %d", total, n)
			}
			last, _ := snap.AllocByID(fmt.Sprintf("a%05d", n-1))
			if last == nil || last.Job == nil || last.Metrics == nil || last.Metrics.NodesEvaluated != n-1 {
				t.Fatalf("last allocation restored as %+v", last)
			}
		})
	}
}
