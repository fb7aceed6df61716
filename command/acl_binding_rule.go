package command

import (
	"flag"
	"fmt"

	"github.com/hashicorp/nomad/api"
)

const bindingRuleOptionsHelp = `
  -description
    A free form text description of the binding rule (at most 256
    characters).

  -auth-method
    The name of the ACL auth method the rule belongs to. Required on
    create; a rule cannot move to another method.

  -selector
    An expression over the identity's attributes the rule matches logins
    with; empty matches every login.

  -bind-type
    What a matching login gets: role, policy or management.

  -bind-name
    The role or policy a matching login gets, with HIL ${foo}
    interpolation; none for management.

  -json
    Output the ACL binding rule in JSON format.
`

// aclBindingRuleCreateVerb creates a binding rule.
var aclBindingRuleCreateVerb = &verb{
	name:     "acl binding-rule create",
	synopsis: "Create a new ACL binding rule",
	help: `
Usage: roam acl binding-rule create [options]

  Create is used to create a new ACL binding rule of an auth method.
  Requires a management token.

General Options:
` + generalOptionsHelp + `

Create Options:
` + bindingRuleOptionsHelp,
	run: (*cli).aclBindingRuleCreate,
}

// aclBindingRuleUpdateVerb updates a binding rule.
var aclBindingRuleUpdateVerb = &verb{
	name:     "acl binding-rule update",
	synopsis: "Update an existing ACL binding rule",
	help: `
Usage: roam acl binding-rule update [options] <binding_rule_id>

  Update is used to update an existing ACL binding rule: the options given
  replace the rule's settings. Requires a management token.

General Options:
` + generalOptionsHelp + `

Update Options:
` + bindingRuleOptionsHelp,
	run: (*cli).aclBindingRuleUpdate,
}

// aclBindingRuleInfoVerb shows a binding rule.
var aclBindingRuleInfoVerb = &verb{
	name:     "acl binding-rule info",
	synopsis: "Fetch information on an existing ACL binding rule",
	help: `
Usage: roam acl binding-rule info [options] <binding_rule_id>

  Info is used to fetch information on an existing ACL binding rule.
  Requires a management token.

General Options:
` + generalOptionsHelp + `

Info Options:

  -json
    Output the ACL binding rule in JSON format.
`,
	run: (*cli).aclBindingRuleInfo,
}

// aclBindingRuleListVerb lists binding rules.
var aclBindingRuleListVerb = &verb{
	name:     "acl binding-rule list",
	synopsis: "List ACL binding rules",
	help: `
Usage: roam acl binding-rule list [options]

  List is used to list the ACL binding rules. Requires a management token.

General Options:
` + generalOptionsHelp + `

List Options:

  -json
    Output the ACL binding rules in JSON format.
`,
	run: (*cli).aclBindingRuleList,
}

// aclBindingRuleDeleteVerb deletes a binding rule.
var aclBindingRuleDeleteVerb = &verb{
	name:     "acl binding-rule delete",
	synopsis: "Delete an existing ACL binding rule",
	help: `
Usage: roam acl binding-rule delete <binding_rule_id>

  Delete is used to delete an existing ACL binding rule. Requires a
  management token.

General Options:
` + generalOptionsHelp,
	run: (*cli).aclBindingRuleDelete,
}

var takesBindingRule = argCount{1, 1, "This command takes one argument: <binding_rule_id>"}

// bindingRuleFlags are the settings create and update take.
type bindingRuleFlags struct {
	fs                                                    *flag.FlagSet
	description, authMethod, selector, bindType, bindName *string
	asJSON                                                *bool
}

func newBindingRuleFlags(fs *flag.FlagSet) *bindingRuleFlags {
	return &bindingRuleFlags{
		fs:          fs,
		description: fs.String("description", "", ""),
		authMethod:  fs.String("auth-method", "", ""),
		selector:    fs.String("selector", "", ""),
		bindType:    fs.String("bind-type", "", ""),
		bindName:    fs.String("bind-name", "", ""),
		asJSON:      fs.Bool("json", false, ""),
	}
}

