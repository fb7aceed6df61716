// Package command is Roam's CLI: every verb but `agent` talks to an agent
// over HTTP with Nomad's official API client, and prints what Nomad's CLI
// prints. One file per verb group; format.go holds the table and time
// formatting, meta.go the shared flags and client construction, args.go the
// argument checks and the lookup of the job or allocation an argument names,
// output.go the printing of JSON and lists.
package command

import (
	"fmt"
	"sort"
	"strings"

	"github.com/roam-project/roam/agent"
)

// Run runs the CLI with args (without the program name) and returns the exit
// code.
func Run(args []string) int {
	c := newCLI()
	if line := c.getenv("COMP_LINE"); line != "" {
		return c.complete(line)
	}
	return c.run(args)
}

// verb is one CLI command, such as "job run".
type verb struct {
	name     string
	aliases  []string
	synopsis string
	help     string
	run      func(c *cli, v *verb, args []string) int
}

// groupSynopses describes the verbs that only group subcommands.
var groupSynopses = map[string]string{
	"acl":        "Interact with ACL policies, tokens, roles, auth methods and binding rules",
	"alloc":      "Interact with allocations",
	"deployment": "Interact with deployments",
	"eval":       "Interact with evaluations",
	"ingress":    "Interact with the built-in ingress",
	"job":        "Interact with jobs",
	"namespace":  "Interact with namespaces",
	"node":       "Interact with nodes",
	"operator":   "Provides cluster-level tools for Roam operators",
	"server":     "Interact with servers",
	"service":    "Interact with registered services",
	"system":     "Interact with the system API",
	"tls":        "Generate self-signed TLS certificates for Roam",
	"var":        "Interact with variables",
}

// commonVerbs are listed first in the top-level usage, as Nomad does.
var commonVerbs = []string{"run", "stop", "status", "alloc", "job", "node", "agent"}

// verbs returns every verb the CLI knows.
func verbs() []*verb {
	return []*verb{
		agentVerb, agentInfoVerb, agentMonitorVerb, versionVerb, fmtVerb, statusVerb, uiVerb,
		serverMembersVerb, serverJoinVerb, serverForceLeaveVerb, systemGCVerb,
		operatorRaftListPeersVerb, operatorRaftRemovePeerVerb,
		operatorSnapshotSaveVerb, operatorSnapshotRestoreVerb, operatorSnapshotInspectVerb,
		operatorSchedulerGetConfigVerb, operatorSchedulerSetConfigVerb, operatorDebugVerb,
		nodeStatusVerb, nodeEligibilityVerb, nodeDrainVerb,
		nodePoolApplyVerb, nodePoolListVerb, nodePoolInfoVerb, nodePoolDeleteVerb, nodePoolNodesVerb, nodePoolJobsVerb,
		jobRunVerb, jobStatusVerb, jobStopVerb, jobStartVerb, jobInspectVerb,
		jobValidateVerb, jobPlanVerb, jobHistoryVerb, jobInitVerb,
		jobScaleVerb, jobRevertVerb, jobAllocsVerb, jobEvalVerb,
		jobPeriodicForceVerb, jobDispatchVerb,
		allocStatusVerb, allocLogsVerb, allocFSVerb, allocStopVerb, allocRestartVerb, allocSignalVerb, allocExecVerb,
		evalStatusVerb, evalListVerb, deploymentListVerb, deploymentStatusVerb, deploymentPromoteVerb, deploymentFailVerb,
		varPutVerb, varGetVerb, varListVerb, varPurgeVerb, varInitVerb, varLockVerb,
		serviceListVerb, serviceInfoVerb, serviceDeleteVerb, ingressListVerb,
		namespaceApplyVerb, namespaceListVerb, namespaceStatusVerb, namespaceInspectVerb, namespaceDeleteVerb,
		tlsCACreateVerb, tlsCertCreateVerb, operatorGossipKeyringVerb,
		operatorRootKeyringListVerb, operatorRootKeyringRotateVerb, operatorRootKeyringRemoveVerb,
		aclBootstrapVerb, aclPolicyApplyVerb, aclPolicyListVerb, aclPolicyInfoVerb, aclPolicyDeleteVerb, aclPolicySelfVerb,
		aclTokenCreateVerb, aclTokenListVerb, aclTokenInfoVerb, aclTokenSelfVerb, aclTokenUpdateVerb, aclTokenDeleteVerb,
		aclRoleCreateVerb, aclRoleListVerb, aclRoleInfoVerb, aclRoleUpdateVerb, aclRoleDeleteVerb,
		aclAuthMethodCreateVerb, aclAuthMethodListVerb, aclAuthMethodInfoVerb, aclAuthMethodUpdateVerb, aclAuthMethodDeleteVerb,
		aclBindingRuleCreateVerb, aclBindingRuleListVerb, aclBindingRuleInfoVerb, aclBindingRuleUpdateVerb, aclBindingRuleDeleteVerb,
		nodeMetaApplyVerb, nodeMetaReadVerb, nodeIdentityGetVerb, nodeIdentityRenewVerb, nodeIntroCreateVerb,
		volumeCreateVerb, volumeStatusVerb, volumeDeleteVerb,
	}
}

