package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/rpc"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// Multiregion jobs (see structs.Regionalize): the server a job is
// submitted to registers it in the first max_parallel regions of its
// multiregion block; from then on each region's leader, when the job's
// deployment there ends, starts the next region (success, or failure with
// on_failure = "fail_local"), stops the rollout (failure, on_failure
// empty) or fails the job's deployments in every other region
// (fail_all), which then roll back as their update blocks say.

// multiregionRetry bounds how long a region's leader keeps trying to
// reach a region that is down.
const multiregionRetry = 10 * time.Minute

// multiregionEndpoint serves "Multiregion.*" to servers of other regions.
type multiregionEndpoint struct{ s *Server }

// Register registers a multiregion job's copy for this region.
func (e *multiregionEndpoint) Register(args *structs.MultiregionRegisterArgs, reply *structs.JobRegisterReply) error {
	if args.Job == nil || args.Job.Region == nil || *args.Job.Region != e.s.config.Region {
		return fmt.Errorf("%w: the job is not for region %q", ErrInvalid, e.s.config.Region)
	}
	res, err := e.s.RegisterJob(&structs.JobRegisterArgs{Job: args.Job})
	return fill(reply, res, err)
}

// Job answers this region's copy of a job, for a peer region resuming a
// rollout.
func (e *multiregionEndpoint) Job(args *structs.MultiregionJobArgs, reply *structs.MultiregionJobReply) error {
	job, err := e.s.State().Snapshot().JobByID(args.Namespace, args.JobID)
	reply.Job = job
	return err
}

// Fail fails this region's deployment of args.Job.
func (e *multiregionEndpoint) Fail(args *structs.MultiregionFailArgs, reply *structs.IndexReply) error {
	return e.s.failPeerDeployment(args)
}

// RegisterMultiregionJob validates a multiregion job (canonicalized, in
// this region) and registers it in the first regions of its rollout. The
// reply is this region's registration when it is among them. A region of
// the first wave that cannot be reached is tried again in the background,
// and the reply warns of it.
func (s *Server) RegisterMultiregionJob(args *structs.JobRegisterArgs) (*structs.JobRegisterReply, error) {
	job := args.Job
	if err := structs.ValidateMultiregion(job); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	regions := structs.MultiregionRegions(job)
	for _, r := range regions {
		if r == s.config.Region {
			continue
		}
		if _, err := s.RegionServers(r); errors.Is(err, ErrNoRegionPath) {
			return nil, fmt.Errorf("multiregion region %q: %w", r, err)
		}
	}
	if err := s.validateJob(job); err != nil {
		return nil, err
	}
	reply := &structs.JobRegisterReply{}
	var warnings []string
	for _, r := range structs.MultiregionFirstWave(job) {
		if r == s.config.Region {
			local := *args
			local.Job = structs.InRegion(job, r)
			res, err := s.RegisterJob(&local)
			if err != nil {
				return nil, err
			}
			reply = res
			continue
		}
		if err := s.registerInRegion(s.shutdownCtx, r, structs.InRegion(job, r)); err != nil {
			warnings = append(warnings, fmt.Sprintf("region %q: %v (retrying in the background)", r, err))
			s.goRun(func() { s.retryInRegion(r, structs.InRegion(job, r)) })
		}
	}
	if len(warnings) > 0 {
		reply.Warnings = strings.TrimSpace(reply.Warnings + "\n" + strings.Join(warnings, "\n"))
	}
	return reply, nil
}

// registerInRegion registers job, set to region, on one of region's
// servers.
func (s *Server) registerInRegion(ctx context.Context, region string, job *api.Job) error {
	return s.callRegion(ctx, region, "Multiregion.Register", &structs.MultiregionRegisterArgs{Job: job}, &structs.JobRegisterReply{})
}

// retryInRegion keeps registering job in region until it takes it, the
// server shuts down, or multiregionRetry passes.
func (s *Server) retryInRegion(region string, job *api.Job) {
	send := s.multiregionSends.of(job, region)
	version := derefU64(job.Version)
	if !send.queue(version) {
		return
	}
	send.mu.Lock()
	defer send.mu.Unlock()
	_ = s.retryRegion(region, "register multiregion job "+derefString(job.ID), func(ctx context.Context) error {
		if send.newest() > version {
			return errSuperseded
		}
		return s.registerInRegion(ctx, region, job)
	})
}

// errSuperseded ends the registration of a version of a job in a region
// once a newer one is queued.
var errSuperseded = errors.New("a newer version of the job is on its way")

// multiregionSends orders the registrations of each job in each region:
// one at a time, and none of a version older than one already queued, so
// that an older version never lands after a newer one.
type multiregionSends struct {
	mu    sync.Mutex
	sends map[string]*regionSend
}

// regionSend is the registrations of one job in one region.
type regionSend struct {
	mu      sync.Mutex // held while one registration is tried
	stateMu sync.Mutex
	latest  uint64
	queued  bool
}

