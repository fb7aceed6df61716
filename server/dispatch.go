package server

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// DispatchPayloadSizeLimit is the largest payload a dispatch may carry
// (16 KiB), as in Nomad.
const DispatchPayloadSizeLimit = 16 * 1024

// Payload requirements of a parameterized job (parameterized.payload).
const (
	payloadOptional  = "optional"
	payloadRequired  = "required"
	payloadForbidden = "forbidden"
)

// DispatchArgs asks for an instance of a parameterized job.
type DispatchArgs struct {
	Namespace string
	JobID     string
	Payload   []byte
	Meta      map[string]string
	// IDPrefixTemplate goes into the dispatched job's ID after "dispatch-".
	IDPrefixTemplate string
	// Priority overrides the job's priority when not 0.
	Priority int
	// IdempotencyToken, when set, dispatches nothing if a live instance
	// was already dispatched with the same token.
	IdempotencyToken string
}

// DispatchReply describes a dispatched job and the evaluation that places
// it. EvalID is empty when an idempotency token matched an existing
// instance.
type DispatchReply struct {
	DispatchedJobID string
	EvalID          string
	EvalCreateIndex uint64
	JobCreateIndex  uint64
	Index           uint64
}

// DispatchJob creates an instance of a parameterized job with the given
// payload and metadata, registered through the normal path so that it is
// evaluated and placed, as `nomad job dispatch` does.
func (s *Server) DispatchJob(args *DispatchArgs) (*DispatchReply, error) {
	snap := s.State().Snapshot()
	parent, err := snap.JobByID(args.Namespace, args.JobID)
	if err != nil {
		return nil, err
	}
	if parent == nil {
		return nil, fmt.Errorf("parameterized job %q not found: %w", args.JobID, ErrNotFound)
	}
	if err := validateDispatch(parent, args); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if args.IdempotencyToken != "" {
		if existing, err := dispatchedWithToken(s, parent, args.IdempotencyToken); err != nil || existing != nil {
			return existing, err
		}
	}
	child, err := dispatchedChild(parent, args, time.Now())
	if err != nil {
		return nil, err
	}
	res, err := s.RegisterJob(&structs.JobRegisterArgs{Job: child})
	if err != nil {
		return nil, fmt.Errorf("register dispatched job %q: %w", *child.ID, err)
	}
	return &DispatchReply{
		DispatchedJobID: *child.ID, EvalID: res.EvalID, EvalCreateIndex: res.EvalCreateIndex,
		JobCreateIndex: res.Index, Index: res.Index,
	}, nil
}

// validateDispatch checks a dispatch request against the parameterized
// job: the job must be a live parameterized job, the payload must meet its
// payload requirement and the size limit, and the metadata keys must be
// exactly the required ones plus any optional ones. Messages are Nomad's.
func validateDispatch(parent *api.Job, args *DispatchArgs) error {
	cfg := parent.ParameterizedJob
	if cfg == nil || parent.Dispatched {
		return fmt.Errorf("Specified job %q is not a parameterized job", args.JobID)
	}
	if parent.Stop != nil && *parent.Stop {
		return fmt.Errorf("Specified job %q is stopped", args.JobID)
	}
	if len(args.Payload) > DispatchPayloadSizeLimit {
		return fmt.Errorf("Payload exceeds maximum size; %d > %d", len(args.Payload), DispatchPayloadSizeLimit)
	}
	switch cfg.Payload {
	case payloadForbidden:
		if len(args.Payload) != 0 {
			return fmt.Errorf("Payload is not allowed")
		}
	case payloadRequired:
		if len(args.Payload) == 0 {
			return fmt.Errorf("Payload is required")
		}
	}
	allowed := map[string]bool{}
	for _, k := range append(append([]string(nil), cfg.MetaRequired...), cfg.MetaOptional...) {
		allowed[k] = true
	}
	var unpermitted, missing []string
	for k := range args.Meta {
		if !allowed[k] {
			unpermitted = append(unpermitted, k)
		}
	}
	for _, k := range cfg.MetaRequired {
		if _, ok := args.Meta[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(unpermitted) > 0 {
		sort.Strings(unpermitted)
		return fmt.Errorf("Dispatch request included unpermitted metadata keys: %v", unpermitted)
	}
	if len(missing) > 0 {
		return fmt.Errorf("Dispatch did not provide required meta keys: %v", missing)
	}
	return nil
}

// dispatchedChild derives the instance of parent for one dispatch: ID
// "<parent>/dispatch-[<prefix>-]<unix>-<8 hex>", marked dispatched, with
// the request's metadata merged over the job's and its payload attached.
func dispatchedChild(parent *api.Job, args *DispatchArgs, now time.Time) (*api.Job, error) {
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		return nil, fmt.Errorf("dispatch ID: %w", err)
	}
	var id strings.Builder
	id.WriteString(*parent.ID + api.JobDispatchLaunchSuffix)
	if args.IDPrefixTemplate != "" {
		id.WriteString(args.IDPrefixTemplate + "-")
	}
	fmt.Fprintf(&id, "%d-%s", now.Unix(), hex.EncodeToString(suffix))
	child := derivedJob(parent, id.String())
	child.ParameterizedJob = nil
	child.Dispatched = true
	child.Payload = args.Payload
	if len(args.Meta) > 0 && child.Meta == nil {
		child.Meta = map[string]string{}
	}
	for k, v := range args.Meta {
		child.Meta[k] = v
	}
	if args.Priority != 0 {
		child.Priority = &args.Priority
	}
	if args.IdempotencyToken != "" {
		child.DispatchIdempotencyToken = &args.IdempotencyToken
	}
	return child, nil
}

// dispatchedWithToken finds a live instance of parent dispatched with
// token and describes it, or returns nil when there is none.
func dispatchedWithToken(s *Server, parent *api.Job, token string) (*DispatchReply, error) {
	jobs, err := s.State().Snapshot().Jobs(*parent.Namespace, *parent.ID+api.JobDispatchLaunchSuffix)
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		if j.DispatchIdempotencyToken == nil || *j.DispatchIdempotencyToken != token {
			continue
		}
		if j.Status != nil && *j.Status == structs.JobStatusDead {
			continue
		}
		return &DispatchReply{DispatchedJobID: *j.ID, JobCreateIndex: derefU64(j.CreateIndex), Index: derefU64(j.ModifyIndex)}, nil
	}
	return nil, nil
}
