package command

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/nomad/api"
)

// The `node pool` verbs.
var (
	nodePoolApplyVerb = &verb{
		name:     "node pool apply",
		synopsis: "Create or update a node pool",
		help: `
Usage: roam node pool apply [options] <input>

  Creates or updates a node pool from a specification file (HCL, or JSON
  with -json; "-" reads standard input):

    node_pool "prod" {
      description = "Production nodes"
      meta { owner = "ops" }
      scheduler_config { scheduler_algorithm = "spread" }
    }

General Options:
` + generalOptionsHelp + `

Apply Options:

  -json
    Parse the input as the API's JSON form of a node pool.
`,
		run: (*cli).nodePoolApply,
	}
	nodePoolListVerb = &verb{
		name:     "node pool list",
		synopsis: "List node pools",
		help: `
Usage: roam node pool list [options]

  Lists the node pools the token may read.

General Options:
` + generalOptionsHelp + `

List Options:

  -filter
    An expression that filters the node pools listed.

  -json
    Output the node pools in their JSON format.
`,
		run: (*cli).nodePoolList,
	}
	nodePoolInfoVerb = &verb{
		name:     "node pool info",
		synopsis: "Fetch information on a node pool",
		help: `
Usage: roam node pool info [options] <node-pool>

General Options:
` + generalOptionsHelp + `

Info Options:

  -json
    Output the node pool in its JSON format.
`,
		run: (*cli).nodePoolInfo,
	}
	nodePoolDeleteVerb = &verb{
		name:     "node pool delete",
		synopsis: "Delete a node pool",
		help: `
Usage: roam node pool delete [options] <node-pool>

  Deletes a node pool that has no nodes and no jobs left.

General Options:
` + generalOptionsHelp,
		run: (*cli).nodePoolDelete,
	}
	nodePoolNodesVerb = &verb{
		name:     "node pool nodes",
		synopsis: "Fetch the nodes of a node pool",
		help: `
Usage: roam node pool nodes [options] <node-pool>

General Options:
` + generalOptionsHelp + `

Nodes Options:

  -filter
    An expression that filters the nodes listed.

  -json
    Output the nodes in their JSON format.
`,
		run: (*cli).nodePoolNodes,
	}
	nodePoolJobsVerb = &verb{
		name:     "node pool jobs",
		synopsis: "Fetch the jobs of a node pool",
		help: `
Usage: roam node pool jobs [options] <node-pool>

General Options:
` + generalOptionsHelp + `

Jobs Options:

  -filter
    An expression that filters the jobs listed.

  -json
    Output the jobs in their JSON format.
`,
		run: (*cli).nodePoolJobs,
	}
)

// takesPoolName is the argument count of the verbs that name one pool.
var takesPoolName = argCount{1, 1, "This command takes one argument: <node-pool>"}

// nodePoolApply implements `node pool apply`.
func (c *cli) nodePoolApply(v *verb, args []string) int {
	fs := c.flagSet(v)
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, argCount{1, 1, "This command takes one argument: <input>"})
	if !ok {
		return code
	}
	src, err := c.readInput(fs.Arg(0))
	if err != nil {
		c.errorf("Error reading node pool specification: %s", err)
		return 1
	}
	pool, err := parseNodePoolSpec(fs.Arg(0), src, *asJSON)
	if err != nil {
		c.errorf("Error parsing node pool specification: %s", err)
		return 1
	}
	if _, err := client.NodePools().Register(pool, nil); err != nil {
		c.errorf("Error applying node pool: %s", err)
		return 1
	}
	c.outf("Successfully applied node pool %q!", pool.Name)
	return 0
}

// nodePoolSpecFile is the HCL form of a node pool specification.
type nodePoolSpecFile struct {
	Pool struct {
		Name        string              `hcl:"name,label"`
		Description string              `hcl:"description,optional"`
		Meta        *namespaceMetaBlock `hcl:"meta,block"`
		Scheduler   *struct {
			Algorithm              string `hcl:"scheduler_algorithm,optional"`
			MemoryOversubscription *bool  `hcl:"memory_oversubscription_enabled,optional"`
		} `hcl:"scheduler_config,block"`
		NodeIdentityTTL string `hcl:"node_identity_ttl,optional"`
	} `hcl:"node_pool,block"`
}

