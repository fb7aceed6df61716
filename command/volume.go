package command

import (
	"fmt"
	"time"

	"github.com/hashicorp/nomad/api"
)

// volumeCreateVerb creates a dynamic host volume.
var volumeCreateVerb = &verb{
	name:     "volume create",
	synopsis: "Create a dynamic host volume",
	help: `
Usage: roam volume create [options] <input>

  Creates a dynamic host volume from the specification in <input> (a file,
  or "-" for stdin): type = "host", a name, plugin_id = "mkdir", and
  optionally node_id, node_pool, capacity_min/max, capability and
  parameters { mode = "0755" }. The server picks a node; its client makes
  a directory for the volume, which jobs then mount by name. Waits until
  the volume is ready unless -detach is given.

General Options:
` + generalOptionsHelp + `

Create Options:

  -detach
    Return as soon as the volume is created, without waiting for it.

  -json
    Read the specification as JSON (the API's HostVolume).
`,
	run: (*cli).volumeCreate,
}

// volumeStatusVerb lists or shows host volumes.
var volumeStatusVerb = &verb{
	name:     "volume status",
	synopsis: "Display status information about host volumes",
	help: `
Usage: roam volume status [options] [id]

  Lists the dynamic host volumes, or shows the one whose ID starts with
  [id] with the allocations that mount it.

General Options:
` + generalOptionsHelp + `

Status Options:

  -type
    The volume type; only "host" exists in Roam.

  -node-pool, -node
    List only the volumes of this node pool or node ID.

  -json
    Output in JSON format.

  -verbose
    Show full IDs.
`,
	run: (*cli).volumeStatus,
}

// volumeDeleteVerb deletes a host volume.
var volumeDeleteVerb = &verb{
	name:     "volume delete",
	synopsis: "Delete a dynamic host volume",
	help: `
Usage: roam volume delete [options] <id>

  Deletes a dynamic host volume no running allocation mounts; its client
  removes the volume's directory.

General Options:
` + generalOptionsHelp + `

Delete Options:

  -type
    The volume type; only "host" exists in Roam.
`,
	run: (*cli).volumeDelete,
}

func (c *cli) volumeCreate(v *verb, args []string) int {
	fs := c.flagSet(v)
	detach := fs.Bool("detach", false, "")
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, argCount{1, 1, "This command takes one argument: <input>"})
	if !ok {
		return code
	}
	src, err := c.readInput(fs.Arg(0))
	if err != nil {
		c.errorf("Error reading volume specification: %s", err)
		return 1
	}
	spec, err := parseVolumeSpec(fs.Arg(0), src, *asJSON)
	if err != nil {
		c.errorf("Error parsing volume specification: %s", err)
		return 1
	}
	resp, _, err := client.HostVolumes().Create(&api.HostVolumeCreateRequest{Volume: spec}, nil)
	if err != nil {
		c.errorf("Error creating volume: %s", err)
		return 1
	}
	vol := resp.Volume
	c.outf("==> Created host volume %s with ID %s", vol.Name, vol.ID)
	if *detach {
		return 0
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		got, _, err := client.HostVolumes().Get(vol.ID, &api.QueryOptions{Namespace: vol.Namespace})
		if err == nil && got.State != api.HostVolumeStatePending {
			vol = got
			break
		}
		if time.Now().After(deadline) {
			c.errorf("Volume %s is still pending after a minute: is its node's client running?", vol.ID)
			return 1
		}
	}
	if vol.State != api.HostVolumeStateReady {
		c.errorf("  ! Host volume %q is %s: see the client's log", shortID(vol.ID, false), vol.State)
		return 1
	}
	c.outf("  ✓ Host volume %q ready\n", shortID(vol.ID, false))
	c.outf("%s", formatKV(hostVolumeRows(vol, false)))
	return 0
}

