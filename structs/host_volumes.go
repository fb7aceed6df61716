package structs

import (
	"time"

	"github.com/hashicorp/nomad/api"
)

// Dynamic host volumes: created by `volume create` on a node the server
// picks, made by that node's client (the built-in "mkdir" plugin), and
// reported by the node as one of its host volumes once ready.

// HostVolumePluginMkdir is the built-in plugin: a directory under the
// client's host_volumes_dir.
const HostVolumePluginMkdir = "mkdir"

// HostVolumeUpsertRequest stores host volumes (Raft).
type HostVolumeUpsertRequest struct {
	Volumes []*api.HostVolume
	Time    int64
}

// HostVolumeDeleteRequest removes host volumes by ID (Raft).
type HostVolumeDeleteRequest struct {
	IDs []string
}

// HostVolumeCreateArgs creates a host volume ("HostVolume.Create").
type HostVolumeCreateArgs struct {
	Volume *api.HostVolume
	WriteRequest
}

// HostVolumeCreateReply is the volume as stored, still pending.
type HostVolumeCreateReply struct {
	Volume *api.HostVolume
	Index  uint64
}

// HostVolumeDeleteArgs deletes a host volume ("HostVolume.Delete").
type HostVolumeDeleteArgs struct {
	Namespace, ID string
	WriteRequest
}

// NodeHostVolumesArgs asks for the host volumes placed on a node past
// MinIndex, waiting up to Wait for a change ("Node.GetHostVolumes").
type NodeHostVolumesArgs struct {
	NodeID   string
	MinIndex uint64
	Wait     time.Duration
	NodeAuth
}

// NodeHostVolumesReply is a node's host volumes as of Index.
type NodeHostVolumesReply struct {
	Volumes []*api.HostVolume
	Index   uint64
}

// HostVolumeUpdateArgs is a client's report that it made a volume
// ("Node.UpdateHostVolume"): its path and state.
type HostVolumeUpdateArgs struct {
	ID, HostPath  string
	State         api.HostVolumeState
	CapacityBytes int64
	NodeAuth
}

// MountsHostVolume reports whether the allocation's group asks for the
// host volume of that name.
func MountsHostVolume(a *api.Allocation, name string) bool {
	if a.Job == nil {
		return false
	}
	tg := a.Job.LookupTaskGroup(a.TaskGroup)
	if tg == nil {
		return false
	}
	for _, req := range tg.Volumes {
		if req != nil && req.Type == "host" && req.Source == name {
			return true
		}
	}
	return false
}

// HostVolumeStub is a volume's entry in GET /v1/volumes?type=host.
func HostVolumeStub(v *api.HostVolume) *api.HostVolumeStub {
	return &api.HostVolumeStub{
		Namespace: v.Namespace, ID: v.ID, Name: v.Name, PluginID: v.PluginID, NodePool: v.NodePool,
		NodeID: v.NodeID, CapacityBytes: v.CapacityBytes, State: v.State,
		CreateIndex: v.CreateIndex, CreateTime: v.CreateTime, ModifyIndex: v.ModifyIndex, ModifyTime: v.ModifyTime,
	}
}
