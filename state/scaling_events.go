package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// tableScalingEvents holds each job's scaling events, by group.
const tableScalingEvents = "scaling_events"

// ScalingEvents are the scaling events of one job, newest first per group.
type ScalingEvents struct {
	Namespace, JobID string
	Groups           map[string][]*api.ScalingEvent
}

func scalingEventsTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableScalingEvents, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
			&memdb.StringFieldIndex{Field: "Namespace"}, &memdb.StringFieldIndex{Field: "JobID"},
		}}},
	}}
}

// ScalingEventsOf returns a job's scaling events by group (empty when it
// has none).
func (s *Snapshot) ScalingEventsOf(namespace, jobID string) (map[string][]*api.ScalingEvent, error) {
	ch, raw, err := s.txn.FirstWatch(tableScalingEvents, "id", namespace, jobID)
	if err != nil {
		return nil, fmt.Errorf("scaling events lookup: %w", err)
	}
	s.watch(ch)
	if raw == nil {
		return map[string][]*api.ScalingEvent{}, nil
	}
	return raw.(*ScalingEvents).Groups, nil
}

// AddScalingEvent records a scaling event at index, keeping the newest
// structs.MaxScalingEvents of its group.
func (s *Store) AddScalingEvent(index uint64, req *structs.ScalingEventRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		raw, err := tx.First(tableScalingEvents, "id", req.Namespace, req.JobID)
		if err != nil {
			return fmt.Errorf("scaling events lookup: %w", err)
		}
		row := &ScalingEvents{Namespace: req.Namespace, JobID: req.JobID, Groups: map[string][]*api.ScalingEvent{}}
		if raw != nil {
			for g, evs := range raw.(*ScalingEvents).Groups {
				row.Groups[g] = evs
			}
		}
		ev := *req.Event
		ev.CreateIndex = index
		events := append([]*api.ScalingEvent{&ev}, row.Groups[req.Group]...)
		if len(events) > structs.MaxScalingEvents {
			events = events[:structs.MaxScalingEvents]
		}
		row.Groups[req.Group] = events
		return tx.insert(tableScalingEvents, row)
	})
}

// deleteScalingEvents drops a purged job's scaling events.
func (tx *writeTxn) deleteScalingEvents(ns, id string) error {
	raw, err := tx.First(tableScalingEvents, "id", ns, id)
	if err != nil || raw == nil {
		return err
	}
	return tx.delete(tableScalingEvents, raw)
}
