package command

import (
	"fmt"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// aclPolicyApplyVerb creates or updates a policy.
var aclPolicyApplyVerb = &verb{
	name:     "acl policy apply",
	synopsis: "Create or update an ACL policy",
	help: `
Usage: roam acl policy apply [options] <name> <path>

  Apply is used to create or update an ACL policy. The policy is sourced
  from <path> or from stdin if path is "-". Requires a management token.

General Options:
` + generalOptionsHelp + `

Apply Options:

  -description
    Specifies a human readable description for the policy.

  -job
    Attaches the policy to the job of this ID (in -namespace), whose tasks'
    workload identities then hold it.

  -group
    Attaches the policy to this group of -job only.

  -task
    Attaches the policy to this task of -group only.
`,
	run: (*cli).aclPolicyApply,
}

// aclPolicyListVerb lists policies.
var aclPolicyListVerb = &verb{
	name:     "acl policy list",
	synopsis: "List ACL policies",
	help: `
Usage: roam acl policy list [options]

  List is used to list available ACL policies: all of them for a
  management token, the token's own otherwise.

General Options:
` + generalOptionsHelp + `

List Options:

  -json
    Output the ACL policies in JSON format.
`,
	run: (*cli).aclPolicyList,
}

// aclPolicySelfVerb lists the caller's policies.
var aclPolicySelfVerb = &verb{
	name:     "acl policy self",
	synopsis: "Lists the ACL policies of the current token or workload identity",
	help: `
Usage: roam acl policy self [options]

  Self lists the ACL policies the token in use holds; for a task's
  workload identity (NOMAD_TOKEN in a task with identity { env = true }),
  the policies attached to its job, group or task.

General Options:
` + generalOptionsHelp + `

Self Options:

  -json
    Output the ACL policies in JSON format.
`,
	run: (*cli).aclPolicySelf,
}

// aclPolicyInfoVerb shows a policy.
var aclPolicyInfoVerb = &verb{
	name:     "acl policy info",
	synopsis: "Fetch info on an existing ACL policy",
	help: `
Usage: roam acl policy info [options] <name>

  Info is used to fetch information on an existing ACL policy.

General Options:
` + generalOptionsHelp + `

Info Options:

  -json
    Output the ACL policy in JSON format.
`,
	run: (*cli).aclPolicyInfo,
}

// aclPolicyDeleteVerb deletes a policy.
var aclPolicyDeleteVerb = &verb{
	name:     "acl policy delete",
	synopsis: "Delete an existing ACL policy",
	help: `
Usage: roam acl policy delete <name>

  Delete is used to delete an existing ACL policy. Requires a management
  token.

General Options:
` + generalOptionsHelp,
	run: (*cli).aclPolicyDelete,
}

var takesPolicyName = argCount{1, 1, "This command takes one argument: <name>"}

func (c *cli) aclPolicyApply(v *verb, args []string) int {
	fs := c.flagSet(v)
	description := fs.String("description", "", "")
	job := fs.String("job", "", "")
	group := fs.String("group", "", "")
	task := fs.String("task", "", "")
	client, code, ok := c.connect(v, fs, args, argCount{2, 2, "This command takes two arguments: <name> and <path>"})
	if !ok {
		return code
	}
	var jobACL *api.JobACL
	switch {
	case *job != "":
		if *task != "" && *group == "" {
			return c.usageError(v, "-task requires -group")
		}
		ns := c.namespace()
		if ns == "" {
			ns = "default"
		}
		jobACL = &api.JobACL{Namespace: ns, JobID: *job, Group: *group, Task: *task}
	case *group != "" || *task != "":
		return c.usageError(v, "-group and -task require -job")
	}
	rules, err := c.readFileOrStdin(fs.Arg(1))
	if err != nil {
		c.errorf("Error reading policy file: %s", err)
		return 1
	}
	policy := &api.ACLPolicy{Name: fs.Arg(0), Description: *description, Rules: rules, JobACL: jobACL}
	if _, err := client.ACLPolicies().Upsert(policy, nil); err != nil {
		c.errorf("Error writing ACL policy: %s", err)
		return 1
	}
	c.outf("Successfully wrote %q ACL policy!", policy.Name)
	return 0
}

func (c *cli) aclPolicyList(v *verb, args []string) int {
	fs := c.flagSet(v)
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	policies, _, err := client.ACLPolicies().List(nil)
	if err != nil {
		c.errorf("Error fetching ACL policies: %s", err)
		return 1
	}
	return printList(c, policies, *asJSON, "No policies found", func() string {
		rows := []string{"Name|Description"}
		for _, p := range policies {
			rows = append(rows, p.Name+"|"+p.Description)
		}
		return formatList(rows)
	})
}

func (c *cli) aclPolicySelf(v *verb, args []string) int {
	fs := c.flagSet(v)
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	policies, _, err := client.ACLPolicies().Self(nil)
	if err != nil {
		c.errorf("Error fetching ACL policies: %s", err)
		return 1
	}
	return printList(c, policies, *asJSON, "No policies found", func() string {
		rows := []string{"Name|Job ID|Group Name|Task Name"}
		for _, p := range policies {
			j := p.JobACL
			if j == nil {
				j = &api.JobACL{}
			}
			rows = append(rows, p.Name+"|"+j.JobID+"|"+j.Group+"|"+j.Task)
		}
		return formatList(rows)
	})
}

func (c *cli) aclPolicyInfo(v *verb, args []string) int {
	fs := c.flagSet(v)
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, takesPolicyName)
	if !ok {
		return code
	}
	policy, _, err := client.ACLPolicies().Info(fs.Arg(0), nil)
	if err != nil {
		c.errorf("Error fetching ACL policy: %s", err)
		return 1
	}
	if *asJSON {
		return c.printJSON(policy)
	}
	c.outf("%s", formatKV([]string{
		"Name|" + policy.Name,
		"Description|" + policy.Description,
		fmt.Sprintf("CreateIndex|%d", policy.CreateIndex),
		fmt.Sprintf("ModifyIndex|%d", policy.ModifyIndex),
	}))
	if j := policy.JobACL; j != nil {
		c.outf("\nAssociated Workload\n%s", formatKV([]string{
			"Namespace|" + j.Namespace, "JobID|" + j.JobID, "Group|" + j.Group, "Task|" + j.Task,
		}))
	}
	c.outf("\nRules\n\n%s", strings.TrimSpace(policy.Rules))
	return 0
}

func (c *cli) aclPolicyDelete(v *verb, args []string) int {
	fs := c.flagSet(v)
	client, code, ok := c.connect(v, fs, args, takesPolicyName)
	if !ok {
		return code
	}
	if _, err := client.ACLPolicies().Delete(fs.Arg(0), nil); err != nil {
		c.errorf("Error deleting ACL policy: %s", err)
		return 1
	}
	c.outf("Successfully deleted %q ACL policy!", fs.Arg(0))
	return 0
}