// agentVerb hands over to the agent package.
var agentVerb = &verb{
	name:     "agent",
	synopsis: "Runs a Roam agent",
	help:     "Usage: roam agent [options]\n\n  Starts the Roam agent and runs until an interrupt is received.",
	run:      func(_ *cli, _ *verb, args []string) int { return agent.Run(args) },
}

// lookup finds the verb args start with; it returns the verb and the
// arguments that follow its name.
func lookup(args []string) (*verb, []string) {
	if len(args) == 0 {
		return nil, nil
	}
	byName := map[string]*verb{}
	longest := 1
	for _, v := range verbs() {
		for _, name := range append([]string{v.name}, v.aliases...) {
			byName[name] = v
			longest = max(longest, strings.Count(name, " ")+1)
		}
	}
	for n := min(longest, len(args)); n > 0; n-- {
		if v, ok := byName[strings.Join(args[:n], " ")]; ok {
			return v, args[n:]
		}
	}
	return nil, args
}

// run dispatches args to a verb.
func (c *cli) run(args []string) int {
	if len(args) == 0 {
		c.errorf("%s", c.usage())
		return 1
	}
	switch args[0] {
	case "-v", "-version", "--version":
		return c.version(versionVerb, nil)
	case "-h", "-help", "--help":
		c.outf("%s", c.usage())
		return 0
	case "-autocomplete-install", "--autocomplete-install":
		return c.autocompleteInstall()
	case "-autocomplete-uninstall", "--autocomplete-uninstall":
		return c.autocompleteUninstall()
	}
	if v, rest := lookup(args); v != nil {
		if v != agentVerb && asksHelp(rest) {
			c.outf("%s", trimHelp(v.help))
			return 0
		}
		return v.run(c, v, rest)
	}
	if _, ok := groupSynopses[args[0]]; ok {
		return c.groupHelp(args[0], args[1:])
	}
	c.errorf("Unknown command: %q\n", strings.Join(args, " "))
	c.errorf("%s", c.usage())
	return 1
}

// asksHelp reports whether -h, -help or --help appears among args (before
// a "--"), which shows a verb's help wherever it is, as in Nomad.
func asksHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// groupHelp prints the subcommands of a group such as "job". It exits 0 when
// help was asked for and 1 otherwise, as Nomad does.
func (c *cli) groupHelp(group string, args []string) int {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: roam %s <subcommand> [options] [args]\n\n", group)
	fmt.Fprintf(&b, "  %s. Run \"roam %s <subcommand> -h\" for help\n  on a subcommand.\n\n", groupSynopses[group], group)
	b.WriteString("Subcommands:\n")
	var rows []string
	for _, v := range verbs() {
		if sub, ok := strings.CutPrefix(v.name, group+" "); ok {
			rows = append(rows, sub+"|"+v.synopsis)
		}
	}
	sort.Strings(rows)
	b.WriteString(indent(columnize(rows, "    "), "    "))
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		c.outf("%s", b.String())
		return 0
	}
	if len(args) > 0 {
		c.errorf("Unknown command: %q\n", group+" "+strings.Join(args, " "))
	}
	c.errorf("%s", b.String())
	return 1
}

// usage is the top-level usage text.
func (c *cli) usage() string {
	top := map[string]string{}
	for g, s := range groupSynopses {
		top[g] = s
	}
	for _, v := range verbs() {
		if !strings.Contains(v.name, " ") {
			top[v.name] = v.synopsis
		}
		for _, a := range v.aliases {
			if a == "run" || a == "stop" {
				top[a] = v.synopsis
			}
		}
	}
	var common, other []string
	isCommon := map[string]bool{}
	for _, name := range commonVerbs {
		isCommon[name] = true
		common = append(common, name+"|"+top[name])
	}
	for _, name := range sortedKeys(top) {
		if !isCommon[name] {
			other = append(other, name+"|"+top[name])
		}
	}
	return "Usage: roam [-version] [-help] [-autocomplete-(un)install] <command> [args]\n\n" +
		"Common commands:\n" + indent(columnize(common, "    "), "    ") + "\n\n" +
		"Other commands:\n" + indent(columnize(other, "    "), "    ")
}