func (c *cli) volumeStatus(v *verb, args []string) int {
	fs := c.flagSet(v)
	typ := fs.String("type", "host", "")
	pool := fs.String("node-pool", "", "")
	node := fs.String("node", "", "")
	asJSON := fs.Bool("json", false, "")
	verbose := fs.Bool("verbose", false, "")
	client, code, ok := c.connect(v, fs, args, takesOneOrNoArgs)
	if !ok {
		return code
	}
	if *typ != "host" {
		c.errorf("Error: volume type %q: Roam has host volumes only", *typ)
		return 1
	}
	list, _, err := client.HostVolumes().List(&api.HostVolumeListRequest{NodeID: *node, NodePool: *pool}, nil)
	if err != nil {
		c.errorf("Error querying volumes: %s", err)
		return 1
	}
	if fs.NArg() == 0 {
		if *asJSON {
			return c.printJSON(list)
		}
		if len(list) == 0 {
			c.outf("No dynamic host volumes")
			return 0
		}
		rows := []string{"ID|Name|Namespace|Plugin ID|Node ID|Node Pool|State"}
		for _, s := range list {
			rows = append(rows, fmt.Sprintf("%s|%s|%s|%s|%s|%s|%s", shortID(s.ID, *verbose), s.Name, s.Namespace,
				s.PluginID, shortID(s.NodeID, *verbose), s.NodePool, s.State))
		}
		c.outf("%s", formatList(rows))
		return 0
	}
	var match *api.HostVolumeStub
	for _, s := range list {
		if len(fs.Arg(0)) <= len(s.ID) && s.ID[:len(fs.Arg(0))] == fs.Arg(0) {
			if match != nil {
				c.errorf("Prefix %q matched more than one volume", fs.Arg(0))
				return 1
			}
			match = s
		}
	}
	if match == nil {
		c.errorf("No host volume with prefix or ID %q found", fs.Arg(0))
		return 1
	}
	vol, _, err := client.HostVolumes().Get(match.ID, &api.QueryOptions{Namespace: match.Namespace})
	if err != nil {
		c.errorf("Error querying volume: %s", err)
		return 1
	}
	if *asJSON {
		return c.printJSON(vol)
	}
	c.outf("%s", formatKV(hostVolumeRows(vol, *verbose)))
	c.outf("\nAllocations")
	if len(vol.Allocations) == 0 {
		c.outf("No allocations placed")
		return 0
	}
	sortAllocStubs(vol.Allocations)
	c.outf("%s", formatAllocListStubs(vol.Allocations, *verbose, c.now()))
	return 0
}

func hostVolumeRows(v *api.HostVolume, verbose bool) []string {
	return []string{
		"ID|" + v.ID, "Name|" + v.Name, "Namespace|" + v.Namespace, "Plugin ID|" + v.PluginID,
		"Node ID|" + shortID(v.NodeID, verbose), "Node Pool|" + v.NodePool,
		"Capacity|" + humanBytes(uint64(max(v.CapacityBytes, 0))), "State|" + string(v.State), "Host Path|" + v.HostPath,
	}
}

func (c *cli) volumeDelete(v *verb, args []string) int {
	fs := c.flagSet(v)
	typ := fs.String("type", "host", "")
	client, code, ok := c.connect(v, fs, args, argCount{1, 1, "This command takes one argument: <id>"})
	if !ok {
		return code
	}
	if *typ != "host" {
		c.errorf("Error: volume type %q: Roam has host volumes only", *typ)
		return 1
	}
	id := fs.Arg(0)
	if list, _, err := client.HostVolumes().List(&api.HostVolumeListRequest{}, nil); err == nil {
		for _, s := range list {
			if len(id) < len(s.ID) && s.ID[:len(id)] == id {
				id = s.ID
				break
			}
		}
	}
	if _, _, err := client.HostVolumes().Delete(&api.HostVolumeDeleteRequest{ID: id}, nil); err != nil {
		c.errorf("Error deleting volume: %s", err)
		return 1
	}
	c.outf("Successfully deleted volume %q!", id)
	return 0
}
