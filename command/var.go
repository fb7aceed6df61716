package command

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/moby/term"
)

// varPutVerb creates or updates a variable.
var varPutVerb = &verb{
	name:     "var put",
	synopsis: "Create or update a variable",
	help: `
Usage: roam var put [options] [@<spec file>] <path> <key>=<value> [<key>=<value>]...

  Create or update the variable at path with the given items; the items
  replace all items the variable had. A specification file (as var init
  writes it, HCL or .json) given as @file supplies the path, namespace and
  items; items and a path on the command line win over the file's. An
  item's value given as @file is that file's content, as is (a certificate,
  say).

General Options:
` + generalOptionsHelp + `

Var put Options:

  -check-index=<index>
    Write only if the variable's modify index on the server is this one;
    0 writes only if the variable does not exist yet.

  -force
    Write regardless of the variable's index on the server.

  -out=<none|json|hcl|go-template|table>
    Format to show the written variable in. Default: none.

  -template=<template>
    The Go template of -out=go-template.
`,
	run: (*cli).varPut,
}

// varGetVerb shows a variable.
var varGetVerb = &verb{
	name:     "var get",
	synopsis: "Read a variable",
	help: `
Usage: roam var get [options] <path>

  Show the variable at path.

General Options:
` + generalOptionsHelp + `

Var get Options:

  -item=<key>
    Print only the value of this item, without a trailing newline.

  -out=<json|hcl|go-template|table|none>
    Format to show the variable in. Defaults to table when standard output
    is a terminal and to json when it is redirected.

  -template=<template>
    The Go template of -out=go-template, such as '{{ .Items.user }}'.
`,
	run: (*cli).varGet,
}

// varListVerb lists variables' paths.
var varListVerb = &verb{
	name:     "var list",
	synopsis: "List variables",
	help: `
Usage: roam var list [options] [<prefix>]

  List the variables whose path starts with prefix. Items are not shown.

General Options:
` + generalOptionsHelp + `

Var list Options:

  -out=<json|table|terse>
    Format of the list. Defaults to table when standard output is a
    terminal and to json when it is redirected.
`,
	run: (*cli).varList,
}

// varPurgeVerb deletes a variable.
var varPurgeVerb = &verb{
	name:     "var purge",
	synopsis: "Permanently delete a variable",
	help: `
Usage: roam var purge [options] <path>

  Permanently delete the variable at path.

General Options:
` + generalOptionsHelp + `

Var purge Options:

  -check-index=<index>
    Delete only if the variable's modify index on the server is this one.
`,
	run: (*cli).varPurge,
}

// varPut writes a variable from key=value arguments.
func (c *cli) varPut(v *verb, args []string) int {
	fs := c.flagSet(v)
	force := fs.Bool("force", false, "")
	checkIndex := fs.String("check-index", "", "")
	out := fs.String("out", "none", "")
	tmpl := fs.String("template", "", "")
	client, code, ok := c.connect(v, fs, args, argCount{1, -1, "This command requires a path (or an @file) and at least one <key>=<value> item"})
	if !ok {
		return code
	}
	rest := fs.Args()
	sv := api.NewVariable("")
	if spec, isFile := strings.CutPrefix(rest[0], "@"); isFile {
		var err error
		if sv, err = readVarSpec(spec); err != nil {
			c.errorf("Error reading the variable specification: %s", err)
			return 1
		}
		rest = rest[1:]
	}
	if len(rest) > 0 && !strings.Contains(rest[0], "=") {
		sv.Path, rest = rest[0], rest[1:]
	}
	if sv.Path == "" || (len(rest) == 0 && len(sv.Items) == 0) {
		c.errorf("This command requires a path (or an @file) and at least one <key>=<value> item")
		return 1
	}
	if ns := c.namespace(); ns != "" || sv.Namespace == "" {
		sv.Namespace = ns
	}
	for _, kv := range rest {
		k, val, err := varItem(kv)
		if err != nil {
			c.errorf("Error parsing item %q: %s", kv, err)
			return 1
		}
		sv.Items[k] = val
	}
	var written *api.Variable
	var err error
	switch {
	case *checkIndex != "" && !*force:
		idx, perr := strconv.ParseUint(*checkIndex, 10, 64)
		if perr != nil {
			c.errorf("Invalid -check-index %q: %v", *checkIndex, perr)
			return 1
		}
		sv.ModifyIndex = idx
		written, _, err = client.Variables().CheckedUpdate(sv, nil)
	default:
		written, _, err = client.Variables().Update(sv, nil)
	}
	if err != nil {
		c.varWriteError("creating", err)
		return 1
	}
	return c.printPutVar(written, *out, *tmpl)
}

// printPutVar reports a written variable in the -out format.
func (c *cli) printPutVar(sv *api.Variable, out, tmpl string) int {
	verb := "Updated"
	if sv.CreateIndex == sv.ModifyIndex {
		verb = "Created"
	}
	switch out {
	case "none":
		c.outf("%s variable %q with modify index %d", verb, sv.Path, sv.ModifyIndex)
	case "table":
		c.outf("Successfully %s variable %q!\n\n%s", strings.ToLower(verb), sv.Path, formatVar(sv))
	default:
		return c.printVar(sv, out, tmpl)
	}
	return 0
}

