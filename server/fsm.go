package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/hashicorp/nomad/api"
	"github.com/hashicorp/raft"

	"github.com/roam-project/roam/events"
	"github.com/roam-project/roam/internal/codec"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// fsm applies committed Raft entries to the state store. It is the only
// writer of the store. After each apply it tells the leader's loops (eval
// broker, blocked evals) what changed through the hooks.
type fsm struct {
	mu     sync.RWMutex
	store  *state.Store
	logger *slog.Logger
	hooks  fsmHooks
	// events receives the events of every entry applied.
	events *events.Broker
}

// fsmHooks are called after entries apply; the server routes them to its
// leader-only loops, which ignore them on followers.
type fsmHooks interface {
	evalsUpserted(evals []*api.Evaluation)
	capacityChanged(index uint64)
	// schedulerConfigChanged follows a new scheduler configuration (the
	// eval broker's pause).
	schedulerConfigChanged()
}

func newFSM(logger *slog.Logger, hooks fsmHooks, broker *events.Broker) (*fsm, error) {
	store, err := state.New()
	if err != nil {
		return nil, err
	}
	return &fsm{store: store, logger: logger, hooks: hooks, events: broker}, nil
}

// State returns the current store; a snapshot restore replaces it.
func (f *fsm) State() *state.Store {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.store
}

// encodeMessage frames a request as a Raft log entry: a type byte, the
// format byte codec.Format, then the request in msgpack. Entries written
// before have JSON after the type byte (see decodeMessage).
func encodeMessage(t structs.MessageType, req any) ([]byte, error) {
	data, err := codec.AppendMarshal([]byte{byte(t), codec.Format}, req)
	if err != nil {
		return nil, fmt.Errorf("encode raft message %d: %w", t, err)
	}
	return data, nil
}

// decodeMessage decodes the body of a log entry (what follows its type
// byte) into req: msgpack after codec.Format, or the JSON of earlier
// versions.
func decodeMessage(body []byte, req any) error {
	switch {
	case len(body) > 0 && body[0] == codec.Format:
		return codec.Unmarshal(body[1:], req)
	case codec.IsJSON(body):
		return json.Unmarshal(body, req)
	case len(body) == 0:
		return errors.New("empty body")
	}
	return fmt.Errorf("unknown encoding %#02x", body[0])
}

