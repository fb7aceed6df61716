package command

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

// nodeMetaApplyVerb sets dynamic node metadata.
var nodeMetaApplyVerb = &verb{
	name:     "node meta apply",
	synopsis: "Modify node metadata",
	help: `
Usage: roam node meta apply [-node-id ...] [-unset ...] key1=value1 ... kN=vN

  Modify a node's metadata. The changes are applied on the node (the agent
  asked, unless -node-id names another one), kept across its restarts,
  and sent to the servers at once, where constraints see them.

General Options:
` + generalOptionsHelp + `

Node Meta Apply Options:

  -node-id
    Updates metadata on the specified node. If not specified the node
    receiving the request will be used by default.

  -unset key1,...,keyN
    Unset the comma separated list of keys, static ones included.
`,
	run: (*cli).nodeMetaApply,
}

// nodeMetaReadVerb shows a node's metadata.
var nodeMetaReadVerb = &verb{
	name:     "node meta read",
	synopsis: "Read node metadata",
	help: `
Usage: roam node meta read [-json] [-node-id ...]

  Read a node's metadata: all of it, the dynamic part set through the API,
  and the static part from the agent's configuration.

General Options:
` + generalOptionsHelp + `

Node Meta Read Options:

  -node-id
    Reads metadata from the specified node. If not specified the node
    receiving the request will be used by default.

  -json
    Output the node metadata in its JSON format.
`,
	run: (*cli).nodeMetaRead,
}

func (c *cli) nodeMetaApply(v *verb, args []string) int {
	fs := c.flagSet(v)
	nodeID := fs.String("node-id", "", "")
	unset := fs.String("unset", "", "")
	if code, ok := c.parse(v, fs, args); !ok {
		return code
	}
	meta := map[string]*string{}
	for _, kv := range fs.Args() {
		k, val, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return c.usageError(v, fmt.Sprintf("Metadata must be given as key=value, not %q", kv))
		}
		meta[k] = &val
	}
	for _, k := range strings.Split(*unset, ",") {
		if k = strings.TrimSpace(k); k != "" {
			meta[k] = nil
		}
	}
	if len(meta) == 0 {
		return c.usageError(v, "Must specify key=value pairs or -unset")
	}
	client, ok := c.clientOrFail()
	if !ok {
		return 1
	}
	id, ok := c.metaNodeID(client, *nodeID)
	if !ok {
		return 1
	}
	if _, err := client.Nodes().Meta().Apply(&api.NodeMetaApplyRequest{NodeID: id, Meta: meta}, nil); err != nil {
		c.errorf("Error applying dynamic node metadata: %s", err)
		return 1
	}
	return 0
}

func (c *cli) nodeMetaRead(v *verb, args []string) int {
	fs := c.flagSet(v)
	nodeID := fs.String("node-id", "", "")
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	id, ok := c.metaNodeID(client, *nodeID)
	if !ok {
		return 1
	}
	meta, err := client.Nodes().Meta().Read(id, nil)
	if err != nil {
		c.errorf("Error reading dynamic node metadata: %s", err)
		return 1
	}
	if *asJSON {
		return c.printJSON(meta)
	}
	dynamic := map[string]string{}
	for k, val := range meta.Dynamic {
		dynamic[k] = "<unset>"
		if val != nil {
			dynamic[k] = *val
		}
	}
	c.outf("All Meta\n%s\n\nDynamic Meta\n%s\n\nStatic Meta\n%s",
		metaLines(meta.Meta), metaLines(dynamic), metaLines(meta.Static))
	return 0
}

// metaNodeID resolves a -node-id prefix; "" stays "", the node of the
// agent asked.
func (c *cli) metaNodeID(client *api.Client, prefix string) (string, bool) {
	if prefix == "" {
		return "", true
	}
	node, err := resolveNode(client, prefix, false)
	if err != nil {
		c.errorf("%s", err)
		return "", false
	}
	return node.ID, true
}

// metaLines is metadata as sorted `key = value` lines.
func metaLines(m map[string]string) string {
	if len(m) == 0 {
		return "<none>"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rows := make([]string, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, k+"|"+m[k])
	}
	return formatKV(rows)
}

