package command

import (
	"fmt"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// aclRoleCreateVerb creates a role.
var aclRoleCreateVerb = &verb{
	name:     "acl role create",
	synopsis: "Create a new ACL role",
	help: `
Usage: roam acl role create [options]

  Create is used to create a new ACL role. Requires a management token.

General Options:
` + generalOptionsHelp + `

Create Options:

  -name
    Sets the human readable name for the ACL role. Required.

  -description
    A free form text description of the role.

  -policy
    The name of a policy to link to the role. Can be specified multiple
    times; at least one is required.

  -json
    Output the ACL role in JSON format.
`,
	run: (*cli).aclRoleCreate,
}

// aclRoleUpdateVerb updates a role.
var aclRoleUpdateVerb = &verb{
	name:     "acl role update",
	synopsis: "Update an existing ACL role",
	help: `
Usage: roam acl role update [options] <acl_role_id>

  Update is used to update an existing ACL role. Requires a management token.

General Options:
` + generalOptionsHelp + `

Update Options:

  -name / -description
    Replace the role's name or description.

  -policy
    A policy to link to the role. Can be specified multiple times.

  -no-merge
    Replace the role's policies with those given instead of adding to them.

  -json
    Output the ACL role in JSON format.
`,
	run: (*cli).aclRoleUpdate,
}

// aclRoleInfoVerb shows a role.
var aclRoleInfoVerb = &verb{
	name:     "acl role info",
	synopsis: "Fetch information on an existing ACL role",
	help: `
Usage: roam acl role info [options] <acl_role_id>

  Info is used to fetch information on an existing ACL role.

General Options:
` + generalOptionsHelp + `

Info Options:

  -by-name
    Look the role up by its name instead of its ID.

  -json
    Output the ACL role in JSON format.
`,
	run: (*cli).aclRoleInfo,
}

// aclRoleListVerb lists roles.
var aclRoleListVerb = &verb{
	name:     "acl role list",
	synopsis: "List ACL roles",
	help: `
Usage: roam acl role list [options]

  List is used to list existing ACL roles.

General Options:
` + generalOptionsHelp + `

List Options:

  -json
    Output the ACL roles in JSON format.
`,
	run: (*cli).aclRoleList,
}

// aclRoleDeleteVerb deletes a role.
var aclRoleDeleteVerb = &verb{
	name:     "acl role delete",
	synopsis: "Delete an existing ACL role",
	help: `
Usage: roam acl role delete <acl_role_id>

  Delete is used to delete an existing ACL role. Requires a management token.

General Options:
` + generalOptionsHelp,
	run: (*cli).aclRoleDelete,
}

var takesRoleID = argCount{1, 1, "This command takes one argument: <acl_role_id>"}

func policyLinks(names []string) []*api.ACLRolePolicyLink {
	var out []*api.ACLRolePolicyLink
	for _, n := range names {
		out = append(out, &api.ACLRolePolicyLink{Name: n})
	}
	return out
}

func (c *cli) aclRoleCreate(v *verb, args []string) int {
	fs := c.flagSet(v)
	name := fs.String("name", "", "")
	description := fs.String("description", "", "")
	asJSON := fs.Bool("json", false, "")
	var policies stringList
	fs.Var(&policies, "policy", "")
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	if *name == "" {
		c.errorf("ACL role name must be specified using the -name flag")
		return 1
	}
	if len(policies) == 0 {
		c.errorf("At least one policy name must be specified using the -policy flag")
		return 1
	}
	role, _, err := client.ACLRoles().Create(&api.ACLRole{Name: *name, Description: *description, Policies: policyLinks(policies)}, nil)
	if err != nil {
		c.errorf("Error creating ACL role: %s", err)
		return 1
	}
	return c.printRole(role, *asJSON)
}

func (c *cli) aclRoleUpdate(v *verb, args []string) int {
	fs := c.flagSet(v)
	name := fs.String("name", "", "")
	description := fs.String("description", "", "")
	noMerge := fs.Bool("no-merge", false, "")
	asJSON := fs.Bool("json", false, "")
	var policies stringList
	fs.Var(&policies, "policy", "")
	client, code, ok := c.connect(v, fs, args, takesRoleID)
	if !ok {
		return code
	}
	role, _, err := client.ACLRoles().Get(fs.Arg(0), nil)
	if err != nil {
		c.errorf("Error reading ACL role: %s", err)
		return 1
	}
	if *name != "" {
		role.Name = *name
	}
	if *description != "" {
		role.Description = *description
	}
	switch {
	case *noMerge:
		role.Policies = policyLinks(policies)
	default:
		have := map[string]bool{}
		for _, p := range role.Policies {
			have[p.Name] = true
		}
		for _, p := range policies {
			if !have[p] {
				role.Policies = append(role.Policies, &api.ACLRolePolicyLink{Name: p})
			}
		}
	}
	updated, _, err := client.ACLRoles().Update(role, nil)
	if err != nil {
		c.errorf("Error updating ACL role: %s", err)
		return 1
	}
	return c.printRole(updated, *asJSON)
}

func (c *cli) aclRoleInfo(v *verb, args []string) int {
	fs := c.flagSet(v)
	byName := fs.Bool("by-name", false, "")
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, takesRoleID)
	if !ok {
		return code
	}
	var role *api.ACLRole
	var err error
	if *byName {
		role, _, err = client.ACLRoles().GetByName(fs.Arg(0), nil)
	} else {
		role, _, err = client.ACLRoles().Get(fs.Arg(0), nil)
	}
	if err != nil {
		c.errorf("Error reading ACL role: %s", err)
		return 1
	}
	return c.printRole(role, *asJSON)
}

func (c *cli) aclRoleList(v *verb, args []string) int {
	fs := c.flagSet(v)
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	roles, _, err := client.ACLRoles().List(nil)
	if err != nil {
		c.errorf("Error listing ACL roles: %s", err)
		return 1
	}
	return printList(c, roles, *asJSON, "No ACL roles found", func() string {
		rows := []string{"ID|Name|Description|Policies"}
		for _, r := range roles {
			rows = append(rows, r.ID+"|"+r.Name+"|"+r.Description+"|"+policyNames(r.Policies))
		}
		return formatList(rows)
	})
}

func (c *cli) aclRoleDelete(v *verb, args []string) int {
	fs := c.flagSet(v)
	client, code, ok := c.connect(v, fs, args, takesRoleID)
	if !ok {
		return code
	}
	if _, err := client.ACLRoles().Delete(fs.Arg(0), nil); err != nil {
		c.errorf("Error deleting ACL role: %s", err)
		return 1
	}
	c.outf("ACL role %s successfully deleted", fs.Arg(0))
	return 0
}

func policyNames(links []*api.ACLRolePolicyLink) string {
	var names []string
	for _, p := range links {
		names = append(names, p.Name)
	}
	return strings.Join(names, ",")
}

func (c *cli) printRole(r *api.ACLRole, asJSON bool) int {
	if asJSON {
		return c.printJSON(r)
	}
	c.outf("%s", formatKV([]string{
		"ID|" + r.ID,
		"Name|" + r.Name,
		"Description|" + r.Description,
		"Policies|" + policyNames(r.Policies),
		fmt.Sprintf("Create Index|%d", r.CreateIndex),
		fmt.Sprintf("Modify Index|%d", r.ModifyIndex),
	}))
	return 0
}
