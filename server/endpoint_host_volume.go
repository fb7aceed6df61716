package server

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-uuid"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/acl"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// hostVolumeEndpoint serves "HostVolume.*": dynamic host volumes, which
// the server places on a node and that node's client makes.
type hostVolumeEndpoint struct{ s *Server }

func (e *hostVolumeEndpoint) Create(args *structs.HostVolumeCreateArgs, reply *structs.HostVolumeCreateReply) error {
	ns := structs.DefaultNamespace
	if args.Volume != nil && args.Volume.Namespace != "" {
		ns = args.Volume.Namespace
	}
	if err := e.s.authorize(args.AuthToken, nsAllows(ns, acl.NamespaceCapabilityHostVolumeCreate)); err != nil {
		return err
	}
	v, index, err := e.s.CreateHostVolume(args.AuthToken, args.Volume)
	*reply = structs.HostVolumeCreateReply{Volume: v, Index: index}
	return err
}

func (e *hostVolumeEndpoint) Delete(args *structs.HostVolumeDeleteArgs, reply *structs.IndexReply) error {
	if err := e.s.authorize(args.AuthToken, nsAllows(args.Namespace, acl.NamespaceCapabilityHostVolumeDelete)); err != nil {
		return err
	}
	index, err := e.s.DeleteHostVolume(args.AuthToken, args.Namespace, args.ID)
	reply.Index = index
	return err
}

// CreateHostVolume validates a volume specification, places the volume on
// a node (the one it names, else a ready node of its pool without a volume
// of that name) and stores it as pending; the node's client makes it.
func (s *Server) CreateHostVolume(token string, spec *api.HostVolume) (*api.HostVolume, uint64, error) {
	var reply structs.HostVolumeCreateReply
	args := &structs.HostVolumeCreateArgs{Volume: spec, WriteRequest: structs.WriteRequest{AuthToken: token}}
	if done, err := s.forward("HostVolume.Create", args, &reply); done {
		return reply.Volume, reply.Index, err
	}
	if err := validateHostVolume(spec); err != nil {
		return nil, 0, err
	}
	v := *spec
	if v.Namespace == "" {
		v.Namespace = structs.DefaultNamespace
	}
	snap := s.State().Snapshot()
	if ns, err := snap.NamespaceByName(v.Namespace); err != nil || ns == nil {
		return nil, 0, fmt.Errorf("%w: namespace %q does not exist", ErrInvalid, v.Namespace)
	}
	node, err := placeHostVolume(snap, &v)
	if err != nil {
		return nil, 0, err
	}
	v.ID, _ = uuid.GenerateUUID()
	v.NodeID, v.NodePool = node.ID, structs.NodePoolOf(node)
	v.State, v.HostPath, v.CapacityBytes = api.HostVolumeStatePending, "", 0
	v.Allocations = nil
	index, err := s.raftApply(structs.HostVolumeUpsertRequestType, &structs.HostVolumeUpsertRequest{Volumes: []*api.HostVolume{&v}, Time: time.Now().UnixNano()})
	if err != nil {
		return nil, 0, err
	}
	v.CreateIndex, v.ModifyIndex = index, index
	return &v, index, nil
}

func validateHostVolume(v *api.HostVolume) error {
	switch {
	case v == nil:
		return fmt.Errorf("%w: no volume given", ErrInvalid)
	case v.ID != "":
		return fmt.Errorf("%w: volume id: updating an existing host volume is not supported; delete and create it", ErrInvalid)
	case v.Name == "":
		return fmt.Errorf("%w: volume name: missing", ErrInvalid)
	case v.PluginID != structs.HostVolumePluginMkdir:
		return fmt.Errorf("%w: plugin_id %q: the only host volume plugin is %q", ErrInvalid, v.PluginID, structs.HostVolumePluginMkdir)
	case len(v.Constraints) > 0:
		return fmt.Errorf("%w: constraint: not supported for host volumes; name a node_id or node_pool", ErrInvalid)
	case v.RequestedCapacityMaxBytes > 0 && v.RequestedCapacityMinBytes > v.RequestedCapacityMaxBytes:
		return fmt.Errorf("%w: capacity_min must not exceed capacity_max", ErrInvalid)
	}
	for i, c := range v.RequestedCapabilities {
		if c == nil {
			continue
		}
		if c.AttachmentMode != api.HostVolumeAttachmentModeFilesystem && c.AttachmentMode != "" {
			return fmt.Errorf("%w: capability %d: attachment_mode %q: the mkdir plugin makes %q volumes", ErrInvalid, i, c.AttachmentMode, api.HostVolumeAttachmentModeFilesystem)
		}
	}
	return nil
}

