package command

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

const authMethodOptionsHelp = `
  -name
    Sets the name of the ACL auth method: 1 to 128 letters, digits and
    dashes. Required on create.

  -type
    Sets the type of the auth method: OIDC or JWT.

  -max-token-ttl
    Sets how long the tokens a login through the method creates are valid
    (1m to 24h).

  -token-locality
    Sets the kind of token the method creates: local or global.

  -token-name-format
    Sets the name format of the tokens the method creates, with HIL
    ${foo} interpolation. Defaults to ${auth_method_type}-${auth_method_name}.

  -default
    Makes this the default auth method of its type for logins that name none.

  -config
    The method's configuration in JSON: the JSON itself, '-' to read it from
    stdin, or '@<path>' to read it from a file.

  -json
    Output the ACL auth method in JSON format.
`

// aclAuthMethodCreateVerb creates an auth method.
var aclAuthMethodCreateVerb = &verb{
	name:     "acl auth-method create",
	synopsis: "Create a new ACL auth method",
	help: `
Usage: roam acl auth-method create [options]

  Create is used to create a new ACL auth method (single sign-on through
  OIDC or JWT). Requires a management token. Roam stores auth methods as
  Nomad does but logs no one in through them.

General Options:
` + generalOptionsHelp + `

Create Options:
` + authMethodOptionsHelp,
	run: (*cli).aclAuthMethodCreate,
}

// aclAuthMethodUpdateVerb updates an auth method.
var aclAuthMethodUpdateVerb = &verb{
	name:     "acl auth-method update",
	synopsis: "Update an existing ACL auth method",
	help: `
Usage: roam acl auth-method update [options] <auth_method_name>

  Update is used to update an existing ACL auth method: the options given
  replace the method's settings. Requires a management token.

General Options:
` + generalOptionsHelp + `

Update Options:
` + authMethodOptionsHelp,
	run: (*cli).aclAuthMethodUpdate,
}

// aclAuthMethodInfoVerb shows an auth method.
var aclAuthMethodInfoVerb = &verb{
	name:     "acl auth-method info",
	synopsis: "Fetch information on an existing ACL auth method",
	help: `
Usage: roam acl auth-method info [options] <auth_method_name>

  Info is used to fetch information on an existing ACL auth method.
  Requires a management token.

General Options:
` + generalOptionsHelp + `

Info Options:

  -json
    Output the ACL auth method in JSON format.
`,
	run: (*cli).aclAuthMethodInfo,
}

// aclAuthMethodListVerb lists auth methods.
var aclAuthMethodListVerb = &verb{
	name:     "acl auth-method list",
	synopsis: "List ACL auth methods",
	help: `
Usage: roam acl auth-method list [options]

  List is used to list the ACL auth methods.

General Options:
` + generalOptionsHelp + `

List Options:

  -json
    Output the ACL auth methods in JSON format.
`,
	run: (*cli).aclAuthMethodList,
}

// aclAuthMethodDeleteVerb deletes an auth method.
var aclAuthMethodDeleteVerb = &verb{
	name:     "acl auth-method delete",
	synopsis: "Delete an existing ACL auth method",
	help: `
Usage: roam acl auth-method delete <auth_method_name>

  Delete is used to delete an existing ACL auth method, with its binding
  rules. Requires a management token.

General Options:
` + generalOptionsHelp,
	run: (*cli).aclAuthMethodDelete,
}

var takesAuthMethod = argCount{1, 1, "This command takes one argument: <auth_method_name>"}

// authMethodFlags are the settings create and update take.
type authMethodFlags struct {
	fs                                      *flag.FlagSet
	name, typ, locality, nameFormat, config *string
	maxTTL                                  *time.Duration
	isDefault, asJSON                       *bool
}

func newAuthMethodFlags(fs *flag.FlagSet) *authMethodFlags {
	return &authMethodFlags{
		fs:         fs,
		name:       fs.String("name", "", ""),
		typ:        fs.String("type", "", ""),
		locality:   fs.String("token-locality", "", ""),
		nameFormat: fs.String("token-name-format", "", ""),
		config:     fs.String("config", "", ""),
		maxTTL:     fs.Duration("max-token-ttl", 0, ""),
		isDefault:  fs.Bool("default", false, ""),
		asJSON:     fs.Bool("json", false, ""),
	}
}

// apply sets on m the settings given on the command line.
func (f *authMethodFlags) apply(c *cli, m *api.ACLAuthMethod) error {
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if set["name"] {
		m.Name = *f.name
	}
	if set["type"] {
		m.Type = *f.typ
	}
	if set["token-locality"] {
		m.TokenLocality = *f.locality
	}
	if set["token-name-format"] {
		m.TokenNameFormat = *f.nameFormat
	}
	if set["max-token-ttl"] {
		m.MaxTokenTTL = *f.maxTTL
	}
	if set["default"] {
		m.Default = *f.isDefault
	}
	if set["config"] {
		raw, err := readConfigArg(c.in, *f.config)
		if err != nil {
			return err
		}
		var cfg api.ACLAuthMethodConfig
		if err := json.Unmarshal(raw, &cfg); err != nil {
			return fmt.Errorf("auth method config is not valid JSON: %w", err)
		}
		m.Config = &cfg
	}
	return nil
}

