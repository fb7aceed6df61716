package command

import (
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

// Exit codes of a monitored evaluation, as Nomad documents them.
const (
	exitOK               = 0
	exitError            = 1
	exitPlacementFailure = 2
)

// monitorWait is how long one blocking query waits for a change.
const monitorWait = 5 * time.Second

// monitorSource is what the monitor reads: an evaluation, its allocations
// and a deployment, each with a blocking query after waitIndex.
type monitorSource interface {
	evaluation(id string, waitIndex uint64) (*api.Evaluation, uint64, error)
	evalAllocations(id string) ([]*api.AllocationListStub, error)
	deployment(id string, waitIndex uint64) (*api.Deployment, uint64, error)
}

// apiMonitorSource reads through the official API client.
type apiMonitorSource struct{ client *api.Client }

// evaluation reads an evaluation, blocking until it changes after waitIndex.
func (s apiMonitorSource) evaluation(id string, waitIndex uint64) (*api.Evaluation, uint64, error) {
	eval, meta, err := s.client.Evaluations().Info(id, &api.QueryOptions{WaitIndex: waitIndex, WaitTime: monitorWait})
	if err != nil {
		return nil, 0, err
	}
	return eval, meta.LastIndex, nil
}

// evalAllocations lists the allocations an evaluation created or changed.
func (s apiMonitorSource) evalAllocations(id string) ([]*api.AllocationListStub, error) {
	allocs, _, err := s.client.Evaluations().Allocations(id, nil)
	return allocs, err
}

// deployment reads a deployment, blocking until it changes after waitIndex.
func (s apiMonitorSource) deployment(id string, waitIndex uint64) (*api.Deployment, uint64, error) {
	d, meta, err := s.client.Deployments().Info(id, &api.QueryOptions{WaitIndex: waitIndex, WaitTime: monitorWait})
	if err != nil {
		return nil, 0, err
	}
	return d, meta.LastIndex, nil
}

// evalMonitor follows an evaluation, then its deployment, printing each
// change the way Nomad's monitor does.
type evalMonitor struct {
	c       *cli
	src     monitorSource
	verbose bool
}

// evalState is what the monitor has seen of an evaluation so far.
type evalState struct {
	status, node, job, deployment string
	index                         uint64
	allocs                        map[string]allocState
}

// allocState is what the monitor has seen of one allocation.
type allocState struct {
	id, group, node, desired, client, clientDesc string
	index                                        uint64
}

// info prints a "==> time: message" line.
func (m *evalMonitor) info(format string, args ...any) {
	m.c.outf("==> %s: %s", formatTime(m.c.now()), fmt.Sprintf(format, args...))
}

// output prints a "    time: message" line.
func (m *evalMonitor) output(format string, args ...any) {
	m.c.outf("    %s: %s", formatTime(m.c.now()), fmt.Sprintf(format, args...))
}

// id shortens an identifier unless verbose.
func (m *evalMonitor) id(id string) string { return shortID(id, m.verbose) }

// monitor follows evalID (and the evaluations it chains to) until it
// finishes, then the deployment it created, and returns the exit code.
func (m *evalMonitor) monitor(evalID string) int {
	var prev *evalState
	var index uint64
	placementFailed := false
	for {
		eval, next, lastIndex, err := m.observe(evalID, prev, index)
		if err != nil {
			m.c.errorf("%s", err)
			return exitError
		}
		m.info("Monitoring evaluation %q", m.id(eval.ID))
		m.update(deref(prev), next)
		prev, index = &next, lastIndex
		if !evalTerminal(eval.Status) {
			continue
		}
		placementFailed = m.finished(eval) || placementFailed
		if eval.NextEval == "" {
			break
		}
		if eval.Wait > 0 {
			m.info("Monitoring next evaluation %q in %s", m.id(eval.NextEval), eval.Wait)
		}
		evalID, index, prev = eval.NextEval, 0, nil
	}
	code := exitOK
	if prev.deployment != "" {
		code = m.monitorDeployment(prev.deployment)
	}
	if placementFailed {
		return exitPlacementFailure
	}
	return code
}

// observe waits until the evaluation or its allocations differ from prev
// (nil: the first look) and returns them with the index to block on next.
// A server that answers without blocking is polled once a second.
func (m *evalMonitor) observe(evalID string, prev *evalState, index uint64) (*api.Evaluation, evalState, uint64, error) {
	for {
		eval, lastIndex, err := m.src.evaluation(evalID, index)
		if err != nil {
			return nil, evalState{}, 0, fmt.Errorf("Error reading evaluation: %s", err)
		}
		allocs, err := m.src.evalAllocations(eval.ID)
		if err != nil {
			return nil, evalState{}, 0, fmt.Errorf("Error reading allocations: %s", err)
		}
		next := newEvalState(eval, allocs)
		if prev == nil || !next.equal(*prev) {
			return eval, next, lastIndex, nil
		}
		if lastIndex == index {
			m.c.pause(time.Second)
		}
		index = lastIndex
	}
}

// equal reports whether two observations show the same thing.
func (s evalState) equal(o evalState) bool {
	return s.status == o.status && s.node == o.node && s.job == o.job &&
		s.deployment == o.deployment && maps.Equal(s.allocs, o.allocs)
}

// evalTerminal reports whether an evaluation status is final.
func evalTerminal(status string) bool {
	switch status {
	case api.EvalStatusComplete, api.EvalStatusFailed, api.EvalStatusCancelled:
		return true
	}
	return false
}

// newEvalState captures an evaluation and its allocations.
func newEvalState(eval *api.Evaluation, allocs []*api.AllocationListStub) evalState {
	s := evalState{
		status:     eval.Status,
		node:       eval.NodeID,
		job:        eval.JobID,
		deployment: eval.DeploymentID,
		index:      eval.CreateIndex,
		allocs:     map[string]allocState{},
	}
	for _, a := range allocs {
		s.allocs[a.ID] = allocState{
			id: a.ID, group: a.TaskGroup, node: a.NodeID, desired: a.DesiredStatus,
			client: a.ClientStatus, clientDesc: a.ClientDescription, index: a.CreateIndex,
		}
	}
	return s
}

// update prints what changed between two observations of an evaluation.
func (m *evalMonitor) update(prev, next evalState) {
	if prev.node == "" && next.node != "" {
		m.output("Evaluation triggered by node %q", m.id(next.node))
	}
	if prev.job == "" && next.job != "" {
		m.output("Evaluation triggered by job %q", next.job)
	}
	if prev.deployment == "" && next.deployment != "" {
		m.output("Evaluation within deployment: %q", m.id(next.deployment))
	}
	for _, id := range sortedKeys(next.allocs) {
		m.updateAlloc(prev.allocs, next.allocs[id], next.index)
	}
	if prev.status != "" && next.status != api.EvalStatusPending && prev.status != next.status {
		m.output("Evaluation status changed: %q -> %q", prev.status, next.status)
	}
}

// updateAlloc prints an allocation's creation, modification or change of
// client status.
func (m *evalMonitor) updateAlloc(seen map[string]allocState, a allocState, evalIndex uint64) {
	old, ok := seen[a.id]
	switch {
	case !ok && a.index < evalIndex:
		m.output("Allocation %q modified: node %q, group %q", m.id(a.id), m.id(a.node), a.group)
	case !ok && a.desired == api.AllocDesiredStatusRun:
		m.output("Allocation %q created: node %q, group %q", m.id(a.id), m.id(a.node), a.group)
	case ok && old.client != a.client:
		desc := ""
		if a.clientDesc != "" {
			desc = fmt.Sprintf(" (%s)", a.clientDesc)
		}
		m.output("Allocation %q status changed: %q -> %q%s", m.id(a.id), old.client, a.client, desc)
	}
}

// finished prints the end of an evaluation and reports whether some
// allocations could not be placed.
func (m *evalMonitor) finished(eval *api.Evaluation) bool {
	if len(eval.FailedTGAllocs) == 0 {
		m.info("Evaluation %q finished with status %q", m.id(eval.ID), eval.Status)
		return false
	}
	m.info("Evaluation %q finished with status %q but failed to place all allocations:", m.id(eval.ID), eval.Status)
	for _, tg := range sortedKeys(eval.FailedTGAllocs) {
		metrics := eval.FailedTGAllocs[tg]
		m.output("Task Group %q (failed to place %s):", tg, allocCount(metrics.CoalescedFailures+1))
		for _, line := range strings.Split(formatAllocMetrics(metrics, "  "), "\n") {
			m.c.outf("    %s", line)
		}
	}
	if eval.BlockedEval != "" {
		m.output("Evaluation %q waiting for additional capacity to place remainder", m.id(eval.BlockedEval))
	}
	return true
}

// allocCount says "1 allocation" or "N allocations".
func allocCount(n int) string {
	if n == 1 {
		return "1 allocation"
	}
	return fmt.Sprintf("%d allocations", n)
}

// formatAllocMetrics explains why the scheduler could not place an
// allocation, one "* reason" line per cause, each line prefixed.
func formatAllocMetrics(m *api.AllocationMetric, prefix string) string {
	var lines []string
	add := func(format string, args ...any) {
		lines = append(lines, prefix+"* "+fmt.Sprintf(format, args...))
	}
	if m.NodesEvaluated == 0 {
		add("No nodes were eligible for evaluation")
	}
	for _, dc := range sortedKeys(m.NodesAvailable) {
		if m.NodesAvailable[dc] == 0 {
			add("No nodes are available in datacenter %q", dc)
		}
	}
	for _, class := range sortedKeys(m.ClassFiltered) {
		add("Class %q: %d nodes excluded by filter", class, m.ClassFiltered[class])
	}
	for _, cs := range sortedKeys(m.ConstraintFiltered) {
		add("Constraint %q: %d nodes excluded by filter", cs, m.ConstraintFiltered[cs])
	}
	if m.NodesExhausted > 0 {
		add("Resources exhausted on %d nodes", m.NodesExhausted)
	}
	for _, class := range sortedKeys(m.ClassExhausted) {
		add("Class %q exhausted on %d nodes", class, m.ClassExhausted[class])
	}
	for _, dim := range sortedKeys(m.DimensionExhausted) {
		add("Dimension %q exhausted on %d nodes", dim, m.DimensionExhausted[dim])
	}
	for _, dim := range m.QuotaExhausted {
		add("Quota limit hit %q", dim)
	}
	return strings.Join(lines, "\n")
}
