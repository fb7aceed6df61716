package state

import (
	"fmt"
	"sort"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// tableHostVolumes holds dynamic host volumes.
const tableHostVolumes = "host_volumes"

// hostVolumesTableSchema indexes volumes by ID, by namespace and name, and
// by node.
func hostVolumesTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableHostVolumes, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
		"name": {Name: "name", Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
			&memdb.StringFieldIndex{Field: "Namespace"},
			&memdb.StringFieldIndex{Field: "Name"},
		}}},
		"node_id": {Name: "node_id", Indexer: &memdb.StringFieldIndex{Field: "NodeID"}},
	}}
}

// HostVolumesIndex is the Raft index at which host volumes last changed.
func (s *Snapshot) HostVolumesIndex() uint64 { return s.Index(tableHostVolumes) }

// HostVolumes lists the volumes of a namespace ("*": all), by name then ID.
func (s *Snapshot) HostVolumes(namespace string) ([]*api.HostVolume, error) {
	if namespace == "*" {
		return s.hostVolumeList("id")
	}
	return s.hostVolumeList("name_prefix", namespace, "")
}

// HostVolumesByNode lists the volumes placed on a node.
func (s *Snapshot) HostVolumesByNode(nodeID string) ([]*api.HostVolume, error) {
	return s.hostVolumeList("node_id", nodeID)
}

// HostVolumesByName lists the volumes of one name in a namespace.
func (s *Snapshot) HostVolumesByName(namespace, name string) ([]*api.HostVolume, error) {
	return s.hostVolumeList("name", namespace, name)
}

// HostVolumeByID returns a volume, or nil.
func (s *Snapshot) HostVolumeByID(id string) (*api.HostVolume, error) {
	ch, raw, err := s.txn.FirstWatch(tableHostVolumes, "id", id)
	if err != nil {
		return nil, fmt.Errorf("host volume lookup: %w", err)
	}
	s.watch(ch)
	if raw == nil {
		return nil, nil
	}
	return raw.(*api.HostVolume), nil
}

func (s *Snapshot) hostVolumeList(index string, args ...any) ([]*api.HostVolume, error) {
	it, err := s.txn.Get(tableHostVolumes, index, args...)
	if err != nil {
		return nil, fmt.Errorf("host volume list: %w", err)
	}
	s.watch(it.WatchCh())
	var out []*api.HostVolume
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*api.HostVolume))
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// UpsertHostVolumes stores volumes, keeping each one's create index and
// time.
func (s *Store) UpsertHostVolumes(index uint64, req *structs.HostVolumeUpsertRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		for _, v := range req.Volumes {
			if v == nil || v.ID == "" {
				return fmt.Errorf("host volume without an ID")
			}
			raw, err := tx.First(tableHostVolumes, "id", v.ID)
			if err != nil {
				return fmt.Errorf("host volume lookup: %w", err)
			}
			c := *v
			c.CreateIndex, c.CreateTime = index, req.Time
			if raw != nil {
				old := raw.(*api.HostVolume)
				c.CreateIndex, c.CreateTime = old.CreateIndex, old.CreateTime
			}
			c.ModifyIndex, c.ModifyTime = index, req.Time
			if err := tx.insert(tableHostVolumes, &c); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteHostVolumes removes volumes by ID; IDs already gone are skipped.
func (s *Store) DeleteHostVolumes(index uint64, req *structs.HostVolumeDeleteRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		for _, id := range req.IDs {
			n, err := tx.DeleteAll(tableHostVolumes, "id", id)
			if err != nil {
				return fmt.Errorf("delete host volume %s: %w", id, err)
			}
			if n > 0 {
				tx.touched[tableHostVolumes] = true
			}
		}
		return nil
	})
}
