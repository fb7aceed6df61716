package jobspec

import "github.com/hashicorp/nomad/api"

// defaultOperator is the operator of a constraint or affinity that names
// none, as in Nomad.
const defaultOperator = "="

// DefaultOperators fills in "=" as the operator of every constraint and
// affinity of job (at job, group, task and device level) that has none, as Nomad
// does for `attribute` and `value` written without `operator`. A nil job
// is left alone.
func DefaultOperators(job *api.Job) {
	if job == nil {
		return
	}
	fill := func(cs []*api.Constraint, as []*api.Affinity) {
		for _, c := range cs {
			if c != nil && c.Operand == "" {
				c.Operand = defaultOperator
			}
		}
		for _, a := range as {
			if a != nil && a.Operand == "" {
				a.Operand = defaultOperator
			}
		}
	}
	fill(job.Constraints, job.Affinities)
	for _, tg := range job.TaskGroups {
		if tg == nil {
			continue
		}
		fill(tg.Constraints, tg.Affinities)
		for _, t := range tg.Tasks {
			if t == nil {
				continue
			}
			fill(t.Constraints, t.Affinities)
			if t.Resources == nil {
				continue
			}
			for _, d := range t.Resources.Devices {
				if d != nil {
					fill(d.Constraints, d.Affinities)
				}
			}
		}
	}
}