// of is the regionSend of job in region.
func (m *multiregionSends) of(job *api.Job, region string) *regionSend {
	key := derefString(job.Namespace) + "\x00" + derefString(job.ID) + "\x00" + region
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sends == nil {
		m.sends = map[string]*regionSend{}
	}
	if m.sends[key] == nil {
		m.sends[key] = &regionSend{}
	}
	return m.sends[key]
}

// queue records version as wanted; it reports false when a newer one is
// already queued.
func (r *regionSend) queue(version uint64) bool {
	r.stateMu.Lock()
	defer r.stateMu.Unlock()
	if r.queued && version < r.latest {
		return false
	}
	r.latest, r.queued = version, true
	return true
}

// newest is the newest version queued.
func (r *regionSend) newest() uint64 {
	r.stateMu.Lock()
	defer r.stateMu.Unlock()
	return r.latest
}

// retryRegion runs call until it succeeds, with a growing pause, for at
// most multiregionRetry; it returns the last error when it gave up.
func (s *Server) retryRegion(region, what string, call func(context.Context) error) error {
	deadline := time.Now().Add(multiregionRetry)
	for attempt := 1; ; attempt++ {
		err := call(s.shutdownCtx)
		if err == nil || errors.Is(err, errSuperseded) {
			return err
		}
		var remote *rpc.RemoteError
		if errors.As(err, &remote) || time.Now().After(deadline) {
			s.logger.Error("multiregion: giving up", "region", region, "action", what, "error", err)
			return err
		}
		s.logger.Warn("multiregion: region not reached, retrying", "region", region, "action", what, "error", err)
		select {
		case <-s.shutdownCtx.Done():
			return s.shutdownCtx.Err()
		case <-time.After(min(time.Duration(attempt)*time.Second, 15*time.Second)):
		}
	}
}

// callRegion makes an RPC to a live server of region.
func (s *Server) callRegion(ctx context.Context, region, method string, args, reply any) error {
	addrs, err := s.RegionServers(region)
	if err != nil {
		return err
	}
	pool := rpc.NewPool(s.regionDialConfig(region))
	defer pool.Close()
	ctx, cancel := context.WithTimeout(ctx, forwardTimeout)
	defer cancel()
	for _, addr := range addrs {
		if err = pool.Call(ctx, addr, method, args, reply); err == nil {
			return nil
		}
		var remote *rpc.RemoteError
		if errors.As(err, &remote) {
			return err
		}
	}
	return err
}

// multiregionDeploymentEnded, on the leader, carries a multiregion job's
// rollout on once its deployment d here ended, successful or failed. A
// deployment failed for a peer region's sake carries nothing on.
func (s *Server) multiregionDeploymentEnded(snap *state.Snapshot, d *api.Deployment, successful bool, desc string) {
	if strings.HasPrefix(desc, strings.TrimSuffix(structs.DeploymentDescPeerFailed, "%s")) {
		return
	}
	job, err := snap.JobByVersion(d.Namespace, d.JobID, d.JobVersion)
	if err != nil || !structs.IsMultiregion(job) || isRevert(snap, job) {
		return
	}
	onFailure := structs.MultiregionOnFailure(job)
	switch {
	case successful || onFailure == structs.MultiregionFailLocal:
		next := structs.MultiregionNext(job, s.config.Region)
		if next == "" {
			return
		}
		s.logger.Info("multiregion: starting the next region", "job", d.JobID, "region", next)
		s.goRun(func() { s.retryInRegion(next, structs.InRegion(job, next)) })
	case onFailure == structs.MultiregionFailAll:
		for _, r := range structs.MultiregionRegions(job) {
			if r == s.config.Region {
				continue
			}
			s.logger.Info("multiregion: failing the deployment in a peer region", "job", d.JobID, "region", r)
			args := &structs.MultiregionFailArgs{Job: structs.InRegion(job, r), Region: s.config.Region}
			s.goRun(func() {
				_ = s.retryRegion(r, "fail multiregion deployment of "+d.JobID, func(ctx context.Context) error {
					return s.callRegion(ctx, r, "Multiregion.Fail", args, &structs.IndexReply{})
				})
			})
		}
	default:
		s.logger.Warn("multiregion: deployment failed, rollout stopped", "job", d.JobID, "region", s.config.Region)
	}
}

// resumeMultiregionRollouts, on a new leader, carries on the rollouts a
// former leader may have left midway (it died between a deployment's end
// and the next region taking the job): every multiregion job here whose
// current version finished deploying goes to the next region, unless that
// region has it already or runs a version this region never had.
func (s *Server) resumeMultiregionRollouts() {
	snap := s.State().Snapshot()
	jobs, err := snap.Jobs("*", "")
	if err != nil {
		return
	}
	for _, job := range jobs {
		if !structs.IsMultiregion(job) || derefBool(job.Stop) || isRevert(snap, job) {
			continue
		}
		next := structs.MultiregionNext(job, s.config.Region)
		d, err := snap.LatestDeploymentByJob(*job.Namespace, *job.ID)
		if next == "" || err != nil || d == nil || d.JobVersion != derefU64(job.Version) {
			continue
		}
		ended := d.Status == structs.DeploymentStatusSuccessful ||
			(d.Status == structs.DeploymentStatusFailed && structs.MultiregionOnFailure(job) == structs.MultiregionFailLocal)
		if ended {
			s.goRun(func() { s.resumeInRegion(snap, next, job) })
		}
	}
}

