package state

import (
	"errors"
	"fmt"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// tableConfig holds the cluster-wide operator configurations, one row
// each: the scheduler's and autopilot's.
const tableConfig = "operator_config"

// The rows of tableConfig.
const (
	configScheduler = "scheduler"
	configAutopilot = "autopilot"
)

// ErrCASConflict is a check-and-set write that found the object changed
// since the index it was given; the write changes nothing.
var ErrCASConflict = errors.New("check-and-set index mismatch")

// ConfigEntry is one row of tableConfig: a named configuration.
type ConfigEntry struct {
	Name      string
	Scheduler *api.SchedulerConfiguration `json:",omitempty"`
	Autopilot *api.AutopilotConfiguration `json:",omitempty"`
}

func configTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableConfig, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Name"}},
	}}
}

func (s *Snapshot) configEntry(name string) (*ConfigEntry, error) {
	ch, raw, err := s.txn.FirstWatch(tableConfig, "id", name)
	if err != nil {
		return nil, fmt.Errorf("%s configuration lookup: %w", name, err)
	}
	s.watch(ch)
	if raw == nil {
		return nil, nil
	}
	return raw.(*ConfigEntry), nil
}

// SchedulerConfig is the scheduler configuration: the one last set, else
// the default.
func (s *Snapshot) SchedulerConfig() (*api.SchedulerConfiguration, error) {
	e, err := s.configEntry(configScheduler)
	if err != nil || e == nil {
		return structs.DefaultSchedulerConfig(), err
	}
	return e.Scheduler, nil
}

// AutopilotConfig is the autopilot configuration: the one last set, else
// the default.
func (s *Snapshot) AutopilotConfig() (*api.AutopilotConfiguration, error) {
	e, err := s.configEntry(configAutopilot)
	if err != nil || e == nil {
		return structs.DefaultAutopilotConfig(), err
	}
	return e.Autopilot, nil
}

// ConfigIndex is the Raft index at which an operator configuration last
// changed.
func (s *Snapshot) ConfigIndex() uint64 { return s.Index(tableConfig) }

// SetSchedulerConfig stores the scheduler configuration at index; a CAS
// request whose ModifyIndex is not the stored one's fails with
// ErrCASConflict.
func (s *Store) SetSchedulerConfig(index uint64, req *structs.SchedulerConfigRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		c := *req.Config
		if c.SchedulerAlgorithm == "" {
			c.SchedulerAlgorithm = api.SchedulerAlgorithmBinpack
		}
		return tx.setConfig(configScheduler, req.CAS, c.ModifyIndex, func(old *ConfigEntry) *ConfigEntry {
			c.CreateIndex, c.ModifyIndex = index, index
			if old != nil {
				c.CreateIndex = old.Scheduler.CreateIndex
			}
			return &ConfigEntry{Name: configScheduler, Scheduler: &c}
		})
	})
}

// SetAutopilotConfig stores the autopilot configuration at index, with
// CAS as SetSchedulerConfig's.
func (s *Store) SetAutopilotConfig(index uint64, req *structs.AutopilotConfigRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		c := *req.Config
		return tx.setConfig(configAutopilot, req.CAS, c.ModifyIndex, func(old *ConfigEntry) *ConfigEntry {
			c.CreateIndex, c.ModifyIndex = index, index
			if old != nil {
				c.CreateIndex = old.Autopilot.CreateIndex
			}
			return &ConfigEntry{Name: configAutopilot, Autopilot: &c}
		})
	})
}

// setConfig replaces the named row by what build makes of the old one,
// after the CAS check: casIndex must be the stored row's modify index (0
// while none is stored).
func (tx *writeTxn) setConfig(name string, cas bool, casIndex uint64, build func(old *ConfigEntry) *ConfigEntry) error {
	raw, err := tx.First(tableConfig, "id", name)
	if err != nil {
		return fmt.Errorf("%s configuration lookup: %w", name, err)
	}
	var old *ConfigEntry
	var current uint64
	if raw != nil {
		old = raw.(*ConfigEntry)
		current = configModifyIndex(old)
	}
	if cas && casIndex != current {
		return fmt.Errorf("%s configuration: %w", name, ErrCASConflict)
	}
	return tx.insert(tableConfig, build(old))
}

func configModifyIndex(e *ConfigEntry) uint64 {
	switch {
	case e.Scheduler != nil:
		return e.Scheduler.ModifyIndex
	case e.Autopilot != nil:
		return e.Autopilot.ModifyIndex
	}
	return 0
}
