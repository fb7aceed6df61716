package devices

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/hashicorp/nomad/api"
)

// Manager runs the device plugins of one client: it fingerprints them,
// remembers which plugin reported which group, and routes reservations and
// stats to them.
type Manager struct {
	plugins []Plugin
	logger  *slog.Logger

	mu     sync.Mutex
	owners map[string]Plugin // group ID -> plugin
	// reasons holds the last reason each plugin gave for finding nothing,
	// so that it is logged once, not at every check.
	reasons map[string]string
}

// NewManager returns a manager over the plugins.
func NewManager(logger *slog.Logger, plugins ...Plugin) *Manager {
	return &Manager{plugins: plugins, logger: logger.With("component", "devices"),
		owners: map[string]Plugin{}, reasons: map[string]string{}}
}

// Fingerprint asks every plugin for its devices. A plugin that fails is
// logged, with the reason it gave, and contributes no devices: a machine
// without a vendor's library or devices still runs.
func (m *Manager) Fingerprint(ctx context.Context) []*api.NodeDeviceResource {
	var all []*api.NodeDeviceResource
	owners := map[string]Plugin{}
	for _, p := range m.plugins {
		groups, err := p.Fingerprint(ctx)
		m.noteReason(p, err, len(groups))
		for _, g := range groups {
			owners[GroupID(g)] = p
			all = append(all, g)
		}
	}
	m.mu.Lock()
	m.owners = owners
	m.mu.Unlock()
	return all
}

// noteReason logs a plugin's failure, or its recovery, when it changes.
func (m *Manager) noteReason(p Plugin, err error, found int) {
	reason := ""
	if err != nil {
		reason = err.Error()
	}
	m.mu.Lock()
	last, seen := m.reasons[p.Name()]
	m.reasons[p.Name()] = reason
	m.mu.Unlock()
	switch {
	case reason != "" && (!seen || reason != last):
		m.logger.Info("no devices fingerprinted", "plugin", p.Name(), "reason", reason)
	case reason == "" && (!seen || last != ""):
		m.logger.Info("devices fingerprinted", "plugin", p.Name(), "groups", found)
	}
}

// Stats samples the devices of every plugin whose last fingerprint found
// some; a plugin that fails is skipped.
func (m *Manager) Stats(ctx context.Context) []*api.DeviceGroupStats {
	var all []*api.DeviceGroupStats
	for _, p := range m.plugins {
		m.mu.Lock()
		reason, seen := m.reasons[p.Name()]
		m.mu.Unlock()
		if !seen || reason != "" {
			continue
		}
		stats, err := p.Stats(ctx)
		if err != nil {
			m.logger.Debug("device stats", "plugin", p.Name(), "error", err)
			continue
		}
		all = append(all, stats...)
	}
	return all
}

// Reserve collects what a task needs for its allocated devices.
func (m *Manager) Reserve(allocated []*api.AllocatedDeviceResource) (*Reservation, error) {
	r := &Reservation{Env: map[string]string{}}
	for _, d := range allocated {
		if d == nil || len(d.DeviceIDs) == 0 {
			continue
		}
		m.mu.Lock()
		p, ok := m.owners[AllocatedID(d)]
		m.mu.Unlock()
		if !ok {
			return nil, fmt.Errorf("device %s: no device plugin on this node reports it", AllocatedID(d))
		}
		res, err := p.Reserve(d.DeviceIDs)
		if err != nil {
			return nil, fmt.Errorf("reserve device %s: %w", AllocatedID(d), err)
		}
		r.merge(res)
	}
	return r, nil
}

// StatsFor picks, out of a node's device statistics, those of the
// allocated instances.
func StatsFor(stats []*api.DeviceGroupStats, allocated []*api.AllocatedDeviceResource) []*api.DeviceGroupStats {
	var out []*api.DeviceGroupStats
	for _, d := range allocated {
		for _, g := range stats {
			if g.Vendor != d.Vendor || g.Type != d.Type || g.Name != d.Name {
				continue
			}
			picked := &api.DeviceGroupStats{Vendor: g.Vendor, Type: g.Type, Name: g.Name, InstanceStats: map[string]*api.DeviceStats{}}
			for _, id := range d.DeviceIDs {
				if s, ok := g.InstanceStats[id]; ok {
					picked.InstanceStats[id] = s
				}
			}
			if len(picked.InstanceStats) > 0 {
				out = append(out, picked)
			}
		}
	}
	return out
}