// placeHostVolume picks the node of a new volume.
func placeHostVolume(snap *state.Snapshot, v *api.HostVolume) (*api.Node, error) {
	taken := func(node *api.Node) bool {
		_, static := node.HostVolumes[v.Name]
		vols, _ := snap.HostVolumesByNode(node.ID)
		return static || slices.ContainsFunc(vols, func(o *api.HostVolume) bool { return o.Name == v.Name })
	}
	if v.NodeID != "" {
		node, err := snap.NodeByID(v.NodeID)
		switch {
		case err != nil:
			return nil, err
		case node == nil:
			return nil, fmt.Errorf("%w: node_id %q: no such node", ErrInvalid, v.NodeID)
		case node.Status != structs.NodeStatusReady:
			return nil, fmt.Errorf("%w: node %s is %s", ErrInvalid, v.NodeID, node.Status)
		case v.NodePool != "" && structs.NodePoolOf(node) != v.NodePool:
			return nil, fmt.Errorf("%w: node %s is not in node pool %q", ErrInvalid, v.NodeID, v.NodePool)
		case taken(node):
			return nil, fmt.Errorf("%w: node %s already has a host volume named %q", ErrInvalid, v.NodeID, v.Name)
		}
		return node, nil
	}
	nodes, err := snap.Nodes()
	if err != nil {
		return nil, err
	}
	var best *api.Node
	bestCount := 0
	for _, n := range nodes {
		if !structs.NodeReady(n) || (v.NodePool != "" && structs.NodePoolOf(n) != v.NodePool) || taken(n) {
			continue
		}
		vols, _ := snap.HostVolumesByNode(n.ID)
		if best == nil || len(vols) < bestCount || (len(vols) == bestCount && n.ID < best.ID) {
			best, bestCount = n, len(vols)
		}
	}
	if best == nil {
		return nil, fmt.Errorf("%w: no ready node without a host volume named %q", ErrInvalid, v.Name)
	}
	return best, nil
}

// DeleteHostVolume removes a volume that no live allocation mounts; its
// node's client then removes its directory.
func (s *Server) DeleteHostVolume(token, namespace, id string) (uint64, error) {
	var reply structs.IndexReply
	args := &structs.HostVolumeDeleteArgs{Namespace: namespace, ID: id, WriteRequest: structs.WriteRequest{AuthToken: token}}
	if done, err := s.forward("HostVolume.Delete", args, &reply); done {
		return reply.Index, err
	}
	snap := s.State().Snapshot()
	v, err := snap.HostVolumeByID(id)
	if err != nil {
		return 0, err
	}
	if v == nil || (namespace != "" && v.Namespace != namespace) {
		return 0, fmt.Errorf("%w: host volume %q", ErrNotFound, id)
	}
	allocs, err := snap.AllocsByNode(v.NodeID)
	if err != nil {
		return 0, err
	}
	var users []string
	for _, a := range allocs {
		if !structs.AllocTerminal(a) && a.Namespace == v.Namespace && structs.MountsHostVolume(a, v.Name) {
			users = append(users, a.ID[:8])
		}
	}
	if len(users) > 0 {
		return 0, fmt.Errorf("%w: host volume %s is in use by allocations %s", ErrInvalid, id, strings.Join(users, ", "))
	}
	return s.raftApply(structs.HostVolumeDeleteRequestType, &structs.HostVolumeDeleteRequest{IDs: []string{id}})
}

// NodeHostVolumes blocks until the host volumes change past minIndex (or
// wait passes) and returns those placed on the node.
func (s *Server) NodeHostVolumes(ctx context.Context, nodeID string, minIndex uint64, wait time.Duration) ([]*api.HostVolume, uint64, error) {
	var vols []*api.HostVolume
	index, err := s.State().BlockingQuery(ctx, minIndex, wait, func(snap *state.Snapshot) (uint64, error) {
		var err error
		vols, err = snap.HostVolumesByNode(nodeID)
		return max(snap.HostVolumesIndex(), 1), err
	})
	return vols, index, err
}

// UpdateHostVolume records what a client made of a volume: its path and
// state.
func (s *Server) UpdateHostVolume(update *structs.HostVolumeUpdateArgs) error {
	if done, err := s.forward("Node.UpdateHostVolume", &structs.HostVolumeUpdateArgs{ID: update.ID, HostPath: update.HostPath,
		State: update.State, CapacityBytes: update.CapacityBytes}, &structs.IndexReply{}); done {
		return err
	}
	v, err := s.State().Snapshot().HostVolumeByID(update.ID)
	if err != nil || v == nil {
		return err // deleted meanwhile: nothing to record
	}
	c := *v
	c.HostPath, c.State, c.CapacityBytes = update.HostPath, update.State, update.CapacityBytes
	_, err = s.raftApply(structs.HostVolumeUpsertRequestType, &structs.HostVolumeUpsertRequest{Volumes: []*api.HostVolume{&c}, Time: time.Now().UnixNano()})
	return err
}

// hostVolumesAllowed is the check that the token may mount every host
// volume the job's groups ask for: mount-readonly for read-only ones,
// mount-readwrite for the others, as Nomad's host_volume rules grant them.
func hostVolumesAllowed(job *api.Job) func(*acl.ACL) bool {
	return func(a *acl.ACL) bool {
		for _, tg := range job.TaskGroups {
			for _, v := range tg.Volumes {
				if v == nil || v.Type != "host" {
					continue
				}
				cap := acl.HostVolumeCapabilityMountReadWrite
				if v.ReadOnly {
					cap = acl.HostVolumeCapabilityMountReadOnly
				}
				if !a.AllowHostVolumeOperation(v.Source, cap) {
					return false
				}
			}
		}
		return true
	}
}