// resumeInRegion gives region the job, as resumeMultiregionRollouts says.
func (s *Server) resumeInRegion(snap *state.Snapshot, region string, job *api.Job) {
	var reply structs.MultiregionJobReply
	err := s.retryRegion(region, "read multiregion job "+*job.ID, func(ctx context.Context) error {
		return s.callRegion(ctx, region, "Multiregion.Job", &structs.MultiregionJobArgs{Namespace: *job.Namespace, JobID: *job.ID}, &reply)
	})
	if err != nil {
		return
	}
	if reply.Job != nil {
		theirs := structs.InRegion(reply.Job, s.config.Region)
		if !state.SpecChanged(theirs, job) || !ranHere(snap, theirs) {
			return
		}
	}
	s.logger.Info("multiregion: resuming the rollout in the next region", "job", *job.ID, "region", region)
	s.retryInRegion(region, structs.InRegion(job, region))
}

// ranHere reports whether job (as written) is an older version of the job
// here.
func ranHere(snap *state.Snapshot, job *api.Job) bool {
	versions, err := snap.JobVersions(derefString(job.Namespace), derefString(job.ID))
	if err != nil {
		return false
	}
	for _, v := range versions {
		if !state.SpecChanged(v, job) {
			return true
		}
	}
	return false
}

// isRevert reports whether job's version repeats an older one (an auto
// revert registered it): its deployment ending carries no rollout on.
func isRevert(snap *state.Snapshot, job *api.Job) bool {
	versions, err := snap.JobVersions(derefString(job.Namespace), derefString(job.ID))
	if err != nil {
		return false
	}
	for _, v := range versions {
		if derefU64(v.Version) < derefU64(job.Version) && !state.SpecChanged(v, job) {
			return true
		}
	}
	return false
}

// failPeerDeployment fails this region's deployment of args.Job, which
// failed in args.Region: a running deployment fails (and rolls back with
// auto_revert); a finished one with auto_revert rolls back to the version
// before it. A region that does not run that job has nothing to fail.
func (s *Server) failPeerDeployment(args *structs.MultiregionFailArgs) error {
	var reply structs.IndexReply
	if done, err := s.forward("Multiregion.Fail", args, &reply); done {
		return err
	}
	if args.Job == nil || args.Job.ID == nil || args.Job.Namespace == nil {
		return fmt.Errorf("%w: missing job", ErrInvalid)
	}
	snap := s.State().Snapshot()
	current, err := snap.JobByID(*args.Job.Namespace, *args.Job.ID)
	if err != nil || current == nil || state.SpecChanged(current, args.Job) {
		return err
	}
	d, err := snap.LatestDeploymentByJob(*current.Namespace, *current.ID)
	if err != nil || d == nil || d.JobVersion != derefU64(current.Version) {
		return err
	}
	desc := fmt.Sprintf(structs.DeploymentDescPeerFailed, args.Region)
	switch {
	case structs.DeploymentActive(d):
		_, err = s.failDeployment(snap, d, desc)
	case d.Status == structs.DeploymentStatusSuccessful && autoRevert(d):
		var prior *api.Job
		if prior, err = stableVersionBefore(snap, d); err == nil && prior != nil {
			s.logger.Info("multiregion: rolling back for a peer region", "job", d.JobID, "peer", args.Region, "version", derefU64(prior.Version))
			_, err = s.RevertJob("", d.Namespace, d.JobID, derefU64(prior.Version), &d.JobVersion)
		}
	}
	return err
}

// DeregisterMultiregionJob stops (or purges) a job here and, when it is a
// multiregion job, in every other region it names (`job stop -global`),
// with the caller's token, which each region checks. A region the rollout
// never reached has nothing to stop; one that cannot be reached is named
// in the error, after the others were stopped.
func (s *Server) DeregisterMultiregionJob(args *structs.JobDeregisterArgs) (string, uint64, error) {
	job, err := s.State().Snapshot().JobByID(args.Namespace, args.JobID)
	if err != nil {
		return "", 0, err
	}
	evalID, index, err := s.DeregisterJobOpts(args)
	if err != nil || !structs.IsMultiregion(job) {
		return evalID, index, err
	}
	var errs []error
	for _, r := range structs.MultiregionRegions(job) {
		if r == s.config.Region {
			continue
		}
		err := s.callRegion(s.shutdownCtx, r, "Job.Deregister", args, &structs.EvalReply{})
		var remote *rpc.RemoteError
		if err != nil && !(errors.As(err, &remote) && strings.Contains(remote.Msg, "job not found")) {
			errs = append(errs, fmt.Errorf("stop job %q in region %q: %w", args.JobID, r, err))
		}
	}
	return evalID, index, errors.Join(errs...)
}