// Apply implements raft.FSM.
func (f *fsm) Apply(l *raft.Log) any {
	if len(l.Data) == 0 {
		return nil
	}
	store := f.State()
	t, body := structs.MessageType(l.Data[0]), l.Data[1:]
	switch t {
	case structs.JobRegisterRequestType:
		var req structs.JobRegisterRequest
		return f.apply(l.Index, body, &req, func() error { return store.JobRegister(l.Index, &req) }, func() []*api.Evaluation { return evalSlice(req.Eval) }, nil)
	case structs.JobDeregisterRequestType:
		var req structs.JobDeregisterRequest
		return f.apply(l.Index, body, &req, func() error { return store.JobDeregister(l.Index, &req) }, func() []*api.Evaluation { return evalSlice(req.Eval) }, nil)
	case structs.EvalUpdateRequestType:
		var req structs.EvalUpdateRequest
		return f.apply(l.Index, body, &req, func() error { return store.EvalUpdate(l.Index, &req) }, func() []*api.Evaluation { return req.Evals }, nil)
	case structs.ApplyPlanResultsRequestType:
		var req structs.ApplyPlanResultsRequest
		return f.apply(l.Index, body, &req, func() error { return store.ApplyPlanResults(l.Index, &req) }, nil, func() bool { return len(req.Stopped) > 0 })
	case structs.ApplyPlanResultsBatchRequestType:
		var req structs.ApplyPlanResultsBatchRequest
		return f.apply(l.Index, body, &req, func() error { return store.ApplyPlanResultsBatch(l.Index, &req) }, nil, func() bool { return anyPlanStops(req.Plans) })
	case structs.AllocClientUpdateRequestType:
		var req structs.AllocClientUpdateRequest
		return f.apply(l.Index, body, &req, func() error { return store.AllocClientUpdate(l.Index, &req) }, func() []*api.Evaluation { return req.Evals }, func() bool { return anyClientTerminal(req.Allocs) })
	case structs.AllocDesiredTransitionRequestType:
		var req structs.AllocDesiredTransitionRequest
		return f.apply(l.Index, body, &req, func() error { return store.AllocDesiredTransition(l.Index, &req) }, func() []*api.Evaluation { return req.Evals }, nil)
	case structs.NodeRegisterRequestType:
		var req structs.NodeRegisterRequest
		return f.apply(l.Index, body, &req, func() error { return store.NodeRegister(l.Index, &req) }, func() []*api.Evaluation { return req.Evals }, always)
	case structs.NodeStatusUpdateRequestType:
		var req structs.NodeStatusUpdateRequest
		return f.apply(l.Index, body, &req, func() error { return store.NodeStatusUpdate(l.Index, &req) }, func() []*api.Evaluation { return req.Evals }, always)
	case structs.NodeEligibilityRequestType:
		var req structs.NodeEligibilityRequest
		return f.apply(l.Index, body, &req, func() error { return store.NodeEligibility(l.Index, &req) }, func() []*api.Evaluation { return req.Evals }, always)
	case structs.NodeDrainRequestType:
		var req structs.NodeDrainRequest
		return f.apply(l.Index, body, &req, func() error { return store.NodeDrain(l.Index, &req) }, func() []*api.Evaluation { return req.Evals }, always)
	case structs.VarApplyRequestType:
		var req structs.VarApplyRequest
		return f.apply(l.Index, body, &req, func() error { return store.VarApply(l.Index, &req) }, nil, nil)
	case structs.GCRequestType:
		var req structs.GCRequest
		return f.apply(l.Index, body, &req, func() error { return store.GC(l.Index, &req) }, func() []*api.Evaluation { return req.Evals }, nil)
	case structs.ServiceRegistrationUpsertRequestType:
		var req structs.ServiceRegistrationUpsertRequest
		return f.apply(l.Index, body, &req, func() error { return store.UpsertServiceRegistrations(l.Index, &req) }, nil, nil)
	case structs.HostVolumeUpsertRequestType:
		var req structs.HostVolumeUpsertRequest
		return f.apply(l.Index, body, &req, func() error { return store.UpsertHostVolumes(l.Index, &req) }, nil, nil)
	case structs.HostVolumeDeleteRequestType:
		var req structs.HostVolumeDeleteRequest
		return f.apply(l.Index, body, &req, func() error { return store.DeleteHostVolumes(l.Index, &req) }, nil, nil)
	case structs.ServiceRegistrationDeleteRequestType:
		var req structs.ServiceRegistrationDeleteRequest
		return f.apply(l.Index, body, &req, func() error { return store.DeleteServiceRegistrations(l.Index, &req) }, nil, nil)
	case structs.DeploymentUpsertRequestType:
		var req structs.DeploymentUpsertRequest
		return f.apply(l.Index, body, &req, func() error { return store.DeploymentUpsert(l.Index, &req) }, func() []*api.Evaluation { return req.Evals }, nil)
	case structs.RootKeyUpsertRequestType:
		var req structs.RootKeyUpsertRequest
		return f.apply(l.Index, body, &req, func() error { return store.RootKeyUpsert(l.Index, &req) }, nil, nil)
	case structs.RootKeyDeleteRequestType:
		var req structs.RootKeyDeleteRequest
		return f.apply(l.Index, body, &req, func() error { return store.RootKeyDelete(l.Index, &req) }, nil, nil)
	case structs.NamespaceUpsertRequestType:
		var req structs.NamespaceUpsertRequest
		return f.apply(l.Index, body, &req, func() error { return store.UpsertNamespaces(l.Index, &req) }, nil, nil)
	case structs.NamespaceDeleteRequestType:
		var req structs.NamespaceDeleteRequest
		return f.apply(l.Index, body, &req, func() error { return store.DeleteNamespaces(l.Index, &req) }, nil, nil)
	case structs.ACLPolicyUpsertRequestType:
		var req structs.ACLPolicyUpsertRequest
		return f.apply(l.Index, body, &req, func() error { return store.UpsertACLPolicies(l.Index, &req) }, nil, nil)
	case structs.ACLPolicyDeleteRequestType:
		var req structs.ACLPolicyDeleteRequest
		return f.apply(l.Index, body, &req, func() error { return store.DeleteACLPolicies(l.Index, &req) }, nil, nil)
	case structs.ACLTokenUpsertRequestType:
		var req structs.ACLTokenUpsertRequest
		return f.apply(l.Index, body, &req, func() error { return store.UpsertACLTokens(l.Index, &req) }, nil, nil)
	case structs.ACLTokenDeleteRequestType:
		var req structs.ACLTokenDeleteRequest
		return f.apply(l.Index, body, &req, func() error { return store.DeleteACLTokens(l.Index, &req) }, nil, nil)
	case structs.ACLTokenBootstrapRequestType:
		var req structs.ACLTokenBootstrapRequest
		return f.apply(l.Index, body, &req, func() error { return store.BootstrapACLToken(l.Index, &req) }, nil, nil)
	case structs.ACLRoleUpsertRequestType:
		var req structs.ACLRoleUpsertRequest
		return f.apply(l.Index, body, &req, func() error { return store.UpsertACLRoles(l.Index, &req) }, nil, nil)
	case structs.ACLRoleDeleteRequestType:
		var req structs.ACLRoleDeleteRequest
		return f.apply(l.Index, body, &req, func() error { return store.DeleteACLRoles(l.Index, &req) }, nil, nil)
	case structs.SchedulerConfigRequestType:
		var req structs.SchedulerConfigRequest
		res := f.apply(l.Index, body, &req, func() error { return store.SetSchedulerConfig(l.Index, &req) }, nil, nil)
		if res == nil {
			f.hooks.schedulerConfigChanged()
		}
		return res
	case structs.AutopilotConfigRequestType:
		var req structs.AutopilotConfigRequest
		return f.apply(l.Index, body, &req, func() error { return store.SetAutopilotConfig(l.Index, &req) }, nil, nil)
	case structs.NodePoolUpsertRequestType:
		var req structs.NodePoolUpsertRequest
		return f.apply(l.Index, body, &req, func() error { return store.UpsertNodePools(l.Index, &req) }, nil, nil)
	case structs.NodePoolDeleteRequestType:
		var req structs.NodePoolDeleteRequest
		return f.apply(l.Index, body, &req, func() error { return store.DeleteNodePools(l.Index, &req) }, nil, nil)
	case structs.SubnetLeaseRequestType:
		var req structs.SubnetLeaseRequest
		return f.apply(l.Index, body, &req, func() error { return store.UpsertSubnetLease(l.Index, &req) }, nil, nil)
	case structs.ScalingEventRequestType:
		var req structs.ScalingEventRequest
		return f.apply(l.Index, body, &req, func() error { return store.AddScalingEvent(l.Index, &req) }, nil, nil)
	case structs.OneTimeTokenUpsertRequestType:
		var req structs.OneTimeTokenUpsertRequest
		return f.apply(l.Index, body, &req, func() error { return store.UpsertOneTimeToken(l.Index, &req) }, nil, nil)
	case structs.OneTimeTokenExchangeRequestType:
		var req structs.OneTimeTokenExchangeRequest
		return f.apply(l.Index, body, &req, func() error { return store.ExchangeOneTimeToken(l.Index, &req) }, nil, nil)
	case structs.OneTimeTokenExpireRequestType:
		var req structs.OneTimeTokenExpireRequest
		return f.apply(l.Index, body, &req, func() error { return store.ExpireOneTimeTokens(l.Index, &req) }, nil, nil)
	case structs.ACLAuthMethodUpsertRequestType:
		var req structs.ACLAuthMethodUpsertRequest
		return f.apply(l.Index, body, &req, func() error { return store.UpsertACLAuthMethods(l.Index, &req) }, nil, nil)
	case structs.ACLAuthMethodDeleteRequestType:
		var req structs.ACLAuthMethodDeleteRequest
		return f.apply(l.Index, body, &req, func() error { return store.DeleteACLAuthMethods(l.Index, &req) }, nil, nil)
	case structs.ACLBindingRuleUpsertRequestType:
		var req structs.ACLBindingRuleUpsertRequest
		return f.apply(l.Index, body, &req, func() error { return store.UpsertACLBindingRules(l.Index, &req) }, nil, nil)
	case structs.ACLBindingRuleDeleteRequestType:
		var req structs.ACLBindingRuleDeleteRequest
		return f.apply(l.Index, body, &req, func() error { return store.DeleteACLBindingRules(l.Index, &req) }, nil, nil)
	default:
		// An entry from a newer version: refusing to go on would wedge the
		// cluster, so it is logged loudly and skipped.
		f.logger.Error("unknown raft message type, skipped", "type", t, "index", l.Index)
		return nil
	}
}

