package jobspec

import (
	"fmt"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/devices"
	"github.com/roam-project/roam/ingress"
)

var (
	validHooks         = map[string]bool{"prestart": true, "poststart": true, "poststop": true}
	validRestartModes  = map[string]bool{"delay": true, "fail": true}
	validDelayFuncs    = map[string]bool{"constant": true, "exponential": true, "fibonacci": true}
	validHealthChecks  = map[string]bool{"checks": true, "task_states": true, "manual": true}
	validChangeModes   = map[string]bool{"noop": true, "restart": true, "signal": true, "script": true}
	validCheckTypes    = map[string]bool{"http": true, "tcp": true, "grpc": true, "script": true}
	validOperandsExtra = map[string]bool{
		"=": true, "==": true, "is": true, "!=": true, "not": true, "<": true, "<=": true, ">": true, ">=": true,
		"version": true, "semver": true, "regexp": true, "set_contains": true, "set_contains_all": true,
		"set_contains_any": true, "distinct_hosts": true, "distinct_property": true, "is_set": true, "is_not_set": true,
	}
)

// validateTask checks one task.
func validateTask(p problems, t *api.Task) {
	if t.Name == "" {
		p.addf("Missing task name")
	}
	if t.Driver == "" {
		p.addf("Missing task driver")
	}
	if t.Lifecycle != nil && !validHooks[t.Lifecycle.Hook] {
		p.addf("invalid hook: %v", t.Lifecycle.Hook)
	}
	nonNegative(p, "kill_timeout", t.KillTimeout)
	nonNegative(p, "shutdown_delay", &t.ShutdownDelay)
	validateConstraints(p, t.Constraints)
	validateAffinities(p, t.Affinities)
	validateRestart(p, t.RestartPolicy)
	validateResources(p, t.Resources)
	if t.LogConfig != nil {
		if t.LogConfig.MaxFiles != nil && *t.LogConfig.MaxFiles < 1 {
			p.addf("minimum number of files is 1; got %d", *t.LogConfig.MaxFiles)
		}
		if t.LogConfig.MaxFileSizeMB != nil && *t.LogConfig.MaxFileSizeMB < 1 {
			p.addf("minimum file size is 1MB; got %d", *t.LogConfig.MaxFileSizeMB)
		}
	}
	for i, tmpl := range t.Templates {
		if tmpl.ChangeMode != nil && !validChangeModes[*tmpl.ChangeMode] {
			p.addf("Template %d has an invalid change mode %q", i+1, *tmpl.ChangeMode)
		}
		if tmpl.SourcePath == nil && tmpl.EmbeddedTmpl == nil {
			p.addf("Template %d must specify a source path or data", i+1)
		}
		nonNegative(p, "template splay", tmpl.Splay)
	}
	for _, s := range t.Services {
		validateService(p.under(fmt.Sprintf("Service %q", s.Name)), s)
	}
	validateIdentities(p, t)
}

// validateServiceIngress checks a service's ingress tags (Roam's, which
// the jobspec's ingress block is written as).
func validateServiceIngress(p problems, s *api.Service) {
	if err := ingress.ValidateTags(s.Tags); err != nil {
		p.addf("ingress: %v", err)
	}
	if err := ingress.ValidateTags(s.CanaryTags); err != nil {
		p.addf("ingress: canary_tags: %v", err)
	}
}

// validateService checks a service's checks and ingress tags.
func validateService(p problems, s *api.Service) {
	validateServiceIngress(p, s)
	for i, c := range s.Checks {
		if !validCheckTypes[c.Type] {
			p.addf("Check %d has an invalid type %q", i+1, c.Type)
		}
		if c.Interval < 0 || c.Timeout < 0 {
			p.addf("Check %d has a negative interval or timeout", i+1)
		}
		if c.Type == "script" && c.Command == "" {
			p.addf("Check %d of type script requires a command", i+1)
		}
	}
}

// Upper bounds of a resource ask, far above any machine, so that sums and
// conversions (MB to bytes) never overflow.
const (
	maxResourceMB  = 1 << 30 // 1 PiB
	maxResourceMHz = 1 << 30
	maxCores       = 1 << 16
)

// atMost reports a resource value over its upper bound.
func atMost(p problems, name string, v *int, limit int) {
	if v != nil && *v > limit {
		p.addf("%s value %d exceeds the maximum of %d", name, *v, limit)
	}
}

// validateResources checks a task's resource ask.
func validateResources(p problems, r *api.Resources) {
	if r == nil {
		return
	}
	atMost(p, "CPU", r.CPU, maxResourceMHz)
	atMost(p, "Cores", r.Cores, maxCores)
	atMost(p, "MemoryMB", r.MemoryMB, maxResourceMB)
	atMost(p, "MemoryMaxMB", r.MemoryMaxMB, maxResourceMB)
	atMost(p, "DiskMB", r.DiskMB, maxResourceMB)
	if r.CPU != nil && *r.CPU < 0 {
		p.addf("minimum CPU value is 0; got %d", *r.CPU)
	}
	if r.Cores != nil && *r.Cores < 0 {
		p.addf("cores must not be negative; got %d", *r.Cores)
	}
	if r.CPU != nil && *r.CPU > 0 && r.Cores != nil && *r.Cores > 0 {
		p.addf("Task can only ask for 'cpu' or 'cores' resource, not both.")
	}
	if r.MemoryMB != nil && *r.MemoryMB < 10 {
		p.addf("minimum MemoryMB value is 10; got %d", *r.MemoryMB)
	}
	if r.MemoryMaxMB != nil && r.MemoryMB != nil && *r.MemoryMaxMB != 0 && *r.MemoryMaxMB < *r.MemoryMB {
		p.addf("MemoryMaxMB value (%d) should be larger than MemoryMB value (%d)", *r.MemoryMaxMB, *r.MemoryMB)
	}
	for _, d := range r.Devices {
		if _, ok := devices.ParseName(d.Name); !ok {
			p.addf("device name must be given as one of the following: type, vendor/type, or vendor/type/name")
		}
		validateConstraints(p, d.Constraints)
		validateAffinities(p, d.Affinities)
	}
}

