package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/roam-project/roam/structs"

	"github.com/roam-project/roam/state"
)

func TestSnapshotSaveRestore(t *testing.T) {
	s := testServer(t, time.Minute)
	if _, err := s.RegisterNode(testNode("n", 4096)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegisterJob(&structs.JobRegisterArgs{Job: testJob("kept", 1, 64)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "placement", func() bool { return len(liveAllocs(t, s, "kept")) == 1 })
	var buf bytes.Buffer
	index, err := s.SaveSnapshot(&buf)
	if err != nil || index == 0 {
		t.Fatalf("save: index %d, %v", index, err)
	}
	saved := buf.Bytes()

	header, body, err := OpenSnapshot(bytes.NewReader(saved))
	if err != nil || header.Index != index {
		t.Fatalf("open: %+v %v", header, err)
	}
	counts, err := state.CountRecords(body)
	if err != nil || counts["jobs"] != 1 || counts["allocs"] != 1 || counts["nodes"] != 1 {
		t.Fatalf("snapshot contents %v, %v", counts, err)
	}

	// Change the state, then go back to the snapshot.
	if _, _, err := s.DeregisterJob("", "default", "kept", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegisterJob(&structs.JobRegisterArgs{Job: testJob("later", 1, 64)}); err != nil {
		t.Fatal(err)
	}
	if err := s.RestoreSnapshot(bytes.NewReader(saved)); err != nil {
		t.Fatalf("restore: %v", err)
	}
	snap := s.State().Snapshot()
	if j, _ := snap.JobByID("default", "kept"); j == nil {
		t.Error("job from the snapshot is missing after restore")
	}
	if j, _ := snap.JobByID("default", "later"); j != nil {
		t.Error("job registered after the snapshot survived the restore")
	}

	cases := []struct {
		name string
		data []byte
	}{
		{"not gzip", []byte("hello")},
		{"truncated", saved[:len(saved)/2]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.RestoreSnapshot(bytes.NewReader(tc.data)); err == nil {
				t.Fatal("restoring a bad archive succeeded")
			}
			if j, _ := s.State().Snapshot().JobByID("default", "kept"); j == nil {
				t.Fatal("a failed restore lost stored state")
			}
		})
	}
}

// TestOpenSnapshotFormats opens archives of this version and of earlier
// ones, whose state stream is JSON (state.Restore reads both), and
// refuses others.
func TestOpenSnapshotFormats(t *testing.T) {
	cases := []struct {
		format string
		ok     bool
	}{
		{snapshotFormat, true},
		{snapshotFormatJSON, true},
		{"roam-snapshot/9", false},
		{"", false},
	}
	for _, tc := range cases {
		t.Run(tc.format, func(t *testing.T) {
			var buf bytes.Buffer
			gz := gzip.NewWriter(&buf)
			_ = json.NewEncoder(gz).Encode(&SnapshotHeader{Format: tc.format, Index: 7})
			_, _ = gz.Write([]byte("state"))
			_ = gz.Close()
			header, body, err := OpenSnapshot(&buf)
			if !tc.ok {
				if err == nil {
					t.Fatal("opened an archive of an unknown format")
				}
				return
			}
			if err != nil || header.Index != 7 {
				t.Fatalf("header %+v, %v", header, err)
			}
			if rest, _ := io.ReadAll(body); string(rest) != "state" {
				t.Errorf("state stream %q, want %q", rest, "state")
			}
		})
	}
}
