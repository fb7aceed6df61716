package state

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/network"
)

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a1", "a2"} {
		if err := db.PutAlloc(&api.Allocation{ID: id}); err != nil {
			t.Fatal(err)
		}
		rec := &TaskRecord{State: &api.TaskState{State: "running"}, Handle: &drivers.TaskHandle{Driver: "raw_exec", State: []byte(`{"pid":1}`)}}
		if err := db.PutTask(id, "web", rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeleteAlloc("a1"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	allocs, err := db.Allocs()
	if err != nil || len(allocs) != 1 || allocs[0].ID != "a2" {
		t.Fatalf("allocs = %v, %v", allocs, err)
	}
	cases := []struct {
		name  string
		alloc string
		want  int
	}{{"deleted alloc has no tasks", "a1", 0}, {"kept alloc keeps its task", "a2", 1}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tasks, err := db.Tasks(tc.alloc)
			if err != nil || len(tasks) != tc.want {
				t.Fatalf("tasks = %v, %v", tasks, err)
			}
		})
	}
	tasks, _ := db.Tasks("a2")
	if h := tasks["web"].Handle; h == nil || string(h.State) != `{"pid":1}` {
		t.Fatalf("handle = %+v", h)
	}
}

func TestLastContact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := db.LastContact(); err != nil || !got.IsZero() {
		t.Fatalf("fresh state: last contact %v, %v; want zero", got, err)
	}
	want := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	if err := db.PutLastContact(want); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, err := db.LastContact(); err != nil || !got.Equal(want) {
		t.Fatalf("after reopen: last contact %v, %v; want %v", got, err, want)
	}
}

func TestNetworksRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a1", "a2"} {
		if err := db.PutNetwork(&network.Status{AllocID: id, Mode: network.ModeBridge, Address: "172.26.64." + id[1:]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeleteNetwork("a1"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Networks()
	if err != nil || len(got) != 1 || got[0].AllocID != "a2" || got[0].Address != "172.26.64.2" {
		t.Fatalf("networks = %+v, %v; want a2 at 172.26.64.2", got, err)
	}
}
