package command

import (
	"crypto/rand"
	"encoding/base64"
	"sort"

	"github.com/hashicorp/nomad/api"
)

// operatorGossipKeyringVerb manages the servers' gossip encryption keys,
// as `nomad operator gossip keyring <list|install|use|remove|generate>`
// and the older flag form (-list, -install=<key>, ...).
var operatorGossipKeyringVerb = &verb{
	name:     "operator gossip keyring",
	aliases:  []string{"operator keyring"},
	synopsis: "Manages gossip layer encryption keys",
	help: `
Usage: roam operator gossip keyring <subcommand> [options] [key]

  Examines and changes the gossip encryption keys of the cluster's servers.
  Every change is made on all servers.

Subcommands:

    list                List the installed keys
    install <key>       Install a key on every server
    use <key>           Make an installed key the one gossip is encrypted with
    remove <key>        Remove a key that is not in use
    generate            Print a new random key (no agent needed)

  The flags -list, -install=<key>, -use=<key> and -remove=<key> do the same.

General Options:
` + generalOptionsHelp,
	run: (*cli).operatorGossipKeyring,
}

// operatorGossipKeyring implements `operator gossip keyring`.
func (c *cli) operatorGossipKeyring(v *verb, args []string) int {
	op, key := "", ""
	if len(args) > 0 {
		switch args[0] {
		case "list", "install", "use", "remove", "generate":
			op, args = args[0], args[1:]
		}
	}
	fs := c.flagSet(v)
	list := fs.Bool("list", false, "")
	install := fs.String("install", "", "")
	use := fs.String("use", "", "")
	remove := fs.String("remove", "", "")
	want := takesNoArgs
	switch op {
	case "install", "use", "remove":
		want = argCount{1, 1, "This command requires one argument: <key>"}
	}
	if code, ok := c.parseArgs(v, fs, args, want); !ok {
		return code
	}
	if op != "" {
		key = fs.Arg(0)
	}
	chosen := 0
	for flagOp, set := range map[string]string{"install": *install, "use": *use, "remove": *remove} {
		if set != "" {
			op, key = flagOp, set
			chosen++
		}
	}
	if *list {
		op = "list"
		chosen++
	}
	if op == "" || chosen > 1 {
		return c.usageError(v, "Exactly one of list, install, use, remove or generate is required")
	}
	if op == "generate" {
		return c.generateGossipKey()
	}
	client, ok := c.clientOrFail()
	if !ok {
		return 1
	}
	agent := client.Agent()
	var resp *api.KeyringResponse
	var err error
	switch op {
	case "list":
		c.outf("Gathering installed encryption keys...")
		resp, err = agent.ListKeys()
	case "install":
		c.outf("Installing new gossip encryption key...")
		resp, err = agent.InstallKey(key)
	case "use":
		c.outf("Changing primary gossip encryption key...")
		resp, err = agent.UseKey(key)
	case "remove":
		c.outf("Removing gossip encryption key...")
		resp, err = agent.RemoveKey(key)
	}
	if err != nil {
		c.errorf("error: %v", err)
		return 1
	}
	if op == "list" {
		c.printKeys(resp)
	}
	return 0
}

// printKeys prints the installed keys, as Nomad does.
func (c *cli) printKeys(resp *api.KeyringResponse) {
	keys := make([]string, 0, len(resp.Keys))
	for k := range resp.Keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	c.outf("Key")
	for _, k := range keys {
		c.outf("%s", k)
	}
}

// generateGossipKey prints a new 32-byte key in base64.
func (c *cli) generateGossipKey() int {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		c.errorf("Error generating key: %v", err)
		return 1
	}
	c.outf("%s", base64.StdEncoding.EncodeToString(key))
	return 0
}
