package command

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/hashicorp/nomad/api"
)

// nodeEligibilityVerb toggles whether a node receives new allocations.
var nodeEligibilityVerb = &verb{
	name:     "node eligibility",
	synopsis: "Toggle scheduling eligibility for a given node",
	help: `
Usage: roam node eligibility [options] <node>

  Toggles the node's scheduling eligibility. When a node is marked as
  ineligible, no new allocations will be placed on it but existing
  allocations will remain.

General Options:
` + generalOptionsHelp + `

Node Eligibility Options:

  -enable
    Enable scheduling eligibility.

  -disable
    Disable scheduling eligibility.

  -self
    Set the eligibility of the local node.
`,
	run: (*cli).nodeEligibility,
}

// nodeEligibility implements `node eligibility`.
func (c *cli) nodeEligibility(v *verb, args []string) int {
	fs := c.flagSet(v)
	enable := fs.Bool("enable", false, "")
	disable := fs.Bool("disable", false, "")
	self := fs.Bool("self", false, "")
	if code, ok := c.parse(v, fs, args); !ok {
		return code
	}
	if *enable == *disable {
		return c.usageError(v, "Either the '-enable' or '-disable' flag must be set")
	}
	client, node, ok := c.targetNode(v, fs, *self)
	if !ok {
		return 1
	}
	if _, err := client.Nodes().ToggleEligibility(node.ID, *enable, nil); err != nil {
		c.errorf("Error updating scheduling eligibility: %s", err)
		return 1
	}
	state := "eligible"
	if *disable {
		state = "ineligible"
	}
	c.outf("Node %q scheduling eligibility set: %s for scheduling", node.ID, state)
	return 0
}

// targetNode builds a client and resolves the node a node verb acts on: the
// local node with -self, else the single node argument.
func (c *cli) targetNode(v *verb, fs *flag.FlagSet, self bool) (*api.Client, *api.Node, bool) {
	if (self && fs.NArg() != 0) || (!self && fs.NArg() != 1) {
		c.usageError(v, "This command takes either one argument (the node) or the -self flag")
		return nil, nil, false
	}
	client, ok := c.clientOrFail()
	if !ok {
		return nil, nil, false
	}
	node, err := findNode(client, fs.Arg(0), self, false)
	if err != nil {
		c.errorf("%s", err)
		return nil, nil, false
	}
	return client, node, true
}

// nodeDrainVerb starts or stops draining a node.
var nodeDrainVerb = &verb{
	name:     "node drain",
	synopsis: "Toggle drain mode on a given node",
	help: `
Usage: roam node drain [options] <node>

  Toggles node draining on a specified node. It is required that either
  -enable or -disable is specified, but not both. The -self flag is useful to
  drain the local node.

General Options:
` + generalOptionsHelp + `

Node Drain Options:

  -disable
    Disable draining for the specified node.

  -enable
    Enable draining for the specified node.

  -deadline <duration>
    Set the deadline by which all allocations must be moved off the node.
    Remaining allocations after the deadline are forced removed from the node.
    If unspecified, a default deadline of one hour is applied.

  -detach
    Return immediately instead of entering monitor mode.

  -monitor
    Enter monitor mode directly without modifying the drain status.

  -force
    Force remove allocations off the node immediately.

  -no-deadline
    No deadline allows the allocations to drain off the node without being
    force stopped after a certain deadline.

  -ignore-system
    Ignore system allows the drain to complete without stopping system job
    allocations. By default system jobs are stopped last.

  -keep-ineligible
    Keep ineligible will maintain the node's scheduling ineligibility even if
    the drain is being disabled.

  -self
    Set the drain status of the local node.

  -yes
    Automatic yes to prompts.
`,
	run: (*cli).nodeDrain,
}

// drainFlags are the flags of `node drain`.
type drainFlags struct {
	enable, disable, detach, monitor, force, noDeadline bool
	ignoreSystem, keepIneligible, self, yes             bool
	deadline                                            time.Duration
}

// nodeDrain implements `node drain`.
func (c *cli) nodeDrain(v *verb, args []string) int {
	var f drainFlags
	fs := c.flagSet(v)
	for name, p := range map[string]*bool{"enable": &f.enable, "disable": &f.disable, "detach": &f.detach,
		"monitor": &f.monitor, "force": &f.force, "no-deadline": &f.noDeadline, "ignore-system": &f.ignoreSystem,
		"keep-ineligible": &f.keepIneligible, "self": &f.self, "yes": &f.yes} {
		fs.BoolVar(p, name, false, "")
	}
	fs.DurationVar(&f.deadline, "deadline", time.Hour, "")
	if code, ok := c.parse(v, fs, args); !ok {
		return code
	}
	if !f.monitor && f.enable == f.disable {
		return c.usageError(v, "Either the '-enable' or '-disable' flag must be set, unless using '-monitor'")
	}
	client, node, ok := c.targetNode(v, fs, f.self)
	if !ok {
		return 1
	}
	if f.monitor {
		return c.monitorDrain(client, node.ID, 0, f.ignoreSystem)
	}
	if f.enable && !f.yes {
		question := fmt.Sprintf("Are you sure you want to enable drain mode for node %q? [y/N]", node.ID)
		if code, proceed := c.confirm(question, "Canceling drain toggle"); !proceed {
			return code
		}
	}
	resp, err := client.Nodes().UpdateDrainOpts(node.ID, f.options(), nil)
	if err != nil {
		c.errorf("Error updating drain specification: %s", err)
		return 1
	}
	if !f.enable {
		c.outf("Node %q drain strategy unset", node.ID)
		return 0
	}
	c.outf("%s: Ctrl-C to stop monitoring: will not cancel the node drain", formatTime(c.now()))
	c.outf("%s: Node %q drain strategy set", formatTime(c.now()), node.ID)
	if f.detach {
		return 0
	}
	return c.monitorDrain(client, node.ID, resp.LastIndex, f.ignoreSystem)
}

// options turns the flags into the drain request: a spec to enable the
// drain (-force: deadline -1, -no-deadline: 0), none to disable it.
func (f drainFlags) options() *api.DrainOptions {
	opts := &api.DrainOptions{MarkEligible: !f.keepIneligible}
	if !f.enable {
		return opts
	}
	spec := &api.DrainSpec{Deadline: f.deadline, IgnoreSystemJobs: f.ignoreSystem}
	switch {
	case f.force:
		spec.Deadline = -1
	case f.noDeadline:
		spec.Deadline = 0
	}
	opts.DrainSpec = spec
	return opts
}

// monitorDrain prints the drain's progress until it completes.
func (c *cli) monitorDrain(client *api.Client, nodeID string, index uint64, ignoreSys bool) int {
	code := 0
	for msg := range client.Nodes().MonitorDrain(context.Background(), nodeID, index, ignoreSys) {
		if msg.Level == api.MonitorMsgLevelError {
			c.errorf("%s: %s", formatTime(c.now()), msg)
			code = 1
			continue
		}
		c.outf("%s: %s", formatTime(c.now()), msg)
	}
	return code
}