// validateConstraints checks constraint operators.
func validateConstraints(p problems, cs []*api.Constraint) {
	for i, c := range cs {
		if c.Operand != "" && !validOperandsExtra[c.Operand] {
			p.addf("Constraint %d has an unknown operator %q", i+1, c.Operand)
		}
		if c.Operand != "distinct_hosts" && c.Operand != "distinct_property" && c.LTarget == "" && c.RTarget == "" {
			p.addf("Constraint %d has no attribute or value", i+1)
		}
	}
}

// validateAffinities checks affinity weights and operators.
func validateAffinities(p problems, as []*api.Affinity) {
	for i, a := range as {
		if a.Operand != "" && !validOperandsExtra[a.Operand] {
			p.addf("Affinity %d has an unknown operator %q", i+1, a.Operand)
		}
		if a.Weight != nil && *a.Weight == 0 {
			p.addf("Affinity weight cannot be zero")
		}
		if a.Weight != nil && (*a.Weight > 100 || *a.Weight < -100) {
			p.addf("Affinity weight must be within the range [-100,100]")
		}
	}
}

// validateSpreads checks spread weights and target percentages.
func validateSpreads(p problems, spreads []*api.Spread) {
	for _, s := range spreads {
		if s.Attribute == "" {
			p.addf("Missing spread attribute")
		}
		if s.Weight != nil && (*s.Weight <= 0 || *s.Weight > 100) {
			p.addf("Spread block must have a positive weight from 0 to 100")
		}
		sum := 0
		seen := map[string]bool{}
		for _, t := range s.SpreadTarget {
			if seen[t.Value] {
				p.addf("Spread target value %q already defined", t.Value)
			}
			seen[t.Value] = true
			if t.Percent > 100 {
				p.addf("Spread target percentage for value %q must be between 0 and 100", t.Value)
			}
			sum += int(t.Percent)
		}
		if sum > 100 {
			p.addf("Sum of spread target percentages must not be greater than 100%%; got %d%%", sum)
		}
	}
}

// validateUpdate checks an update strategy.
func validateUpdate(p problems, u *api.UpdateStrategy) {
	if u == nil {
		return
	}
	if u.HealthCheck != nil && !validHealthChecks[*u.HealthCheck] {
		p.addf("Invalid health check given: %q", *u.HealthCheck)
	}
	if u.MaxParallel != nil && *u.MaxParallel < 0 {
		p.addf("Max parallel can not be less than zero: %d < 0", *u.MaxParallel)
	}
	if u.Canary != nil && *u.Canary < 0 {
		p.addf("Canary count can not be less than zero: %d < 0", *u.Canary)
	}
	nonNegative(p, "min_healthy_time", u.MinHealthyTime)
	nonNegative(p, "progress_deadline", u.ProgressDeadline)
	if u.HealthyDeadline != nil && *u.HealthyDeadline <= 0 {
		p.addf("Healthy deadline must be greater than zero: %v", *u.HealthyDeadline)
	}
	if u.MinHealthyTime != nil && u.HealthyDeadline != nil && *u.MinHealthyTime >= *u.HealthyDeadline {
		p.addf("Minimum healthy time must be less than healthy deadline: %v > %v", *u.MinHealthyTime, *u.HealthyDeadline)
	}
	if u.HealthyDeadline != nil && u.ProgressDeadline != nil && *u.ProgressDeadline != 0 && *u.HealthyDeadline >= *u.ProgressDeadline {
		p.addf("Healthy deadline must be less than progress deadline: %v > %v", *u.HealthyDeadline, *u.ProgressDeadline)
	}
	if u.Stagger != nil && *u.Stagger <= 0 {
		p.addf("Stagger must be greater than zero: %v", *u.Stagger)
	}
}

// validateRestart checks a restart policy.
func validateRestart(p problems, r *api.RestartPolicy) {
	if r == nil {
		return
	}
	if r.Mode != nil && !validRestartModes[*r.Mode] {
		p.addf("Unsupported restart mode: %q", *r.Mode)
	}
	if r.Attempts != nil && *r.Attempts < 0 {
		p.addf("Restart attempts can't be negative: %d", *r.Attempts)
	}
	nonNegative(p, "restart delay", r.Delay)
	nonNegative(p, "restart interval", r.Interval)
	if r.Attempts != nil && r.Delay != nil && r.Interval != nil && *r.Interval > 0 &&
		time.Duration(*r.Attempts)*(*r.Delay) > *r.Interval {
		p.addf("Nomad can't restart the TaskGroup %v times in an interval of %v with a delay of %v", *r.Attempts, *r.Interval, *r.Delay)
	}
}

// validateReschedule checks a reschedule policy.
func validateReschedule(p problems, r *api.ReschedulePolicy) {
	if r == nil {
		return
	}
	if r.DelayFunction != nil && *r.DelayFunction != "" && !validDelayFuncs[*r.DelayFunction] {
		p.addf("Invalid delay function %q, must be one of [constant exponential fibonacci]", *r.DelayFunction)
	}
	nonNegative(p, "reschedule delay", r.Delay)
	nonNegative(p, "reschedule interval", r.Interval)
	nonNegative(p, "reschedule max_delay", r.MaxDelay)
	if r.Attempts != nil && *r.Attempts < 0 {
		p.addf("Reschedule attempts can't be negative: %d", *r.Attempts)
	}
}
