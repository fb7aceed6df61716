package command

import (
	"fmt"

	"github.com/hashicorp/nomad/api"
)

// The `operator root keyring` verbs manage the root keys that seal
// variables and sign workload identities, as Nomad's.
var (
	operatorRootKeyringListVerb = &verb{
		name:     "operator root keyring list",
		synopsis: "Lists the root encryption keys",
		help: `
Usage: roam operator root keyring list [options]

  Lists the root keys of the cluster's keyring: the active one seals new
  variables and signs new workload identities; inactive ones still open and
  verify what was sealed and signed with them.

List Options:

  -verbose
    Show full key IDs.

General Options:
` + generalOptionsHelp,
		run: (*cli).operatorRootKeyringList,
	}
	operatorRootKeyringRotateVerb = &verb{
		name:     "operator root keyring rotate",
		synopsis: "Rotates the root encryption key",
		help: `
Usage: roam operator root keyring rotate [options]

  Makes a new active root key. Older keys stay, inactive, until removed.

Rotate Options:

  -full
    Also re-encrypt every variable with the new key.

  -verbose
    Show the full key ID.

General Options:
` + generalOptionsHelp,
		run: (*cli).operatorRootKeyringRotate,
	}
	operatorRootKeyringRemoveVerb = &verb{
		name:     "operator root keyring remove",
		synopsis: "Removes an inactive root encryption key",
		help: `
Usage: roam operator root keyring remove [options] <key ID>

  Removes an inactive root key. Identities it signed no longer verify.

Remove Options:

  -force
    Remove the key even though variables are still sealed with it (they can
    no longer be read) or running tasks hold identities it signed (they are
    refused from then on).

General Options:
` + generalOptionsHelp,
		run: (*cli).operatorRootKeyringRemove,
	}
)

func (c *cli) operatorRootKeyringList(v *verb, args []string) int {
	fs := c.flagSet(v)
	verbose := fs.Bool("verbose", false, "")
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	keys, _, err := client.Keyring().List(nil)
	if err != nil {
		c.errorf("error: %s", err)
		return 1
	}
	c.outf("%s", renderRootKeys(keys, *verbose))
	return 0
}

func (c *cli) operatorRootKeyringRotate(v *verb, args []string) int {
	fs := c.flagSet(v)
	full := fs.Bool("full", false, "")
	verbose := fs.Bool("verbose", false, "")
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	key, _, err := client.Keyring().Rotate(&api.KeyringRotateOptions{Full: *full}, nil)
	if err != nil {
		c.errorf("error: %s", err)
		return 1
	}
	c.outf("%s", renderRootKeys([]*api.RootKeyMeta{key}, *verbose))
	return 0
}

func (c *cli) operatorRootKeyringRemove(v *verb, args []string) int {
	fs := c.flagSet(v)
	force := fs.Bool("force", false, "")
	client, code, ok := c.connect(v, fs, args, argCount{1, 1, "This command requires one argument: <key ID>"})
	if !ok {
		return code
	}
	id := fs.Arg(0)
	if _, err := client.Keyring().Delete(&api.KeyringDeleteOptions{KeyID: id, Force: *force}, nil); err != nil {
		c.errorf("error: %s", err)
		return 1
	}
	c.outf("Removed encryption key %s", id)
	return 0
}

// renderRootKeys is the keyring table, as Nomad prints it.
func renderRootKeys(keys []*api.RootKeyMeta, verbose bool) string {
	rows := []string{"Key|State|Create Time"}
	for _, k := range keys {
		rows = append(rows, fmt.Sprintf("%s|%s|%s", shortID(k.KeyID, verbose), k.State, formatUnixNano(k.CreateTime)))
	}
	return formatList(rows)
}
