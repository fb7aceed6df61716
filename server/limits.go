package server

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// JobLimits bound what a submitted job may ask for: the agent's
// server { job_max_priority, job_default_priority, job_max_count,
// job_max_source_size } settings. Zero fields take the defaults.
type JobLimits struct {
	// MaxPriority is the highest priority a job may have.
	MaxPriority int
	// DefaultPriority is the priority of a job that sets none.
	DefaultPriority int
	// MaxCount is the most allocations a job may ask for: the sum of its
	// groups' counts, each group's canaries included.
	MaxCount int
	// MaxSourceSize is the most bytes of job source (file and variables)
	// stored with a job version; a larger source is dropped with a
	// warning, as in Nomad.
	MaxSourceSize int64
}

// Defaults of JobLimits, Nomad's where Nomad has the setting.
const (
	DefaultJobMaxPriority     = 100
	DefaultJobDefaultPriority = 50
	DefaultJobMaxCount        = 50000
	DefaultJobMaxSourceSize   = 1_000_000 // "1M"
)

// WithDefaults fills the unset limits.
func (l JobLimits) WithDefaults() JobLimits {
	if l.MaxPriority <= 0 {
		l.MaxPriority = DefaultJobMaxPriority
	}
	if l.DefaultPriority <= 0 {
		l.DefaultPriority = DefaultJobDefaultPriority
	}
	if l.MaxCount <= 0 {
		l.MaxCount = DefaultJobMaxCount
	}
	if l.MaxSourceSize <= 0 {
		l.MaxSourceSize = DefaultJobMaxSourceSize
	}
	return l
}

// JobLimits are the limits this server enforces.
func (s *Server) JobLimits() JobLimits { return s.config.JobLimits.WithDefaults() }

// Check reports a job beyond the limits.
func (l JobLimits) Check(job *api.Job) error {
	var problems []string
	if p := job.Priority; p != nil && (*p < 1 || *p > l.MaxPriority) {
		problems = append(problems, fmt.Sprintf("Job priority must be between [1, %d]; got %d", l.MaxPriority, *p))
	}
	total := 0
	for _, tg := range job.TaskGroups {
		if tg == nil {
			continue
		}
		count, canaries := value(tg.Count), 0
		if tg.Update != nil {
			canaries = value(tg.Update.Canary)
		}
		if count > l.MaxCount || canaries > l.MaxCount {
			problems = append(problems, fmt.Sprintf("Task group %q: count %d (canaries %d) exceeds the server's job_max_count of %d",
				value(tg.Name), count, canaries, l.MaxCount))
			continue
		}
		total += max(count, 0) + max(canaries, 0)
	}
	if len(problems) == 0 && total > l.MaxCount {
		problems = append(problems, fmt.Sprintf("Job asks for %d allocations across its task groups, more than the server's job_max_count of %d", total, l.MaxCount))
	}
	if len(problems) == 0 {
		return nil
	}
	return errors.New(strings.Join(problems, "; "))
}

// sourceTooLarge reports, as a warning, a job source (file and
// variables) larger than MaxSourceSize: such a source is not stored, but
// the job itself is still registered, as in Nomad.
func (l JobLimits) sourceTooLarge(sub *api.JobSubmission) string {
	if sub == nil {
		return ""
	}
	size := int64(len(sub.Source) + len(sub.Variables))
	for k, v := range sub.VariableFlags {
		size += int64(len(k) + len(v))
	}
	if size <= l.MaxSourceSize {
		return ""
	}
	return fmt.Sprintf("Job source of %d bytes exceeds the server's job_max_source_size of %d bytes and was not stored", size, l.MaxSourceSize)
}

// value is *p, or T's zero value when p is nil.
func value[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