// nodeIdentityGetVerb shows a node's identity claims.
var nodeIdentityGetVerb = &verb{
	name:     "node identity get",
	synopsis: "Get the identity claims of a node",
	help: `
Usage: roam node identity get [options] <node_id>

  Get the identity claims of a node. Requires node read.

General Options:
` + generalOptionsHelp,
	run: (*cli).nodeIdentityGet,
}

// nodeIdentityRenewVerb renews a node's identity.
var nodeIdentityRenewVerb = &verb{
	name:     "node identity renew",
	synopsis: "Force a node to renew its identity",
	help: `
Usage: roam node identity renew [options] <node_id>

  Instruct a node to renew its identity now, whatever the age of its
  current one. Requires node write.

General Options:
` + generalOptionsHelp,
	run: (*cli).nodeIdentityRenew,
}

// nodeIntroCreateVerb creates a client introduction token.
var nodeIntroCreateVerb = &verb{
	name:     "node intro create",
	synopsis: "Generate a new node introduction token",
	help: `
Usage: roam node intro create [options]

  Generate a new node introduction token, scoped to a node name and pool.
  Requires node write.

General Options:
` + generalOptionsHelp + `

Create Options:

  -node-name
    The name of the node the token is scoped to; empty for any.

  -node-pool
    The node pool the token is scoped to. Defaults to "default".

  -ttl
    How long the token is valid. Defaults to 5m, at most 24h.

  -json
    Output the response in JSON format.
`,
	run: (*cli).nodeIntroCreate,
}

var takesNodeID = argCount{1, 1, "This command takes one argument: <node_id>"}

func (c *cli) nodeIdentityGet(v *verb, args []string) int {
	fs := c.flagSet(v)
	client, code, ok := c.connect(v, fs, args, takesNodeID)
	if !ok {
		return code
	}
	node, err := resolveNode(client, fs.Arg(0), false)
	if err != nil {
		c.errorf("%s", err)
		return 1
	}
	resp, err := client.Nodes().Identity().Get(&api.NodeIdentityGetRequest{NodeID: node.ID}, nil)
	if err != nil {
		c.errorf("Error reading node identity: %s", err)
		return 1
	}
	keys := make([]string, 0, len(resp.Claims))
	for k := range resp.Claims {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rows := []string{"Claim Key|Claim Value"}
	for _, k := range keys {
		rows = append(rows, k+"|"+claimValue(k, resp.Claims[k]))
	}
	c.outf("%s", formatList(rows))
	return 0
}

// claimValue shows a claim: times as RFC 3339, lists joined.
func claimValue(key string, v any) string {
	switch x := v.(type) {
	case float64:
		if key == "exp" || key == "iat" || key == "nbf" {
			return time.Unix(int64(x), 0).Format(time.RFC3339)
		}
		return fmt.Sprint(x)
	case []any:
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = fmt.Sprint(p)
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v)
}

func (c *cli) nodeIdentityRenew(v *verb, args []string) int {
	fs := c.flagSet(v)
	client, code, ok := c.connect(v, fs, args, takesNodeID)
	if !ok {
		return code
	}
	node, err := resolveNode(client, fs.Arg(0), false)
	if err != nil {
		c.errorf("%s", err)
		return 1
	}
	if _, err := client.Nodes().Identity().Renew(&api.NodeIdentityRenewRequest{NodeID: node.ID}, nil); err != nil {
		c.errorf("Error renewing node identity: %s", err)
		return 1
	}
	c.outf("Successfully requested a new identity for node %q", node.ID)
	return 0
}

func (c *cli) nodeIntroCreate(v *verb, args []string) int {
	fs := c.flagSet(v)
	name := fs.String("node-name", "", "")
	pool := fs.String("node-pool", "", "")
	ttl := fs.Duration("ttl", 0, "")
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	resp, _, err := client.ACLIdentity().CreateClientIntroductionToken(&api.ACLIdentityClientIntroductionTokenRequest{
		TTL: *ttl, NodeName: *name, NodePool: *pool}, nil)
	if err != nil {
		c.errorf("Error generating client introduction token: %s", err)
		return 1
	}
	if *asJSON {
		return c.printJSON(resp)
	}
	c.outf("Successfully generated client introduction token:\n\n%s", resp.JWT)
	return 0
}
