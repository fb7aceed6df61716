package jobspec

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/cronexpr"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// ValidationError lists every problem Validate found in a job.
type ValidationError struct {
	Problems []string
}

// Error formats the problems as one line each, after a count.
func (e *ValidationError) Error() string {
	noun := "errors"
	if len(e.Problems) == 1 {
		noun = "error"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s occurred:", len(e.Problems), noun)
	for _, p := range e.Problems {
		b.WriteString("\n\t* " + p)
	}
	return b.String()
}

// problems collects findings under a context prefix.
type problems struct {
	prefix string
	list   *[]string
}

// addf records one finding.
func (p problems) addf(format string, args ...any) {
	*p.list = append(*p.list, p.prefix+fmt.Sprintf(format, args...))
}

// under returns a collector whose findings carry an extra context.
func (p problems) under(context string) problems {
	return problems{prefix: p.prefix + context + ": ", list: p.list}
}

var validJobTypes = map[string]bool{"service": true, "batch": true, "system": true, "sysbatch": true}

// Validate runs the semantic checks Nomad applies when a job is registered
// and returns a *ValidationError listing all problems, or nil. It accepts
// jobs with or without canonicalisation.
func Validate(job *api.Job) error {
	if job == nil {
		return &ValidationError{Problems: []string{"Missing job"}}
	}
	if err := CheckNulls(job); err != nil {
		return err
	}
	var list []string
	p := problems{list: &list}
	validateJobFields(p, job)
	validateConstraints(p, job.Constraints)
	validateAffinities(p, job.Affinities)
	validateSpreads(p, job.Spreads)
	validateUpdate(p, job.Update)
	validatePeriodic(p, job)
	if len(job.TaskGroups) == 0 {
		p.addf("Missing job task groups")
	}
	seen := map[string]int{}
	for i, tg := range job.TaskGroups {
		name := deref(tg.Name)
		if prev, dup := seen[name]; dup && name != "" {
			p.addf("Job task group %d redefines '%s' from group %d", i+1, name, prev+1)
		}
		seen[name] = i
		validateGroup(p.under(fmt.Sprintf("Task group %q", name)), job, tg)
	}
	if len(list) == 0 {
		return nil
	}
	return &ValidationError{Problems: list}
}

// validateJobFields checks the job's own attributes.
func validateJobFields(p problems, job *api.Job) {
	id := deref(job.ID)
	switch {
	case id == "":
		p.addf("Missing job ID")
	case strings.Contains(id, " "):
		p.addf("Job ID contains a space")
	case strings.Contains(id, "\x00"):
		p.addf("Job ID contains a null character")
	}
	if job.Name != nil && *job.Name == "" {
		p.addf("Missing job name")
	}
	if job.Type != nil && !validJobTypes[*job.Type] {
		p.addf("Invalid job type: %q", *job.Type)
	}
	if job.ParameterizedJob != nil {
		if deref(job.Type) != "batch" && deref(job.Type) != "sysbatch" {
			p.addf("Parameterized job can only be used with \"batch\" or \"sysbatch\" scheduler")
		}
		switch job.ParameterizedJob.Payload {
		case "", "optional", "required", "forbidden":
		default:
			p.addf("Unknown payload requirement: %q", job.ParameterizedJob.Payload)
		}
	}
}

// validatePeriodic checks the periodic block and its cron expressions.
func validatePeriodic(p problems, job *api.Job) {
	per := job.Periodic
	if per == nil || (per.Enabled != nil && !*per.Enabled) {
		return
	}
	if t := deref(job.Type); t != "batch" && t != "sysbatch" {
		p.addf("Periodic can only be used with \"batch\" or \"sysbatch\" scheduler")
	}
	specs := append([]string(nil), per.Specs...)
	if per.Spec != nil && *per.Spec != "" {
		specs = append(specs, *per.Spec)
	}
	if len(specs) == 0 {
		p.addf("Must specify a spec")
	}
	for _, spec := range specs {
		if _, err := cronexpr.Parse(spec); err != nil {
			p.addf("Invalid cron spec %q: %v", spec, err)
		}
	}
	if per.TimeZone != nil && *per.TimeZone != "" {
		if _, err := time.LoadLocation(*per.TimeZone); err != nil {
			p.addf("Invalid time zone %q: %v", *per.TimeZone, err)
		}
	}
}

// validateGroup checks one task group and its tasks.
func validateGroup(p problems, job *api.Job, tg *api.TaskGroup) {
	if deref(tg.Name) == "" {
		p.addf("Missing task group name")
	}
	if tg.Count != nil && *tg.Count < 0 {
		p.addf("Task group count can't be negative")
	}
	if deref(job.Type) == "system" && tg.Count != nil && *tg.Count > 1 {
		p.addf("Count cannot exceed 1 with system scheduler; got %d", *tg.Count)
	}
	if len(tg.Tasks) == 0 && !hasGateway(tg) {
		p.addf("Missing tasks for task group")
	}
	validateConstraints(p, tg.Constraints)
	validateAffinities(p, tg.Affinities)
	validateSpreads(p, tg.Spreads)
	validateUpdate(p, tg.Update)
	validateRestart(p, tg.RestartPolicy)
	validateReschedule(p, tg.ReschedulePolicy)
	validatePorts(p, tg.Networks)
	if v, ok := tg.Meta[structs.IngressFromMeta]; ok {
		if _, err := structs.ParseIngressFrom(v); err != nil {
			p.addf("%v", err)
		}
	}
	for _, s := range tg.Services {
		validateServiceIngress(p.under(fmt.Sprintf("Service %q", s.Name)), s)
	}
	validateDisconnect(p, job, tg)
	validateVolumes(p, tg)
	for _, d := range []struct {
		name string
		d    *time.Duration
	}{
		{"shutdown_delay", tg.ShutdownDelay},
		{"stop_after_client_disconnect", tg.StopAfterClientDisconnect},
		{"max_client_disconnect", tg.MaxClientDisconnect},
	} {
		nonNegative(p, d.name, d.d)
	}
	if tg.EphemeralDisk != nil && tg.EphemeralDisk.SizeMB != nil && *tg.EphemeralDisk.SizeMB < 10 {
		p.addf("minimum DiskMB value is 10; got %d", *tg.EphemeralDisk.SizeMB)
	}
	if tg.EphemeralDisk != nil {
		atMost(p, "DiskMB", tg.EphemeralDisk.SizeMB, maxResourceMB)
	}
	seen := map[string]int{}
	leaders := 0
	for i, t := range tg.Tasks {
		if prev, dup := seen[t.Name]; dup && t.Name != "" {
			p.addf("Task %d redefines '%s' from task %d", i+1, t.Name, prev+1)
		}
		seen[t.Name] = i
		if t.Leader {
			leaders++
		}
		validateTask(p.under(fmt.Sprintf("Task %q", t.Name)), t)
	}
	if leaders > 1 {
		p.addf("Only one task may be marked as leader")
	}
}

// validatePorts checks that each port label and static port is used once
// across the group's networks.
func validatePorts(p problems, networks []*api.NetworkResource) {
	labels := map[string]bool{}
	static := map[string]string{}
	for _, n := range networks {
		ports := append(append([]api.Port(nil), n.ReservedPorts...), n.DynamicPorts...)
		for _, port := range ports {
			if labels[port.Label] {
				p.addf("Port label %s already in use", port.Label)
			}
			labels[port.Label] = true
			if port.Value < 0 || port.Value > 65535 {
				p.addf("Port %q has an invalid port number %d", port.Label, port.Value)
			}
			if port.To < -1 || port.To > 65535 {
				p.addf("Port %q cannot be mapped to port %d", port.Label, port.To)
			}
			if port.Value > 0 {
				key := fmt.Sprintf("%s:%d", port.HostNetwork, port.Value)
				if other, dup := static[key]; dup && !port.IgnoreCollision {
					p.addf("Static port %d already reserved by %s", port.Value, other)
				}
				static[key] = port.Label
			}
		}
	}
}

// nonNegative reports a negative duration.
func nonNegative(p problems, name string, d *time.Duration) {
	if d != nil && *d < 0 {
		p.addf("Invalid duration for %s: %v must not be negative", name, *d)
	}
}

// deref returns the string a pointer holds, or "".
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// hasGateway reports whether the group runs a Consul gateway, whose task
// the server injects.
func hasGateway(tg *api.TaskGroup) bool {
	for _, s := range tg.Services {
		if s.Connect != nil && s.Connect.Gateway != nil {
			return true
		}
	}
	return false
}
