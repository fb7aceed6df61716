package state

import (
	"bytes"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

func TestHostVolumes(t *testing.T) {
	s := mustStore(t)
	vols := []*api.HostVolume{
		{ID: "v1", Name: "scratch", Namespace: "default", NodeID: "n1", State: api.HostVolumeStatePending},
		{ID: "v2", Name: "cache", Namespace: "default", NodeID: "n2"},
		{ID: "v3", Name: "scratch", Namespace: "prod", NodeID: "n1"},
	}
	if err := s.UpsertHostVolumes(5, &structs.HostVolumeUpsertRequest{Volumes: vols, Time: 100}); err != nil {
		t.Fatal(err)
	}
	ready := *vols[0]
	ready.State, ready.HostPath = api.HostVolumeStateReady, "/data/host_volumes/v1"
	if err := s.UpsertHostVolumes(7, &structs.HostVolumeUpsertRequest{Volumes: []*api.HostVolume{&ready}, Time: 200}); err != nil {
		t.Fatal(err)
	}
	ids := func(vs []*api.HostVolume, err error) string {
		if err != nil {
			t.Fatal(err)
		}
		out := ""
		for _, v := range vs {
			out += v.ID + " "
		}
		return out
	}
	snap := s.Snapshot()
	cases := []struct {
		name string
		got  string
		want string
	}{
		{"namespace default, by name", ids(snap.HostVolumes("default")), "v2 v1 "},
		{"every namespace", ids(snap.HostVolumes("*")), "v2 v1 v3 "},
		{"by node", ids(snap.HostVolumesByNode("n1")), "v1 v3 "},
		{"by name", ids(snap.HostVolumesByName("prod", "scratch")), "v3 "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
	v1, _ := snap.HostVolumeByID("v1")
	if v1.State != api.HostVolumeStateReady || v1.CreateIndex != 5 || v1.CreateTime != 100 || v1.ModifyIndex != 7 || v1.ModifyTime != 200 {
		t.Fatalf("updated volume = %+v", v1)
	}

	var buf bytes.Buffer
	if err := snap.Persist(&buf); err != nil {
		t.Fatal(err)
	}
	restored, err := Restore(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(restored.Snapshot().HostVolumes("*")); got != "v2 v1 v3 " {
		t.Fatalf("restored volumes = %q", got)
	}

	if err := s.DeleteHostVolumes(9, &structs.HostVolumeDeleteRequest{IDs: []string{"v1", "gone"}}); err != nil {
		t.Fatal(err)
	}
	if got := ids(s.Snapshot().HostVolumesByNode("n1")); got != "v3 " || s.Snapshot().HostVolumesIndex() != 9 {
		t.Fatalf("after delete: %q at index %d", got, s.Snapshot().HostVolumesIndex())
	}
}