// readConfigArg reads a -config value: '-' is stdin, '@path' a file, and
// anything else the JSON itself.
func readConfigArg(stdin io.Reader, arg string) ([]byte, error) {
	switch {
	case arg == "-":
		return io.ReadAll(stdin)
	case strings.HasPrefix(arg, "@"):
		data, err := os.ReadFile(strings.TrimPrefix(arg, "@"))
		if err != nil {
			return nil, fmt.Errorf("read auth method config: %w", err)
		}
		return data, nil
	}
	return []byte(arg), nil
}

func (c *cli) aclAuthMethodCreate(v *verb, args []string) int {
	fs := c.flagSet(v)
	f := newAuthMethodFlags(fs)
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	var m api.ACLAuthMethod
	if err := f.apply(c, &m); err != nil {
		c.errorf("%s", err)
		return 1
	}
	if m.Name == "" {
		c.errorf("ACL auth method name must be specified using the -name flag")
		return 1
	}
	created, _, err := client.ACLAuthMethods().Create(&m, nil)
	if err != nil {
		c.errorf("Error creating ACL auth method: %s", err)
		return 1
	}
	return c.printAuthMethod(created, *f.asJSON)
}

func (c *cli) aclAuthMethodUpdate(v *verb, args []string) int {
	fs := c.flagSet(v)
	f := newAuthMethodFlags(fs)
	client, code, ok := c.connect(v, fs, args, takesAuthMethod)
	if !ok {
		return code
	}
	m, _, err := client.ACLAuthMethods().Get(fs.Arg(0), nil)
	if err != nil {
		c.errorf("Error reading ACL auth method: %s", err)
		return 1
	}
	if err := f.apply(c, m); err != nil {
		c.errorf("%s", err)
		return 1
	}
	if m.Name != fs.Arg(0) {
		c.errorf("An ACL auth method cannot be renamed")
		return 1
	}
	updated, _, err := client.ACLAuthMethods().Update(m, nil)
	if err != nil {
		c.errorf("Error updating ACL auth method: %s", err)
		return 1
	}
	return c.printAuthMethod(updated, *f.asJSON)
}

func (c *cli) aclAuthMethodInfo(v *verb, args []string) int {
	fs := c.flagSet(v)
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, takesAuthMethod)
	if !ok {
		return code
	}
	m, _, err := client.ACLAuthMethods().Get(fs.Arg(0), nil)
	if err != nil {
		c.errorf("Error reading ACL auth method: %s", err)
		return 1
	}
	return c.printAuthMethod(m, *asJSON)
}

func (c *cli) aclAuthMethodList(v *verb, args []string) int {
	fs := c.flagSet(v)
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	methods, _, err := client.ACLAuthMethods().List(nil)
	if err != nil {
		c.errorf("Error listing ACL auth methods: %s", err)
		return 1
	}
	return printList(c, methods, *asJSON, "No ACL auth methods found", func() string {
		rows := []string{"Name|Type|Default"}
		for _, m := range methods {
			rows = append(rows, fmt.Sprintf("%s|%s|%t", m.Name, m.Type, m.Default))
		}
		return formatList(rows)
	})
}

func (c *cli) aclAuthMethodDelete(v *verb, args []string) int {
	fs := c.flagSet(v)
	client, code, ok := c.connect(v, fs, args, takesAuthMethod)
	if !ok {
		return code
	}
	if _, err := client.ACLAuthMethods().Delete(fs.Arg(0), nil); err != nil {
		c.errorf("Error deleting ACL auth method: %s", err)
		return 1
	}
	c.outf("ACL auth method %s successfully deleted", fs.Arg(0))
	return 0
}

func (c *cli) printAuthMethod(m *api.ACLAuthMethod, asJSON bool) int {
	if asJSON {
		return c.printJSON(m)
	}
	rows := []string{
		"Name|" + m.Name,
		"Type|" + m.Type,
		"Locality|" + m.TokenLocality,
		"Max Token TTL|" + m.MaxTokenTTL.String(),
		"Token Name Format|" + m.TokenNameFormat,
		fmt.Sprintf("Default|%t", m.Default),
		fmt.Sprintf("Create Index|%d", m.CreateIndex),
		fmt.Sprintf("Modify Index|%d", m.ModifyIndex),
	}
	out := formatKV(rows)
	if cfg := m.Config; cfg != nil {
		out += "\n\nAuth Method Config\n" + formatKV([]string{
			"OIDC Discovery URL|" + cfg.OIDCDiscoveryURL,
			"OIDC Client ID|" + cfg.OIDCClientID,
			"Bound audiences|" + strings.Join(cfg.BoundAudiences, ","),
			"Allowed redirects URIs|" + strings.Join(cfg.AllowedRedirectURIs, ","),
			"JWKS URL|" + cfg.JWKSURL,
		})
	}
	c.outf("%s", out)
	return 0
}
