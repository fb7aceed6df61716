package server

import (
	"errors"
	"fmt"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/paginate"
	"github.com/roam-project/roam/structs"
)

// evalEndpoint serves "Eval.*".
type evalEndpoint struct{ s *Server }

// Delete deletes evaluations; it needs a management token.
func (e *evalEndpoint) Delete(args *structs.EvalDeleteArgs, reply *structs.EvalDeleteReply) error {
	if err := e.s.authorize(args.AuthToken, isManagement); err != nil {
		return err
	}
	r, err := e.s.DeleteEvals(args.AuthToken, args.EvalIDs, args.Filter)
	*reply = r
	return err
}

// DeleteEvals deletes the evaluations named by ID, or those filter
// matches, while the scheduler configuration pauses the eval broker (so
// that none of them is being scheduled), as Nomad requires.
func (s *Server) DeleteEvals(token string, ids []string, filter string) (structs.EvalDeleteReply, error) {
	var reply structs.EvalDeleteReply
	if done, err := s.forward("Eval.Delete", &structs.EvalDeleteArgs{EvalIDs: ids, Filter: filter, WriteRequest: structs.WriteRequest{AuthToken: token}}, &reply); done {
		return reply, err
	}
	if (len(ids) == 0) == (filter == "") {
		return reply, fmt.Errorf("%w: evals must be deleted by either ID or filter", ErrInvalid)
	}
	if !s.brokerPaused() {
		return reply, fmt.Errorf("%w: eval broker is enabled; eval broker must be paused to delete evals", ErrInvalid)
	}
	snap := s.State().Snapshot()
	if filter != "" {
		all, err := snap.Evals("")
		if err != nil {
			return reply, err
		}
		matched, _, err := paginate.Apply(all, func(e *api.Evaluation) string { return e.ID }, paginate.Options{Filter: filter})
		if errors.Is(err, paginate.ErrInvalid) {
			return reply, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		if err != nil {
			return reply, err
		}
		ids = nil
		for _, e := range matched {
			ids = append(ids, e.ID)
		}
	}
	for _, id := range ids {
		e, err := snap.EvalByID(id)
		if err != nil {
			return reply, err
		}
		if e == nil {
			return reply, fmt.Errorf("eval %s: eval not found: %w", id, ErrNotFound)
		}
	}
	if len(ids) == 0 {
		return reply, nil
	}
	index, err := s.raftApply(structs.GCRequestType, &structs.GCRequest{EvalIDs: ids})
	return structs.EvalDeleteReply{Count: len(ids), Index: index}, err
}
