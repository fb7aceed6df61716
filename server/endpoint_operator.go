package server

import (
	"errors"
	"fmt"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/acl"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// operatorEndpoint serves "Operator.*": the cluster-wide scheduler and
// autopilot configurations, which need operator write.
type operatorEndpoint struct{ s *Server }

// SchedulerSetConfig sets the scheduler configuration.
func (e *operatorEndpoint) SchedulerSetConfig(args *structs.SchedulerConfigArgs, reply *structs.ConfigSetReply) error {
	if err := e.s.authorize(args.AuthToken, (*acl.ACL).AllowOperatorWrite); err != nil {
		return err
	}
	r, err := e.s.SetSchedulerConfig(args.AuthToken, args.Config, args.CAS)
	*reply = r
	return err
}

// AutopilotSetConfig sets the autopilot configuration.
func (e *operatorEndpoint) AutopilotSetConfig(args *structs.AutopilotConfigArgs, reply *structs.ConfigSetReply) error {
	if err := e.s.authorize(args.AuthToken, (*acl.ACL).AllowOperatorWrite); err != nil {
		return err
	}
	r, err := e.s.SetAutopilotConfig(args.AuthToken, args.Config, args.CAS)
	*reply = r
	return err
}

// SetSchedulerConfig validates and stores the scheduler configuration; with
// cas it applies only if config.ModifyIndex is still the stored one's, and
// the reply says whether it did.
func (s *Server) SetSchedulerConfig(token string, config *api.SchedulerConfiguration, cas bool) (structs.ConfigSetReply, error) {
	var reply structs.ConfigSetReply
	args := &structs.SchedulerConfigArgs{SchedulerConfigRequest: structs.SchedulerConfigRequest{Config: config, CAS: cas},
		WriteRequest: structs.WriteRequest{AuthToken: token}}
	if done, err := s.forward("Operator.SchedulerSetConfig", args, &reply); done {
		return reply, err
	}
	if err := structs.ValidateSchedulerConfig(config); err != nil {
		return reply, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return configApplied(s.raftApply(structs.SchedulerConfigRequestType, &args.SchedulerConfigRequest))
}

// SetAutopilotConfig stores the autopilot configuration, with cas as
// SetSchedulerConfig's.
func (s *Server) SetAutopilotConfig(token string, config *api.AutopilotConfiguration, cas bool) (structs.ConfigSetReply, error) {
	var reply structs.ConfigSetReply
	args := &structs.AutopilotConfigArgs{AutopilotConfigRequest: structs.AutopilotConfigRequest{Config: config, CAS: cas},
		WriteRequest: structs.WriteRequest{AuthToken: token}}
	if done, err := s.forward("Operator.AutopilotSetConfig", args, &reply); done {
		return reply, err
	}
	if config == nil {
		return reply, fmt.Errorf("%w: missing autopilot configuration", ErrInvalid)
	}
	return configApplied(s.raftApply(structs.AutopilotConfigRequestType, &args.AutopilotConfigRequest))
}

// configApplied turns a configuration write's outcome into its reply: a
// CAS conflict is no error, only not Updated.
func configApplied(index uint64, err error) (structs.ConfigSetReply, error) {
	if errors.Is(err, state.ErrCASConflict) {
		return structs.ConfigSetReply{}, nil
	}
	if err != nil {
		return structs.ConfigSetReply{}, err
	}
	return structs.ConfigSetReply{Updated: true, Index: index}, nil
}

// registrationAllowed refuses a job registration while the scheduler
// configuration's RejectJobRegistration is set, unless token is a
// management token; with ACLs off nobody may register then, as in Nomad.
func (s *Server) registrationAllowed(token string) error {
	cfg, err := s.State().Snapshot().SchedulerConfig()
	if err != nil || !cfg.RejectJobRegistration {
		return err
	}
	if s.config.ACLEnabled {
		if a, _, err := s.ResolveToken(token); err == nil && a.IsManagement() {
			return nil
		}
	}
	return ErrPermissionDenied
}
