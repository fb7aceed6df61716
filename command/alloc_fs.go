package command

import (
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// allocFSVerb lists and reads files in an allocation directory.
var allocFSVerb = &verb{
	name:     "alloc fs",
	aliases:  []string{"fs"},
	synopsis: "Inspect the contents of an allocation directory",
	help: `
Usage: roam alloc fs [options] <allocation> <path>

  fs displays either the contents of an allocation directory for the passed
  allocation, or displays the file at the given path. The path is relative to
  the root of the alloc dir and defaults to root if unspecified.

General Options:
` + generalOptionsHelp + `

FS Specific Options:

  -H
    Machine friendly output.

  -verbose
    Show full information.

  -stat
    Show file stat information instead of displaying the file, or listing the
    directory.
`,
	run: (*cli).allocFS,
}

// allocFS implements `alloc fs`.
func (c *cli) allocFS(v *verb, args []string) int {
	fs := c.flagSet(v)
	human := fs.Bool("H", false, "")
	verbose := fs.Bool("verbose", false, "")
	stat := fs.Bool("stat", false, "")
	fs.Bool("job", false, "")
	want := argCount{1, 2, "This command takes one or two arguments: <allocation> [<path>]"}
	client, alloc, code, ok := c.connectAlloc(v, fs, args, want)
	if !ok {
		return code
	}
	path := "/"
	if fs.NArg() == 2 {
		path = fs.Arg(1)
	}
	info, _, err := client.AllocFS().Stat(alloc, path, nil)
	if err != nil {
		c.errorf("Error stating file: %s", err)
		return 1
	}
	switch {
	case *stat:
		c.outf("%s", formatFileInfos([]*api.AllocFileInfo{info}, *human, *verbose))
	case info.IsDir:
		files, _, err := client.AllocFS().List(alloc, path, nil)
		if err != nil {
			c.errorf("Error listing alloc dir: %s", err)
			return 1
		}
		c.outf("%s", formatFileInfos(files, *human, *verbose))
	default:
		return c.catFile(client, alloc, path)
	}
	return 0
}

// catFile copies one file of the allocation directory to standard output.
func (c *cli) catFile(client *api.Client, alloc *api.Allocation, path string) int {
	r, err := client.AllocFS().Cat(alloc, path, nil)
	if err != nil {
		c.errorf("Error reading file: %s", err)
		return 1
	}
	defer r.Close()
	if _, err := io.Copy(c.out, r); err != nil {
		c.errorf("Error reading file: %s", err)
		return 1
	}
	return 0
}

// formatFileInfos renders Nomad's directory listing; -H prints sizes in
// bytes, otherwise binary units.
func formatFileInfos(files []*api.AllocFileInfo, machine, verbose bool) string {
	header := "Mode|Size|Modified Time|Name"
	if verbose {
		header = "Mode|Size|Modified Time|Content Type|Name"
	}
	rows := []string{header}
	for _, f := range files {
		size := humanBytes(uint64(max(f.Size, 0)))
		if machine {
			size = fmt.Sprint(f.Size)
		}
		name := f.Name
		if f.IsDir {
			name += "/"
		}
		cells := []string{f.FileMode, size, formatTime(f.ModTime)}
		if verbose {
			cells = append(cells, f.ContentType)
		}
		rows = append(rows, strings.Join(append(cells, name), "|"))
	}
	return formatList(rows)
}
