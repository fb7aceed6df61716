package server

import (
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

func TestPlaceHostVolume(t *testing.T) {
	store, err := state.New()
	if err != nil {
		t.Fatal(err)
	}
	nodes := []*api.Node{
		{ID: "node-a", Status: structs.NodeStatusReady, SchedulingEligibility: structs.NodeSchedulingEligible, NodePool: "gpu"},
		{ID: "node-b", Status: structs.NodeStatusReady, SchedulingEligibility: structs.NodeSchedulingEligible,
			HostVolumes: map[string]*api.HostVolumeInfo{"scratch": {Path: "/srv/scratch"}}},
		{ID: "node-c", Status: structs.NodeStatusDown},
	}
	for i, n := range nodes {
		if err := store.NodeRegister(uint64(i+1), &structs.NodeRegisterRequest{Node: n}); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.UpsertHostVolumes(10, &structs.HostVolumeUpsertRequest{Volumes: []*api.HostVolume{
		{ID: "v1", Name: "taken", Namespace: "default", NodeID: "node-a"}}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		vol      api.HostVolume
		wantNode string
		wantErr  string
	}{
		{"a node without the name", api.HostVolume{Name: "scratch"}, "node-a", ""},
		{"the named node", api.HostVolume{Name: "data", NodeID: "node-b"}, "node-b", ""},
		{"the pool's node", api.HostVolume{Name: "data", NodePool: "gpu"}, "node-a", ""},
		{"name taken by a dynamic volume", api.HostVolume{Name: "taken", NodeID: "node-a"}, "", "already has a host volume"},
		{"name taken by a static volume", api.HostVolume{Name: "scratch", NodeID: "node-b"}, "", "already has a host volume"},
		{"a down node", api.HostVolume{Name: "data", NodeID: "node-c"}, "", "is down"},
		{"an unknown node", api.HostVolume{Name: "data", NodeID: "nope"}, "", "no such node"},
		{"nowhere free", api.HostVolume{Name: "scratch", NodePool: "gpu-less"}, "", "no ready node"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			node, err := placeHostVolume(store.Snapshot(), &tc.vol)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || node.ID != tc.wantNode {
				t.Fatalf("placed on %v (%v), want %s", node, err, tc.wantNode)
			}
		})
	}
}

func TestValidateHostVolume(t *testing.T) {
	cases := []struct {
		name    string
		vol     *api.HostVolume
		wantErr string
	}{
		{"valid", &api.HostVolume{Name: "v", PluginID: "mkdir"}, ""},
		{"no name", &api.HostVolume{PluginID: "mkdir"}, "volume name"},
		{"other plugin", &api.HostVolume{Name: "v", PluginID: "lvm"}, `plugin_id "lvm"`},
		{"constraints", &api.HostVolume{Name: "v", PluginID: "mkdir", Constraints: []*api.Constraint{{LTarget: "${node.class}"}}}, "constraint"},
		{"update by ID", &api.HostVolume{ID: "x", Name: "v", PluginID: "mkdir"}, "volume id"},
		{"capacity inverted", &api.HostVolume{Name: "v", PluginID: "mkdir", RequestedCapacityMinBytes: 2, RequestedCapacityMaxBytes: 1}, "capacity_min"},
		{"block device", &api.HostVolume{Name: "v", PluginID: "mkdir", RequestedCapabilities: []*api.HostVolumeCapability{{AttachmentMode: "block-device"}}}, "attachment_mode"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := validateHostVolume(tc.vol)
			if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestJobHostVolumeACL checks that registering a job mounting a host
// volume needs the host_volume rule's mount capability.
func TestJobHostVolumeACL(t *testing.T) {
	s := testACLServer(t, "")
	putPolicy(t, s, "submit", `namespace "default" { policy = "write" }`)
	putPolicy(t, s, "read-data", `namespace "default" { policy = "write" }
host_volume "data-*" { policy = "read" }`)
	putPolicy(t, s, "write-data", `namespace "default" { policy = "write" }
host_volume "data-*" { policy = "write" }`)
	tokens := map[string]string{}
	for _, p := range []string{"submit", "read-data", "write-data"} {
		tokens[p] = putToken(t, s, &api.ACLToken{Type: "client", Policies: []string{p}}).SecretID
	}
	withVolume := func(readOnly bool) *api.Job {
		job := testJob("vol", 0, 64)
		job.TaskGroups[0].Volumes = map[string]*api.VolumeRequest{"d": {Name: "d", Type: "host", Source: "data-1", ReadOnly: readOnly}}
		return job
	}
	cases := []struct {
		name     string
		token    string
		readOnly bool
		allowed  bool
	}{
		{"no host volume rule", "submit", true, false},
		{"read rule mounts read-only", "read-data", true, true},
		{"read rule cannot mount read-write", "read-data", false, false},
		{"write rule mounts read-write", "write-data", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.RegisterJob(&structs.JobRegisterArgs{Job: withVolume(tc.readOnly), WriteRequest: structs.WriteRequest{AuthToken: tokens[tc.token]}})
			if tc.allowed != (err == nil) || (!tc.allowed && !errors.Is(err, ErrPermissionDenied)) {
				t.Fatalf("register: %v, want allowed %v", err, tc.allowed)
			}
		})
	}
}