// parseNodePoolSpec reads a node pool specification: HCL, or with asJSON
// the API's JSON form. Errors name the file and line.
func parseNodePoolSpec(filename string, src []byte, asJSON bool) (*api.NodePool, error) {
	if asJSON {
		var pool api.NodePool
		if err := json.Unmarshal(src, &pool); err != nil {
			return nil, fmt.Errorf("%s: %v", filename, err)
		}
		return &pool, nil
	}
	file, diags := hclparse.NewParser().ParseHCL(src, filename)
	if diags.HasErrors() {
		return nil, diags
	}
	var spec nodePoolSpecFile
	if diags := gohcl.DecodeBody(file.Body, nil, &spec); diags.HasErrors() {
		return nil, diags
	}
	p := spec.Pool
	pool := &api.NodePool{Name: p.Name, Description: p.Description}
	if p.NodeIdentityTTL != "" {
		ttl, err := time.ParseDuration(p.NodeIdentityTTL)
		if err != nil {
			return nil, fmt.Errorf("%s: node_identity_ttl: %v", filename, err)
		}
		pool.NodeIdentityTTL = ttl
	}
	if p.Scheduler != nil {
		pool.SchedulerConfiguration = &api.NodePoolSchedulerConfiguration{
			SchedulerAlgorithm: api.SchedulerAlgorithm(p.Scheduler.Algorithm), MemoryOversubscriptionEnabled: p.Scheduler.MemoryOversubscription}
	}
	if p.Meta != nil {
		pool.Meta = map[string]string{}
		for name, attr := range p.Meta.Attrs {
			var v string
			if diags := gohcl.DecodeExpression(attr.Expr, nil, &v); diags.HasErrors() {
				return nil, hcl.Diagnostics(diags)
			}
			pool.Meta[name] = v
		}
	}
	return pool, nil
}

// nodePoolList implements `node pool list`.
func (c *cli) nodePoolList(v *verb, args []string) int {
	fs := c.flagSet(v)
	asJSON := fs.Bool("json", false, "")
	filter := fs.String("filter", "", "")
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	pools, _, err := client.NodePools().List(&api.QueryOptions{Filter: *filter})
	if err != nil {
		c.errorf("Error retrieving node pools: %s", err)
		return 1
	}
	return printList(c, pools, *asJSON, "No node pools found", func() string {
		rows := []string{"Name|Description"}
		for _, p := range pools {
			rows = append(rows, p.Name+"|"+p.Description)
		}
		return formatList(rows)
	})
}

// nodePoolInfo implements `node pool info`.
func (c *cli) nodePoolInfo(v *verb, args []string) int {
	fs := c.flagSet(v)
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, takesPoolName)
	if !ok {
		return code
	}
	pool, _, err := client.NodePools().Info(fs.Arg(0), nil)
	if err != nil {
		c.errorf("Error retrieving node pool: %s", err)
		return 1
	}
	if *asJSON {
		return c.printJSON(pool)
	}
	c.outf("%s", formatNodePool(pool))
	return 0
}

// formatNodePool renders a pool as Nomad's `node pool info`.
func formatNodePool(pool *api.NodePool) string {
	out := formatKV([]string{"Name|" + pool.Name, "Description|" + pool.Description})
	out += "\n\nMetadata\n"
	if len(pool.Meta) == 0 {
		out += "No metadata"
	} else {
		var rows []string
		for k, v := range pool.Meta {
			rows = append(rows, k+"|"+v)
		}
		sort.Strings(rows)
		out += formatKV(rows)
	}
	out += "\n\nScheduler Configuration\n"
	if sc := pool.SchedulerConfiguration; sc == nil {
		out += "No scheduler configuration"
	} else {
		rows := []string{"Scheduler Algorithm|" + string(sc.SchedulerAlgorithm)}
		if sc.MemoryOversubscriptionEnabled != nil {
			rows = append(rows, fmt.Sprintf("Memory Oversubscription Enabled|%v", *sc.MemoryOversubscriptionEnabled))
		}
		out += formatKV(rows)
	}
	return strings.TrimRight(out, "\n")
}

// nodePoolDelete implements `node pool delete`.
func (c *cli) nodePoolDelete(v *verb, args []string) int {
	fs := c.flagSet(v)
	client, code, ok := c.connect(v, fs, args, takesPoolName)
	if !ok {
		return code
	}
	if _, err := client.NodePools().Delete(fs.Arg(0), nil); err != nil {
		c.errorf("Error deleting node pool: %s", err)
		return 1
	}
	c.outf("Successfully deleted node pool %q!", fs.Arg(0))
	return 0
}

// nodePoolNodes implements `node pool nodes`.
func (c *cli) nodePoolNodes(v *verb, args []string) int {
	fs := c.flagSet(v)
	asJSON := fs.Bool("json", false, "")
	verbose := fs.Bool("verbose", false, "")
	filter := fs.String("filter", "", "")
	client, code, ok := c.connect(v, fs, args, takesPoolName)
	if !ok {
		return code
	}
	nodes, _, err := client.NodePools().ListNodes(fs.Arg(0), &api.QueryOptions{Filter: *filter})
	if err != nil {
		c.errorf("Error querying nodes: %s", err)
		return 1
	}
	return printList(c, nodes, *asJSON, "No nodes", func() string { return formatNodeList(nodes, *verbose) })
}

// nodePoolJobs implements `node pool jobs`.
func (c *cli) nodePoolJobs(v *verb, args []string) int {
	fs := c.flagSet(v)
	asJSON := fs.Bool("json", false, "")
	filter := fs.String("filter", "", "")
	client, code, ok := c.connect(v, fs, args, takesPoolName)
	if !ok {
		return code
	}
	jobs, _, err := client.NodePools().ListJobs(fs.Arg(0), &api.QueryOptions{Filter: *filter, Namespace: api.AllNamespacesNamespace})
	if err != nil {
		c.errorf("Error querying jobs: %s", err)
		return 1
	}
	return printList(c, jobs, *asJSON, "No jobs", func() string { return formatJobList(jobs, true) })
}