// apply decodes body into req, runs write, then fires the hooks: evals
// lists the evaluations written, capacity (nil for never) reports whether
// the entry may have freed or added capacity. The returned value is the
// Raft future's Response: nil or an error.
func (f *fsm) apply(index uint64, body []byte, req any, write func() error, evals func() []*api.Evaluation, capacity func() bool) any {
	if err := decodeMessage(body, req); err != nil {
		f.logger.Error("decode raft message", "index", index, "error", err)
		return fmt.Errorf("decode raft message: %w", err)
	}
	before := f.State().Snapshot()
	if err := write(); err != nil {
		return err
	}
	if f.events != nil {
		f.events.Publish(events.Batch{Index: index, Events: eventsOf(index, req, before, f.State().Snapshot())})
	}
	if evals != nil {
		if es := evals(); len(es) > 0 {
			f.hooks.evalsUpserted(es)
		}
	}
	if capacity != nil && capacity() {
		f.hooks.capacityChanged(index)
	}
	return nil
}

// always marks node changes, which may always bring capacity.
func always() bool { return true }

// anyClientTerminal reports whether a client update frees resources: some
// allocation finished. Other updates (running, health) change no capacity,
// so they must not wake every blocked evaluation.
func anyClientTerminal(allocs []*api.Allocation) bool {
	for _, a := range allocs {
		if structs.AllocClientTerminal(a) {
			return true
		}
	}
	return false
}

// anyPlanStops reports whether some plan of a batch stops allocations,
// which frees capacity.
func anyPlanStops(plans []*structs.ApplyPlanResultsRequest) bool {
	for _, p := range plans {
		if len(p.Stopped) > 0 {
			return true
		}
	}
	return false
}

// evalSlice wraps an optional evaluation in a slice.
func evalSlice(e *api.Evaluation) []*api.Evaluation {
	if e == nil {
		return nil
	}
	return []*api.Evaluation{e}
}

// Snapshot implements raft.FSM: it captures the store for persistence.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{snap: f.State().Snapshot()}, nil
}

// Restore implements raft.FSM: it replaces the store with a snapshot's.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	store, err := state.Restore(rc)
	if err != nil {
		return fmt.Errorf("restore state snapshot: %w", err)
	}
	f.mu.Lock()
	old := f.store
	f.store = store
	f.mu.Unlock()
	old.Abandon()
	return nil
}

// fsmSnapshot writes a state snapshot to a Raft snapshot sink.
type fsmSnapshot struct {
	snap *state.Snapshot
}

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := s.snap.Persist(sink); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("persist state snapshot: %w", err)
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}
