package server

import (
	"context"
	"time"

	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// gcInterval is how often the leader collects garbage on its own.
const gcInterval = 5 * time.Minute

// gcThreshold is how old terminal objects must be before the periodic
// collector removes them; a forced collection (`system gc`) ignores it.
const gcThreshold = 4 * time.Hour

// runGC collects garbage periodically while this server leads.
func (s *Server) runGC(ctx context.Context) {
	t := time.NewTicker(gcInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.collectGarbage(gcThreshold); err != nil {
				s.logger.Warn("garbage collection", "error", err)
			}
		}
	}
}

// GarbageCollect forces a collection of everything eligible now.
func (s *Server) GarbageCollect(token string) error {
	if done, err := s.forward("System.GarbageCollect", &structs.WriteRequest{AuthToken: token}, &structs.IndexReply{}); done {
		return err
	}
	return s.collectGarbage(0)
}

// collectGarbage removes terminal evaluations and allocations older than
// threshold, stopped jobs with nothing left running, and down nodes with
// no allocations.
func (s *Server) collectGarbage(threshold time.Duration) error {
	snap := s.State().Snapshot()
	cutoff := time.Now().Add(-threshold).UnixNano()
	req := &structs.GCRequest{}
	jobs, err := snap.Jobs("*", "")
	if err != nil {
		return err
	}
	for _, job := range jobs {
		s.gcJob(snap, job.Namespace, job.ID, job.Stop, job.Status, *job.Type, cutoff, req)
	}
	nodes, err := snap.Nodes()
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if n.Status != structs.NodeStatusDown {
			continue
		}
		allocs, err := snap.AllocsByNode(n.ID)
		if err != nil {
			return err
		}
		if len(allocs) == 0 && n.StatusUpdatedAt*1e9 <= cutoff {
			req.NodeIDs = append(req.NodeIDs, n.ID)
		}
	}
	if len(req.Jobs)+len(req.EvalIDs)+len(req.AllocIDs)+len(req.NodeIDs) == 0 {
		return nil
	}
	_, err = s.raftApply(structs.GCRequestType, req)
	for _, id := range req.NodeIDs {
		s.beats.Clear(id)
	}
	return err
}

// gcJob adds a job's collectable parts to req: its terminal evaluations
// and allocations, and the job itself once stopped and finished.
func (s *Server) gcJob(snap *state.Snapshot, ns, id *string, stop *bool, status *string, jobType string, cutoff int64, req *structs.GCRequest) {
	evals, _ := snap.EvalsByJob(*ns, *id)
	allocs, _ := snap.AllocsByJob(*ns, *id)
	live := false
	for _, e := range evals {
		if e.Status == structs.EvalStatusPending || e.Status == structs.EvalStatusBlocked {
			live = true
		}
	}
	var terminalAllocs []string
	for _, a := range allocs {
		if structs.AllocTerminal(a) && structs.AllocClientTerminal(a) && a.ModifyTime <= cutoff {
			terminalAllocs = append(terminalAllocs, a.ID)
		} else {
			live = true
		}
	}
	dead := status != nil && *status == structs.JobStatusDead
	stopped := stop != nil && *stop
	if !live && dead && (stopped || jobType == structs.JobTypeBatch) {
		req.Jobs = append(req.Jobs, structs.NamespacedID{Namespace: *ns, ID: *id})
	}
	if live && !dead {
		return
	}
	for _, e := range evals {
		if e.Status != structs.EvalStatusPending && e.Status != structs.EvalStatusBlocked && e.ModifyTime <= cutoff {
			req.EvalIDs = append(req.EvalIDs, e.ID)
		}
	}
	req.AllocIDs = append(req.AllocIDs, terminalAllocs...)
}
