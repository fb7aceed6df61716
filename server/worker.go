package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/scheduler"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// schedulerTypes are the job types this server's workers schedule.
var schedulerTypes = []string{structs.JobTypeService, structs.JobTypeBatch, structs.JobTypeSystem, structs.JobTypeSysbatch}

// worker takes evaluations from the broker and runs the scheduler for each
// against a state snapshot at least as new as the evaluation.
type worker struct {
	srv    *Server
	logger *slog.Logger
	id     string
	// types are the job types the worker schedules.
	types   []string
	started time.Time
	cancel  context.CancelFunc
	// busy is set while the worker runs the scheduler.
	busy atomic.Bool
}

// run processes evaluations until ctx ends.
func (w *worker) run(ctx context.Context) {
	for {
		eval, token, err := w.srv.broker.Dequeue(ctx, w.types)
		if err != nil {
			return
		}
		w.busy.Store(true)
		err = w.process(ctx, eval)
		w.busy.Store(false)
		if err != nil {
			w.logger.Error("evaluation failed", "eval_id", eval.ID, "job_id", eval.JobID, "error", err)
			_ = w.srv.broker.Nack(eval.ID, token)
			continue
		}
		_ = w.srv.broker.Ack(eval.ID, token)
	}
}

func (w *worker) process(ctx context.Context, eval *api.Evaluation) error {
	snap, err := w.srv.snapshotMinIndex(ctx, eval.ModifyIndex, 5*time.Second)
	if err != nil {
		return err
	}
	p := &workerPlanner{ctx: ctx, srv: w.srv, eval: eval, snapIndex: snap.LatestIndex()}
	pool := ""
	if job, err := snap.JobByID(eval.Namespace, eval.JobID); err == nil && job != nil && job.NodePool != nil {
		pool = *job.NodePool
	}
	sched, err := scheduler.New(eval.Type, snap, p, scheduler.Options{Logger: w.logger, Algorithm: schedulerAlgorithm(snap, pool)})
	if err != nil {
		return fmt.Errorf("eval %s: %w", eval.ID, err)
	}
	return sched.Process(eval)
}

// schedulerAlgorithm is the ranking for a job in pool: the pool's own
// scheduler configuration's, else the cluster's.
func schedulerAlgorithm(snap *state.Snapshot, pool string) api.SchedulerAlgorithm {
	if p, err := snap.NodePoolByName(pool); err == nil && p != nil && p.SchedulerConfiguration != nil &&
		p.SchedulerConfiguration.SchedulerAlgorithm != "" {
		return p.SchedulerConfiguration.SchedulerAlgorithm
	}
	cfg, err := snap.SchedulerConfig()
	if err != nil {
		return api.SchedulerAlgorithmBinpack
	}
	return cfg.SchedulerAlgorithm
}

// workerPlanner is the scheduler's Planner inside a server: plans go to
// the plan applier, evaluations through Raft.
type workerPlanner struct {
	ctx  context.Context
	srv  *Server
	eval *api.Evaluation
	// snapIndex is the index of the state the scheduler works from.
	snapIndex uint64
}

func (p *workerPlanner) SubmitPlan(plan *structs.Plan) (*structs.PlanResult, scheduler.State, error) {
	result, err := p.srv.planner.Submit(p.ctx, plan)
	if err != nil {
		return nil, nil, err
	}
	if result.RefreshIndex == 0 {
		return result, nil, nil
	}
	snap, err := p.srv.snapshotMinIndex(p.ctx, max(result.RefreshIndex, result.AllocIndex), 5*time.Second)
	if err != nil {
		return nil, nil, err
	}
	p.snapIndex = snap.LatestIndex()
	return result, snap, nil
}

func (p *workerPlanner) UpdateEval(eval *api.Evaluation) error {
	_, err := p.srv.raftApply(structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: []*api.Evaluation{eval}, Time: time.Now().UnixNano()})
	return err
}

// CreateEval writes a new evaluation; a blocked one records the state it
// was scheduled from, so that a capacity change it missed releases it.
func (p *workerPlanner) CreateEval(eval *api.Evaluation) error {
	if eval.Status == structs.EvalStatusBlocked {
		eval.SnapshotIndex = p.snapIndex
	}
	return p.UpdateEval(eval)
}

func (p *workerPlanner) ReblockEval(eval *api.Evaluation) error {
	return p.CreateEval(eval)
}

// snapshotMinIndex waits until the state store has applied index, then
// returns a snapshot.
func (s *Server) snapshotMinIndex(ctx context.Context, index uint64, timeout time.Duration) (*state.Snapshot, error) {
	deadline := time.Now().Add(timeout)
	for {
		store := s.fsm.State()
		snap := store.Snapshot()
		if snap.LatestIndex() >= index {
			return snap, nil
		}
		remaining := time.Until(deadline)
		if remaining <= 0 {
			return nil, fmt.Errorf("timed out waiting for state index %d", index)
		}
		_, err := store.BlockingQuery(ctx, snap.LatestIndex(), remaining, func(sn *state.Snapshot) (uint64, error) {
			return sn.LatestIndex(), nil
		})
		if err != nil {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}
