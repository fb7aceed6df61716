// Package fingerprint detects what a client machine offers: CPU, memory,
// disk, network, operating system and kernel, as node attributes and node
// resources under the names Nomad uses.
package fingerprint

import (
	"fmt"

	"github.com/hashicorp/nomad/api"
)

// Config tells the fingerprinters where to look.
type Config struct {
	// NetworkInterface is the interface to fingerprint; "" means the
	// interface of the default route (loopback when there is none).
	NetworkInterface string
	// AllocDir is the directory whose filesystem holds allocations.
	AllocDir string
}

// Result is a machine's fingerprint.
type Result struct {
	Attributes map[string]string
	Resources  *api.NodeResources
}

// fingerprinter adds what it detects to a result.
type fingerprinter func(cfg Config, r *Result) error

// Host fingerprints this machine.
func Host(cfg Config) (*Result, error) {
	r := &Result{Attributes: map[string]string{}, Resources: &api.NodeResources{}}
	steps := []struct {
		name string
		run  fingerprinter
	}{
		{"cpu", cpu}, {"memory", memory}, {"storage", storage}, {"network", network}, {"host", host},
	}
	for _, s := range steps {
		if err := s.run(cfg, r); err != nil {
			return nil, fmt.Errorf("fingerprint %s: %w", s.name, err)
		}
	}
	return r, nil
}
