package command

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

// aclBootstrapVerb creates the first management token.
var aclBootstrapVerb = &verb{
	name:     "acl bootstrap",
	synopsis: "Bootstrap the ACL system for initial token",
	help: `
Usage: roam acl bootstrap [options] [<path>]

  Bootstrap is used to bootstrap the ACL system and get an initial token.
  With <path> (a file, or "-" for standard input) the token's secret is the
  operator-chosen UUID it holds.

General Options:
` + generalOptionsHelp + `

Bootstrap Options:

  -json
    Output the bootstrap response in JSON format.
`,
	run: (*cli).aclBootstrap,
}

// aclTokenCreateVerb creates a token.
var aclTokenCreateVerb = &verb{
	name:     "acl token create",
	synopsis: "Create a new token",
	help: `
Usage: roam acl token create [options]

  Create is used to issue new ACL tokens. Requires a management token.

General Options:
` + generalOptionsHelp + `

Create Options:

  -name=""
    Sets the human readable name for the ACL token.

  -type="client"
    Sets the type of token. Must be one of "client" (default), or "management".

  -global=false
    Toggles the global mode of the token.

  -policy=""
    Specifies a policy to associate with the token. Can be specified
    multiple times.

  -role-id=""
    ID of a role to link to the token. Can be specified multiple times.

  -role-name=""
    Name of a role to link to the token. Can be specified multiple times.

  -ttl
    Specifies the time-to-live of the created ACL token, such as "1h".

  -json
    Output the token in JSON format.
`,
	run: (*cli).aclTokenCreate,
}

// aclTokenUpdateVerb updates a token.
var aclTokenUpdateVerb = &verb{
	name:     "acl token update",
	synopsis: "Update an existing token",
	help: `
Usage: roam acl token update [options] <token_accessor_id>

  Update is used to update an existing ACL token. Requires a management token.

General Options:
` + generalOptionsHelp + `

Update Options:

  -name=""
    Sets the human readable name for the ACL token.

  -type=""
    Sets the type of token: "client" or "management".

  -policy=""
    Specifies a policy to associate with the token; replaces the token's
    policies. Can be specified multiple times.

  -role-id="" / -role-name=""
    A role to link to the token; replaces the token's roles.

  -json
    Output the token in JSON format.
`,
	run: (*cli).aclTokenUpdate,
}

// aclTokenInfoVerb shows a token.
var aclTokenInfoVerb = &verb{
	name:     "acl token info",
	synopsis: "Fetch information on an existing token",
	help: `
Usage: roam acl token info [options] <token_accessor_id>

  Info is used to fetch information on an existing ACL token. Requires a
  management token.

General Options:
` + generalOptionsHelp + `

Info Options:

  -json
    Output the token in JSON format.
`,
	run: (*cli).aclTokenInfo,
}

// aclTokenSelfVerb shows the caller's token.
var aclTokenSelfVerb = &verb{
	name:     "acl token self",
	synopsis: "Lookup self token",
	help: `
Usage: roam acl token self [options]

  Self is used to fetch information about the currently set ACL token.

General Options:
` + generalOptionsHelp + `

Self Options:

  -json
    Output the token in JSON format.
`,
	run: (*cli).aclTokenSelf,
}

// aclTokenListVerb lists tokens.
var aclTokenListVerb = &verb{
	name:     "acl token list",
	synopsis: "List ACL tokens",
	help: `
Usage: roam acl token list [options]

  List is used to list existing ACL tokens. Requires a management token.

General Options:
` + generalOptionsHelp + `

List Options:

  -json
    Output the ACL tokens in JSON format.
`,
	run: (*cli).aclTokenList,
}

// aclTokenDeleteVerb deletes a token.
var aclTokenDeleteVerb = &verb{
	name:     "acl token delete",
	synopsis: "Delete an existing ACL token",
	help: `
Usage: roam acl token delete <token_accessor_id>

  Delete is used to delete an existing ACL token. Requires a management token.

General Options:
` + generalOptionsHelp,
	run: (*cli).aclTokenDelete,
}

var takesAccessorID = argCount{1, 1, "This command takes one argument: <token_accessor_id>"}

func (c *cli) aclBootstrap(v *verb, args []string) int {
	fs := c.flagSet(v)
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, takesOneOrNoArgs)
	if !ok {
		return code
	}
	var secret string
	if fs.NArg() == 1 {
		raw, err := c.readFileOrStdin(fs.Arg(0))
		if err != nil {
			c.errorf("Error reading bootstrap secret: %s", err)
			return 1
		}
		secret = strings.TrimSpace(raw)
	}
	token, _, err := client.ACLTokens().BootstrapOpts(secret, nil)
	if err != nil {
		c.errorf("Error bootstrapping: %s", err)
		return 1
	}
	if *asJSON {
		return c.printJSON(token)
	}
	c.outf("%s", formatACLToken(token))
	return 0
}

// readFileOrStdin reads path, or standard input for "-".
func (c *cli) readFileOrStdin(path string) (string, error) {
	if path == "-" {
		raw, err := io.ReadAll(c.in)
		return string(raw), err
	}
	raw, err := os.ReadFile(path)
	return string(raw), err
}

// tokenFlags are the flags token create and update share.
type tokenFlags struct {
	name, typ         *string
	global            *bool
	policies, roleIDs stringList
	roleNames         stringList
	asJSON            *bool
}

