package command

import (
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/server"
	"github.com/roam-project/roam/state"
)

// operatorSnapshotSaveVerb saves the cluster state to a file.
var operatorSnapshotSaveVerb = &verb{
	name:     "operator snapshot save",
	synopsis: "Saves snapshot of Roam server state",
	help: `
Usage: roam operator snapshot save [options] <file>

  Retrieves an atomic, point-in-time snapshot of the state of the Roam
  servers, which includes jobs, nodes, allocations, evaluations and job
  summaries, and writes it to <file>.

General Options:
` + generalOptionsHelp + `

Snapshot Save Options:

  -stale
    The -stale argument defaults to "false" which means the leader provides
    the result. If the cluster is in an outage state without a leader, you
    may need to set -stale to "true" to get the snapshot from a non-leader.
`,
	run: (*cli).operatorSnapshotSave,
}

func (c *cli) operatorSnapshotSave(v *verb, args []string) int {
	fs := c.flagSet(v)
	stale := fs.Bool("stale", false, "")
	client, code, ok := c.connect(v, fs, args, takesFile)
	if !ok {
		return code
	}
	snap, err := client.Operator().Snapshot(&api.QueryOptions{AllowStale: *stale})
	if err != nil {
		c.errorf("Failed to get snapshot file: %v", err)
		return 1
	}
	defer snap.Close()
	path := fs.Arg(0)
	tmp := path + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		c.errorf("Failed to create snapshot file: %v", err)
		return 1
	}
	if _, err := io.Copy(out, snap); err != nil {
		out.Close()
		os.Remove(tmp)
		c.errorf("Failed to write snapshot file: %v", err)
		return 1
	}
	if err := out.Close(); err != nil {
		c.errorf("Failed to write snapshot file: %v", err)
		return 1
	}
	if err := verifySnapshotFile(tmp); err != nil {
		os.Remove(tmp)
		c.errorf("Error verifying snapshot file: %v", err)
		return 1
	}
	if err := os.Rename(tmp, path); err != nil {
		c.errorf("Failed to move snapshot file into place: %v", err)
		return 1
	}
	c.outf("State file written to %s", path)
	return 0
}

// verifySnapshotFile checks that a file is a whole, readable archive.
func verifySnapshotFile(path string) error {
	_, _, err := inspectSnapshotFile(path)
	return err
}

func inspectSnapshotFile(path string) (*server.SnapshotHeader, map[string]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	header, body, err := server.OpenSnapshot(f)
	if err != nil {
		return nil, nil, err
	}
	counts, err := state.CountRecords(body)
	if err != nil {
		return nil, nil, err
	}
	return header, counts, nil
}

// operatorSnapshotRestoreVerb restores the cluster state from a file.
var operatorSnapshotRestoreVerb = &verb{
	name:     "operator snapshot restore",
	synopsis: "Restore snapshot of Roam server state",
	help: `
Usage: roam operator snapshot restore [options] <file>

  Restores an atomic, point-in-time snapshot of the state of the Roam
  servers. Restores involve a potentially dangerous low-level Raft operation
  that is not designed to handle server failures during a restore.

General Options:
` + generalOptionsHelp,
	run: (*cli).operatorSnapshotRestore,
}

func (c *cli) operatorSnapshotRestore(v *verb, args []string) int {
	fs := c.flagSet(v)
	if code, ok := c.parseArgs(v, fs, args, takesFile); !ok {
		return code
	}
	if err := verifySnapshotFile(fs.Arg(0)); err != nil {
		c.errorf("Error verifying snapshot file: %v", err)
		return 1
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		c.errorf("Error opening snapshot file: %v", err)
		return 1
	}
	defer f.Close()
	client, ok := c.clientOrFail()
	if !ok {
		return 1
	}
	if _, err := client.Operator().SnapshotRestore(f, nil); err != nil {
		c.errorf("Failed to get restore snapshot: %v", err)
		return 1
	}
	c.outf("Snapshot Restored")
	return 0
}

// operatorSnapshotInspectVerb describes a snapshot file.
var operatorSnapshotInspectVerb = &verb{
	name:     "operator snapshot inspect",
	synopsis: "Displays information about a Roam snapshot file",
	help: `
Usage: roam operator snapshot inspect <file>

  Displays information about a snapshot file on disk: when it was taken, the
  Raft index it captures, and how many objects of each kind it holds.
`,
	run: (*cli).operatorSnapshotInspect,
}

func (c *cli) operatorSnapshotInspect(v *verb, args []string) int {
	fs := c.flagSet(v)
	if code, ok := c.parseArgs(v, fs, args, takesFile); !ok {
		return code
	}
	info, err := os.Stat(fs.Arg(0))
	if err != nil {
		c.errorf("Error opening snapshot file: %v", err)
		return 1
	}
	header, counts, err := inspectSnapshotFile(fs.Arg(0))
	if err != nil {
		c.errorf("Error inspecting snapshot: %v", err)
		return 1
	}
	c.outf("%s", formatKV([]string{
		"Created|" + header.Time.Format("2006-01-02T15:04:05Z07:00"),
		fmt.Sprintf("Index|%d", header.Index),
		fmt.Sprintf("Size|%d", info.Size()),
		"Format|" + header.Format,
		"Version|" + header.Version,
	}))
	rows := []string{"Type|Count"}
	types := make([]string, 0, len(counts))
	for t := range counts {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		rows = append(rows, fmt.Sprintf("%s|%d", t, counts[t]))
	}
	c.outf("\n%s", formatList(rows))
	return 0
}

// operatorRaftRemovePeerVerb removes a server from the Raft configuration.
var operatorRaftRemovePeerVerb = &verb{
	name:     "operator raft remove-peer",
	synopsis: "Remove a Roam server from the Raft configuration",
	help: `
Usage: roam operator raft remove-peer [options]

  Removes the Roam server with the given ID or address from the Raft
  configuration. Use it to clean up a server that failed and will not come
  back, when its gossip entry is already gone.

General Options:
` + generalOptionsHelp + `

Remove Peer Options:

  -peer-address="IP:port"
    Remove a Roam server with the given address from the Raft configuration.

  -peer-id="id"
    Remove a Roam server with the given ID from the Raft configuration.
`,
	run: (*cli).operatorRaftRemovePeer,
}

func (c *cli) operatorRaftRemovePeer(v *verb, args []string) int {
	fs := c.flagSet(v)
	addr := fs.String("peer-address", "", "")
	id := fs.String("peer-id", "", "")
	if code, ok := c.parse(v, fs, args); !ok {
		return code
	}
	if (*addr == "") == (*id == "") {
		return c.usageError(v, "Exactly one of -peer-address and -peer-id must be given")
	}
	client, ok := c.clientOrFail()
	if !ok {
		return 1
	}
	var err error
	if *id != "" {
		err = client.Operator().RaftRemovePeerByID(*id, nil)
	} else {
		err = client.Operator().RaftRemovePeerByAddress(*addr, nil)
	}
	if err != nil {
		c.errorf("Failed to remove raft peer: %v", err)
		return 1
	}
	if *id != "" {
		c.outf("Removed peer with id %q", *id)
	} else {
		c.outf("Removed peer with address %q", *addr)
	}
	return 0
}