// varWriteError prints a failed write; a check-and-set conflict says what
// the server holds and how to go on.
func (c *cli) varWriteError(doing string, err error) {
	var conflict api.ErrCASConflict
	if !errors.As(err, &conflict) {
		c.errorf("Error %s variable: %s", doing, err)
		return
	}
	current := conflict.Conflict
	c.errorf("Error %s variable: Check-and-Set conflict\n", doing)
	if current.ModifyIndex == 0 {
		c.errorf("    Your provided check-index (%d) does not match the server-side index (0):\n    the variable does not exist.", conflict.CheckIndex)
		return
	}
	c.errorf("    Your provided check-index (%d) does not match the server-side index (%d).", conflict.CheckIndex, current.ModifyIndex)
	c.errorf("    The server-side item was last updated on %s.\n", formatUnixNano(current.ModifyTime))
	c.errorf("    If you are sure you want to perform the operation, add the -force or\n    -check-index=%d flag before the positional arguments.", current.ModifyIndex)
}

// varGet shows a variable.
func (c *cli) varGet(v *verb, args []string) int {
	fs := c.flagSet(v)
	item := fs.String("item", "", "")
	out := fs.String("out", c.defaultOut(), "")
	tmpl := fs.String("template", "", "")
	client, code, ok := c.connect(v, fs, args, takesPath)
	if !ok {
		return code
	}
	sv, _, err := client.Variables().Read(fs.Arg(0), nil)
	if err != nil {
		c.errorf("Error retrieving variable: %s", err)
		return 1
	}
	if *item != "" {
		val, found := sv.Items[*item]
		if !found {
			c.errorf("Variable does not contain %q item", *item)
			return 1
		}
		fmt.Fprint(c.out, val)
		return 0
	}
	return c.printVar(sv, *out, *tmpl)
}

// varList lists variables under a prefix.
func (c *cli) varList(v *verb, args []string) int {
	fs := c.flagSet(v)
	out := fs.String("out", c.defaultOut(), "")
	client, code, ok := c.connect(v, fs, args, takesOneOrNoArgs)
	if !ok {
		return code
	}
	prefix := fs.Arg(0)
	vars, _, err := client.Variables().PrefixList(prefix, nil)
	if err != nil {
		c.errorf("Error retrieving vars: %s", err)
		return 1
	}
	none := "No variables found"
	if prefix != "" {
		none = "No matching variables found"
	}
	switch *out {
	case "json":
		return c.printJSON(vars)
	case "terse":
		for _, m := range vars {
			c.outf("%s", m.Path)
		}
		return 0
	case "table":
		return printList(c, vars, false, none, func() string { return formatVarList(vars) })
	}
	c.errorf("Invalid -out value %q: want json, table or terse", *out)
	return 1
}

// varPurge deletes a variable.
func (c *cli) varPurge(v *verb, args []string) int {
	fs := c.flagSet(v)
	checkIndex := fs.String("check-index", "", "")
	client, code, ok := c.connect(v, fs, args, takesPath)
	if !ok {
		return code
	}
	path := fs.Arg(0)
	var err error
	if *checkIndex != "" {
		idx, perr := strconv.ParseUint(*checkIndex, 10, 64)
		if perr != nil {
			c.errorf("Invalid -check-index %q: %v", *checkIndex, perr)
			return 1
		}
		_, err = client.Variables().CheckedDelete(path, idx, nil)
	} else {
		_, err = client.Variables().Delete(path, nil)
	}
	if err != nil {
		c.varWriteError("purging", err)
		return 1
	}
	c.outf("Successfully purged variable %q!", path)
	return 0
}

// defaultOut is table on a terminal and json when output is redirected, as
// Nomad's var commands choose.
func (c *cli) defaultOut() string {
	if f, ok := c.out.(*os.File); ok && term.IsTerminal(f.Fd()) {
		return "table"
	}
	return "json"
}

// formatVar renders a variable as Nomad's var get table.
func formatVar(sv *api.Variable) string {
	head := formatKV([]string{
		"Namespace|" + sv.Namespace,
		"Path|" + sv.Path,
		"Create Time|" + formatUnixNano(sv.CreateTime),
		"Check Index|" + strconv.FormatUint(sv.ModifyIndex, 10),
	})
	keys := make([]string, 0, len(sv.Items))
	for k := range sv.Items {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// Items are padded by hand: values may hold the "|" formatKV splits on.
	width := 0
	for _, k := range keys {
		width = max(width, len(k))
	}
	var b strings.Builder
	b.WriteString(head + "\n\nItems")
	for _, k := range keys {
		fmt.Fprintf(&b, "\n%-*s = %s", width, k, sv.Items[k])
	}
	return b.String()
}

// formatVarList renders variables' metadata as Nomad's var list table.
func formatVarList(vars []*api.VariableMetadata) string {
	rows := []string{"Namespace|Path|Last Updated"}
	for _, m := range vars {
		rows = append(rows, m.Namespace+"|"+m.Path+"|"+time.Unix(0, m.ModifyTime).Local().Format(time.RFC3339))
	}
	return formatList(rows)
}

// varItem reads one <key>=<value> argument; a value "@path" is the
// content of the file at path, unchanged.
func varItem(kv string) (key, value string, err error) {
	key, value, found := strings.Cut(kv, "=")
	if !found || key == "" {
		return "", "", errors.New("items are <key>=<value>")
	}
	if file, ok := strings.CutPrefix(value, "@"); ok {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", "", err
		}
		value = string(b)
	}
	return key, value, nil
}
