package structs

import (
	"fmt"
	"time"

	"github.com/hashicorp/nomad/api"
)

// SchedulerConfigRequest is the Raft entry that sets the scheduler
// configuration; with CAS it applies only while the stored configuration's
// ModifyIndex is still the one Config carries.
type SchedulerConfigRequest struct {
	Config *api.SchedulerConfiguration
	CAS    bool
}

// AutopilotConfigRequest is the Raft entry that sets the autopilot
// configuration, with CAS as SchedulerConfigRequest's.
type AutopilotConfigRequest struct {
	Config *api.AutopilotConfiguration
	CAS    bool
}

// SchedulerConfigArgs carries a scheduler configuration to the leader.
type SchedulerConfigArgs struct {
	SchedulerConfigRequest
	WriteRequest
}

// AutopilotConfigArgs carries an autopilot configuration to the leader.
type AutopilotConfigArgs struct {
	AutopilotConfigRequest
	WriteRequest
}

// ConfigSetReply answers a configuration write: Updated is false when a
// CAS write found the configuration changed since.
type ConfigSetReply struct {
	Updated bool
	Index   uint64
}

// DefaultSchedulerConfig is the scheduler configuration of a new cluster,
// as Nomad's: bin-packing, preemption for system jobs only.
func DefaultSchedulerConfig() *api.SchedulerConfiguration {
	return &api.SchedulerConfiguration{
		SchedulerAlgorithm: api.SchedulerAlgorithmBinpack,
		PreemptionConfig:   api.PreemptionConfig{SystemSchedulerEnabled: true, SysBatchSchedulerEnabled: true},
	}
}

// DefaultAutopilotConfig is the autopilot configuration of a new cluster,
// as Nomad's.
func DefaultAutopilotConfig() *api.AutopilotConfiguration {
	return &api.AutopilotConfiguration{
		CleanupDeadServers:      true,
		LastContactThreshold:    200 * time.Millisecond,
		MaxTrailingLogs:         250,
		ServerStabilizationTime: 10 * time.Second,
	}
}

// ValidateSchedulerConfig checks a scheduler configuration; an empty
// algorithm means binpack.
func ValidateSchedulerConfig(c *api.SchedulerConfiguration) error {
	if c == nil {
		return fmt.Errorf("missing scheduler configuration")
	}
	switch c.SchedulerAlgorithm {
	case "", api.SchedulerAlgorithmBinpack, api.SchedulerAlgorithmSpread:
		return nil
	}
	return fmt.Errorf("invalid scheduler algorithm %q: must be %q or %q", c.SchedulerAlgorithm, api.SchedulerAlgorithmBinpack, api.SchedulerAlgorithmSpread)
}
