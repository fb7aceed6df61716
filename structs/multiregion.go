package structs

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/hashicorp/nomad/api"
)

// A multiregion job (the job's `multiregion` block) is stored as written,
// with its region set, in each region it names; the region's block (count,
// datacenters, node_pool, meta) applies when the job is scheduled there
// (Regionalize). Regions start in the block's order, max_parallel at a
// time: each region that finishes its deployment starts the next one.

// Multiregion on_failure values.
const (
	MultiregionFailAll   = "fail_all"
	MultiregionFailLocal = "fail_local"
)

// IsMultiregion reports whether job names regions to deploy to.
func IsMultiregion(job *api.Job) bool {
	return job != nil && job.Multiregion != nil && len(job.Multiregion.Regions) > 0
}

// ValidateMultiregion checks a job's multiregion block.
func ValidateMultiregion(job *api.Job) error {
	if !IsMultiregion(job) {
		return nil
	}
	mr := job.Multiregion
	var errs []error
	if job.Periodic != nil || job.ParameterizedJob != nil {
		errs = append(errs, errors.New("multiregion: a periodic or parameterized job cannot be multiregion"))
	}
	if s := mr.Strategy; s != nil {
		if s.MaxParallel != nil && *s.MaxParallel < 0 {
			errs = append(errs, fmt.Errorf("multiregion.strategy.max_parallel: must not be negative, got %d", *s.MaxParallel))
		}
		if s.OnFailure != nil {
			switch *s.OnFailure {
			case "", MultiregionFailAll, MultiregionFailLocal:
			default:
				errs = append(errs, fmt.Errorf("multiregion.strategy.on_failure: must be %q, %q or empty, got %q", MultiregionFailAll, MultiregionFailLocal, *s.OnFailure))
			}
		}
	}
	seen := map[string]bool{}
	for i, r := range mr.Regions {
		switch {
		case r == nil:
			errs = append(errs, fmt.Errorf("multiregion.region[%d]: must not be null", i))
			continue
		case r.Name == "":
			errs = append(errs, fmt.Errorf("multiregion.region[%d]: needs a name", i))
		case seen[r.Name]:
			errs = append(errs, fmt.Errorf("multiregion.region %q: named twice", r.Name))
		}
		seen[r.Name] = true
		if r.Count != nil && *r.Count < 0 {
			errs = append(errs, fmt.Errorf("multiregion.region %q: count must not be negative, got %d", r.Name, *r.Count))
		}
	}
	return errors.Join(errs...)
}

// MultiregionRegions are the names of the regions a multiregion job
// deploys to, in rollout order.
func MultiregionRegions(job *api.Job) []string {
	if !IsMultiregion(job) {
		return nil
	}
	var out []string
	for _, r := range job.Multiregion.Regions {
		if r != nil {
			out = append(out, r.Name)
		}
	}
	return out
}

// maxParallel is how many regions deploy at once: all when unset or 0.
func maxParallel(job *api.Job) int {
	n := len(job.Multiregion.Regions)
	if s := job.Multiregion.Strategy; s != nil && s.MaxParallel != nil && *s.MaxParallel > 0 {
		return min(*s.MaxParallel, n)
	}
	return n
}

// MultiregionOnFailure is the job's on_failure strategy ("" by default).
func MultiregionOnFailure(job *api.Job) string {
	if s := job.Multiregion.Strategy; s != nil && s.OnFailure != nil {
		return *s.OnFailure
	}
	return ""
}

// MultiregionFirstWave are the regions a multiregion job starts in when
// it is submitted: max_parallel of them, or all for a job that has no
// deployments to wait for (not a service job with a rolling update).
func MultiregionFirstWave(job *api.Job) []string {
	regions := MultiregionRegions(job)
	if !deploys(job) {
		return regions
	}
	return regions[:min(len(regions), maxParallel(job))]
}

// deploys reports whether a job's versions roll out in deployments, as
// the scheduler does them: a service job with a group whose update block
// sets max_parallel.
func deploys(job *api.Job) bool {
	if job.Type != nil && *job.Type != api.JobTypeService {
		return false
	}
	for _, tg := range job.TaskGroups {
		if tg.Update != nil && tg.Update.MaxParallel != nil && *tg.Update.MaxParallel > 0 {
			return true
		}
	}
	return false
}

// MultiregionNext is the region to start once region has finished its
// deployment, "" when none is left.
func MultiregionNext(job *api.Job, region string) string {
	regions := MultiregionRegions(job)
	i := slices.Index(regions, region)
	if i < 0 || i+maxParallel(job) >= len(regions) {
		return ""
	}
	return regions[i+maxParallel(job)]
}

// InRegion is a copy of job for region: the same job, with its region set.
func InRegion(job *api.Job, region string) *api.Job {
	c := copyJob(job)
	c.Region = &region
	return c
}

// Regionalize is job as it runs in its region: a multiregion job gets the
// count (every group's), datacenters, node pool and meta (over the job's)
// of its region's block. Any other job is returned as it is.
func Regionalize(job *api.Job) *api.Job {
	if !IsMultiregion(job) || job.Region == nil {
		return job
	}
	var block *api.MultiregionRegion
	for _, r := range job.Multiregion.Regions {
		if r != nil && r.Name == *job.Region {
			block = r
		}
	}
	if block == nil {
		return job
	}
	c := copyJob(job)
	if block.Count != nil {
		for _, tg := range c.TaskGroups {
			tg.Count = new(*block.Count)
		}
	}
	if len(block.Datacenters) > 0 {
		c.Datacenters = slices.Clone(block.Datacenters)
	}
	if block.NodePool != "" {
		c.NodePool = new(block.NodePool)
	}
	if len(block.Meta) > 0 {
		meta := maps.Clone(c.Meta)
		if meta == nil {
			meta = map[string]string{}
		}
		maps.Copy(meta, block.Meta)
		c.Meta = meta
	}
	return c
}

// copyJob is a deep copy of job.
func copyJob(job *api.Job) *api.Job {
	buf, err := json.Marshal(job)
	if err != nil {
		panic(fmt.Sprintf("copy job: %v", err)) // api.Job always encodes
	}
	var c api.Job
	if err := json.Unmarshal(buf, &c); err != nil {
		panic(fmt.Sprintf("copy job: %v", err))
	}
	return &c
}

// MultiregionRegisterArgs registers a multiregion job, already set to the
// receiving region, there (Multiregion.Register, between servers).
type MultiregionRegisterArgs struct {
	Job *api.Job
}

// MultiregionFailArgs fails, in the receiving region, the deployment of
// Job (as written: its spec, whatever its version there), because its
// deployment failed in Region (on_failure = "fail_all").
type MultiregionFailArgs struct {
	Job    *api.Job
	Region string
}

// DeploymentDescPeerFailed is the status description of a deployment
// failed because the job's deployment failed in another region.
const DeploymentDescPeerFailed = "Failed because of an error in peer region %s"

// MultiregionJobArgs asks a region for its copy of a job
// (Multiregion.Job, between servers).
type MultiregionJobArgs struct {
	Namespace, JobID string
}

// MultiregionJobReply is a region's copy of a job; nil when it has none.
type MultiregionJobReply struct {
	Job *api.Job
}