// apply sets on r the settings given on the command line.
func (f *bindingRuleFlags) apply(r *api.ACLBindingRule) {
	f.fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "description":
			r.Description = *f.description
		case "auth-method":
			r.AuthMethod = *f.authMethod
		case "selector":
			r.Selector = *f.selector
		case "bind-type":
			r.BindType = *f.bindType
		case "bind-name":
			r.BindName = *f.bindName
		}
	})
}

func (c *cli) aclBindingRuleCreate(v *verb, args []string) int {
	fs := c.flagSet(v)
	f := newBindingRuleFlags(fs)
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	var r api.ACLBindingRule
	f.apply(&r)
	if r.AuthMethod == "" {
		c.errorf("ACL binding rule auth method must be specified using the -auth-method flag")
		return 1
	}
	created, _, err := client.ACLBindingRules().Create(&r, nil)
	if err != nil {
		c.errorf("Error creating ACL binding rule: %s", err)
		return 1
	}
	return c.printBindingRule(created, *f.asJSON)
}

func (c *cli) aclBindingRuleUpdate(v *verb, args []string) int {
	fs := c.flagSet(v)
	f := newBindingRuleFlags(fs)
	client, code, ok := c.connect(v, fs, args, takesBindingRule)
	if !ok {
		return code
	}
	r, _, err := client.ACLBindingRules().Get(fs.Arg(0), nil)
	if err != nil {
		c.errorf("Error reading ACL binding rule: %s", err)
		return 1
	}
	f.apply(r)
	updated, _, err := client.ACLBindingRules().Update(r, nil)
	if err != nil {
		c.errorf("Error updating ACL binding rule: %s", err)
		return 1
	}
	return c.printBindingRule(updated, *f.asJSON)
}

func (c *cli) aclBindingRuleInfo(v *verb, args []string) int {
	fs := c.flagSet(v)
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, takesBindingRule)
	if !ok {
		return code
	}
	r, _, err := client.ACLBindingRules().Get(fs.Arg(0), nil)
	if err != nil {
		c.errorf("Error reading ACL binding rule: %s", err)
		return 1
	}
	return c.printBindingRule(r, *asJSON)
}

func (c *cli) aclBindingRuleList(v *verb, args []string) int {
	fs := c.flagSet(v)
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	rules, _, err := client.ACLBindingRules().List(nil)
	if err != nil {
		c.errorf("Error listing ACL binding rules: %s", err)
		return 1
	}
	return printList(c, rules, *asJSON, "No ACL binding rules found", func() string {
		rows := []string{"ID|Description|Auth Method"}
		for _, r := range rules {
			rows = append(rows, r.ID+"|"+r.Description+"|"+r.AuthMethod)
		}
		return formatList(rows)
	})
}

func (c *cli) aclBindingRuleDelete(v *verb, args []string) int {
	fs := c.flagSet(v)
	client, code, ok := c.connect(v, fs, args, takesBindingRule)
	if !ok {
		return code
	}
	if _, err := client.ACLBindingRules().Delete(fs.Arg(0), nil); err != nil {
		c.errorf("Error deleting ACL binding rule: %s", err)
		return 1
	}
	c.outf("ACL binding rule %s successfully deleted", fs.Arg(0))
	return 0
}

func (c *cli) printBindingRule(r *api.ACLBindingRule, asJSON bool) int {
	if asJSON {
		return c.printJSON(r)
	}
	c.outf("%s", formatKV([]string{
		"ID|" + r.ID,
		"Description|" + r.Description,
		"Auth Method|" + r.AuthMethod,
		"Selector|" + fmt.Sprintf("%q", r.Selector),
		"Bind Type|" + r.BindType,
		"Bind Name|" + r.BindName,
		"Create Time|" + formatTime(r.CreateTime),
		"Modify Time|" + formatTime(r.ModifyTime),
		fmt.Sprintf("Create Index|%d", r.CreateIndex),
		fmt.Sprintf("Modify Index|%d", r.ModifyIndex),
	}))
	return 0
}
