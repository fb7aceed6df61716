package server

import (
	"context"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/roam-project/roam/structs"
)

// WaitForLeader blocks until the cluster has a leader whose loops are
// running, or ctx ends.
func (s *Server) WaitForLeader(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		s.leaderMu.Lock()
		ready := s.leaderCancel != nil
		s.leaderMu.Unlock()
		if ready || (s.Leader() != "" && !s.IsLeader()) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// evalsUpserted routes newly written evaluations to the leader's loops.
func (s *Server) evalsUpserted(evals []*api.Evaluation) {
	for _, e := range evals {
		switch e.Status {
		case structs.EvalStatusPending:
			s.broker.Enqueue(e)
		case structs.EvalStatusBlocked:
			s.blocked.Block(e)
		}
	}
}

// schedulerConfigChanged pauses or resumes the leader's eval broker as the
// new scheduler configuration's PauseEvalBroker says; resumed, it gets the
// pending evaluations back from the state.
func (s *Server) schedulerConfigChanged() {
	if !s.IsLeader() {
		return
	}
	on := !s.brokerPaused()
	if s.broker.Enabled() == on {
		return
	}
	s.broker.SetEnabled(on)
	if on {
		s.restoreEvals()
	}
}

// brokerPaused reports whether the scheduler configuration pauses the eval
// broker.
func (s *Server) brokerPaused() bool {
	cfg, err := s.State().Snapshot().SchedulerConfig()
	return err == nil && cfg.PauseEvalBroker
}

// capacityChanged wakes blocked evaluations after a change at index.
func (s *Server) capacityChanged(index uint64) { s.blocked.Unblock(index) }

// failEval marks an evaluation failed after too many delivery attempts.
func (s *Server) failEval(e *api.Evaluation) {
	s.finishEval(e, structs.EvalStatusFailed, "evaluation reached delivery limit (3)")
}

// cancelEval marks an evaluation superseded by a newer one of its job.
func (s *Server) cancelEval(e *api.Evaluation) {
	s.finishEval(e, structs.EvalStatusCancelled, "canceled after more recent eval was processed")
}

// finishEval commits e's final status with the next batch.
func (s *Server) finishEval(e *api.Evaluation, status, desc string) {
	updated := *e
	updated.Status = status
	updated.StatusDescription = desc
	s.evalUpdates.add(&updated)
}

// monitorLeadership starts the leader's loops when this server gains
// leadership and stops them when it loses it.
func (s *Server) monitorLeadership() {
	ch := s.raft.LeaderCh()
	for {
		select {
		case <-s.shutdownCtx.Done():
			s.revokeLeadership()
			return
		case isLeader := <-ch:
			if isLeader {
				s.establishLeadership()
			} else {
				s.revokeLeadership()
			}
		}
	}
}

func (s *Server) establishLeadership() {
	s.leaderMu.Lock()
	defer s.leaderMu.Unlock()
	if s.leaderCancel != nil {
		return
	}
	// Everything committed before this term must be applied first, so
	// that the loops below start from the whole state.
	if err := s.raft.Barrier(30 * time.Second).Error(); err != nil {
		s.logger.Error("raft barrier on leadership", "error", err)
		return
	}
	ctx, cancel := context.WithCancel(s.shutdownCtx)
	s.leaderCancel = cancel
	s.broker.SetEnabled(!s.brokerPaused())
	s.blocked.SetEnabled(true)
	s.restoreEvals()
	s.restoreVarLocks()
	s.migrateLegacyKeys()
	s.ensureSigningKey()
	s.goRun(func() { s.planner.Run(ctx) })
	s.beats.Start(ctx)
	s.goRun(func() { s.runGC(ctx) })
	s.goRun(func() { s.runKeyRotation(ctx) })
	s.goRun(func() { s.runPeriodicDispatcher(ctx) })
	s.goRun(func() { s.runDeploymentWatcher(ctx) })
	s.goRun(func() { s.runNodeDrainer(ctx) })
	s.goRun(s.reconcilePeers)
	s.goRun(func() { s.cleanupDeadServers(ctx) })
	if s.pool != nil {
		s.resumeMultiregionRollouts()
	}
	if auth := s.config.AuthoritativeRegion; auth != "" && auth != s.config.Region && s.pool != nil {
		s.goRun(func() { s.runReplication(ctx) })
	}
	s.logger.Info("cluster leadership acquired")
}

func (s *Server) revokeLeadership() {
	s.leaderMu.Lock()
	defer s.leaderMu.Unlock()
	if s.leaderCancel == nil {
		return
	}
	s.leaderCancel()
	s.leaderCancel = nil
	s.broker.SetEnabled(false)
	s.blocked.SetEnabled(false)
	s.beats.Stop()
	s.locks.stopAll()
	s.logger.Info("cluster leadership lost")
}

// restoreEvals hands stored pending and blocked evaluations to the new
// leader's broker and blocked tracker.
func (s *Server) restoreEvals() {
	evals, err := s.State().Snapshot().Evals("")
	if err != nil {
		s.logger.Error("restore evaluations", "error", err)
		return
	}
	s.evalsUpserted(evals)
}