func (c *cli) tokenFlagSet(v *verb, defaultType string) (*tokenFlags, *flag.FlagSet) {
	fs := c.flagSet(v)
	f := &tokenFlags{
		name: fs.String("name", "", ""), typ: fs.String("type", defaultType, ""),
		global: fs.Bool("global", false, ""), asJSON: fs.Bool("json", false, ""),
	}
	fs.Var(&f.policies, "policy", "")
	fs.Var(&f.roleIDs, "role-id", "")
	fs.Var(&f.roleNames, "role-name", "")
	return f, fs
}

// roleLinks are the roles the flags name.
func (f *tokenFlags) roleLinks() []*api.ACLTokenRoleLink {
	var out []*api.ACLTokenRoleLink
	for _, id := range f.roleIDs {
		out = append(out, &api.ACLTokenRoleLink{ID: id})
	}
	for _, n := range f.roleNames {
		out = append(out, &api.ACLTokenRoleLink{Name: n})
	}
	return out
}

func (c *cli) aclTokenCreate(v *verb, args []string) int {
	f, fs := c.tokenFlagSet(v, "client")
	ttl := fs.Duration("ttl", 0, "")
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	token := &api.ACLToken{Name: *f.name, Type: *f.typ, Global: *f.global,
		Policies: f.policies, Roles: f.roleLinks(), ExpirationTTL: *ttl}
	created, _, err := client.ACLTokens().Create(token, nil)
	if err != nil {
		c.errorf("Error creating token: %s", err)
		return 1
	}
	return c.printToken(created, *f.asJSON)
}

func (c *cli) aclTokenUpdate(v *verb, args []string) int {
	f, fs := c.tokenFlagSet(v, "")
	client, code, ok := c.connect(v, fs, args, takesAccessorID)
	if !ok {
		return code
	}
	token, _, err := client.ACLTokens().Info(fs.Arg(0), nil)
	if err != nil {
		c.errorf("Error fetching token: %s", err)
		return 1
	}
	if *f.name != "" {
		token.Name = *f.name
	}
	if *f.typ != "" {
		token.Type = *f.typ
	}
	if len(f.policies) > 0 {
		token.Policies = f.policies
	}
	if links := f.roleLinks(); len(links) > 0 {
		token.Roles = links
	}
	updated, _, err := client.ACLTokens().Update(token, nil)
	if err != nil {
		c.errorf("Error updating token: %s", err)
		return 1
	}
	return c.printToken(updated, *f.asJSON)
}

func (c *cli) aclTokenInfo(v *verb, args []string) int {
	fs := c.flagSet(v)
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, takesAccessorID)
	if !ok {
		return code
	}
	token, _, err := client.ACLTokens().Info(fs.Arg(0), nil)
	if err != nil {
		c.errorf("Error fetching token: %s", err)
		return 1
	}
	return c.printToken(token, *asJSON)
}

func (c *cli) aclTokenSelf(v *verb, args []string) int {
	fs := c.flagSet(v)
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	token, _, err := client.ACLTokens().Self(nil)
	if err != nil {
		c.errorf("Error fetching self token: %s", err)
		return 1
	}
	return c.printToken(token, *asJSON)
}

func (c *cli) aclTokenList(v *verb, args []string) int {
	fs := c.flagSet(v)
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	tokens, _, err := client.ACLTokens().List(nil)
	if err != nil {
		c.errorf("Error fetching tokens: %s", err)
		return 1
	}
	return printList(c, tokens, *asJSON, "No tokens found", func() string {
		rows := []string{"Name|Type|Global|Accessor ID|Expired"}
		now := c.now()
		for _, t := range tokens {
			expired := t.ExpirationTime != nil && !t.ExpirationTime.After(now)
			rows = append(rows, fmt.Sprintf("%s|%s|%t|%s|%t", t.Name, t.Type, t.Global, t.AccessorID, expired))
		}
		return formatList(rows)
	})
}

func (c *cli) aclTokenDelete(v *verb, args []string) int {
	fs := c.flagSet(v)
	client, code, ok := c.connect(v, fs, args, takesAccessorID)
	if !ok {
		return code
	}
	if _, err := client.ACLTokens().Delete(fs.Arg(0), nil); err != nil {
		c.errorf("Error deleting token: %s", err)
		return 1
	}
	c.outf("Token %s successfully deleted", fs.Arg(0))
	return 0
}

func (c *cli) printToken(t *api.ACLToken, asJSON bool) int {
	if asJSON {
		return c.printJSON(t)
	}
	c.outf("%s", formatACLToken(t))
	return 0
}

// formatACLToken renders a token as Nomad's CLI prints one.
func formatACLToken(t *api.ACLToken) string {
	expiry := "<none>"
	if t.ExpirationTime != nil {
		expiry = t.ExpirationTime.Format(time.RFC3339)
	}
	policies, roles := "n/a", "n/a"
	if t.Type != "management" {
		policies = "[" + strings.Join(t.Policies, " ") + "]"
		var names []string
		for _, r := range t.Roles {
			names = append(names, r.Name)
		}
		roles = "[" + strings.Join(names, " ") + "]"
	}
	return formatKV([]string{
		"Accessor ID|" + t.AccessorID,
		"Secret ID|" + t.SecretID,
		"Name|" + t.Name,
		"Type|" + t.Type,
		fmt.Sprintf("Global|%t", t.Global),
		"Create Time|" + t.CreateTime.String(),
		"Expiry Time|" + expiry,
		fmt.Sprintf("Create Index|%d", t.CreateIndex),
		fmt.Sprintf("Modify Index|%d", t.ModifyIndex),
		"Policies|" + policies,
		"Roles|" + roles,
	})
}
