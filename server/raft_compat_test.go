package server

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/roam-project/roam/internal/codec"
	"github.com/roam-project/roam/structs"
)

// TestDecodeMessage reads the bodies of Raft log entries in each encoding
// a Roam version wrote, and refuses others with a clear error.
func TestDecodeMessage(t *testing.T) {
	req := &structs.NodeEligibilityRequest{NodeID: "n1", Eligibility: "ineligible", Time: 42}
	jsonBody, _ := json.Marshal(req)
	entry, err := encodeMessage(structs.NodeEligibilityRequestType, req)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		body    []byte
		wantErr string
	}{
		{"msgpack", entry[1:], ""},
		{"json of earlier versions", jsonBody, ""},
		{"empty", nil, "empty body"},
		{"unknown encoding", []byte{0x7f, 1, 2}, "unknown encoding 0x7f"},
		{"damaged msgpack", entry[1 : len(entry)/2], "EOF"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got structs.NodeEligibilityRequest
			err := decodeMessage(tc.body, &got)
			switch {
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr == "" && !reflect.DeepEqual(&got, req):
				t.Errorf("decoded %+v, want %+v", got, *req)
			}
		})
	}
	if entry[0] != byte(structs.NodeEligibilityRequestType) || entry[1] != codec.Format {
		t.Errorf("entry opens with % x, want the type byte then the format byte", entry[:2])
	}
}

// TestRestartReadsJSONLogEntries writes Raft log entries in the JSON of
// earlier versions and in msgpack, restarts the server from its data dir,
// and finds everything they wrote replayed into the state.
func TestRestartReadsJSONLogEntries(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	start := func() *Server {
		s, err := New(Config{
			NodeName: "compat.global", Region: "global", Datacenter: "dc1", DataDir: dir,
			RPCAddr: addr, NumSchedulers: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "leadership", func() bool { return s.IsLeader() })
		return s
	}
	s := start()
	for i := 0; i < 3; i++ {
		job := testJob(fmt.Sprintf("json-%d", i), 1, 64)
		job.Meta = map[string]string{"written": "json"}
		body, err := json.Marshal(&structs.JobRegisterRequest{Job: job, Time: time.Now().UnixNano()})
		if err != nil {
			t.Fatal(err)
		}
		f := s.raft.Apply(append([]byte{byte(structs.JobRegisterRequestType)}, body...), 5*time.Second)
		if err := f.Error(); err != nil {
			t.Fatal(err)
		}
		if resp, _ := f.Response().(error); resp != nil {
			t.Fatalf("apply JSON entry: %v", resp)
		}
	}
	job := testJob("msgpack", 1, 64)
	job.Meta = map[string]string{"written": "msgpack"}
	if _, err := s.raftApply(structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: job, Time: time.Now().UnixNano()}); err != nil {
		t.Fatal(err)
	}
	index := s.State().Snapshot().LatestIndex()
	s.Shutdown()

	s = start()
	defer s.Shutdown()
	waitFor(t, "log replayed", func() bool { return s.State().Snapshot().LatestIndex() >= index })
	snap := s.State().Snapshot()
	cases := []struct{ id, written string }{{"json-0", "json"}, {"json-1", "json"}, {"json-2", "json"}, {"msgpack", "msgpack"}}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			j, _ := snap.JobByID("default", tc.id)
			if j == nil {
				t.Fatalf("job %s lost across the restart", tc.id)
			}
			if j.Meta["written"] != tc.written || j.TaskGroups[0].Tasks[0].Config["command"] != "/bin/sleep" {
				t.Errorf("job %s replayed as meta %v, config %v", tc.id, j.Meta, j.TaskGroups[0].Tasks[0].Config)
			}
		})
	}
}
