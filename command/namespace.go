package command

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"text/template"

	"github.com/hashicorp/nomad/api"
)

// namespaceApplyVerb creates or updates a namespace.
var namespaceApplyVerb = &verb{
	name:     "namespace apply",
	synopsis: "Create or update a namespace",
	help: `
Usage: roam namespace apply [options] <input>

  Apply is used to create or update a namespace. The HCL specification file
  will be read from stdin by specifying "-", otherwise a path to the file is
  expected.

  Instead of a file, you may instead pass the namespace name to create or
  update as the only argument.

General Options:
` + generalOptionsHelp + `

Apply Options:

  -quota
    The quota to attach to the namespace.

  -description
    An optional description for the namespace.

  -json
    Parse the input as a JSON namespace specification.
`,
	run: (*cli).namespaceApply,
}

// namespaceListVerb lists namespaces.
var namespaceListVerb = &verb{
	name:     "namespace list",
	synopsis: "List namespaces",
	help: `
Usage: roam namespace list [options]

  List is used to list available namespaces.

General Options:
` + generalOptionsHelp + `

List Options:

  -json
    Output the namespaces in a JSON format.

  -t
    Format and display the namespaces using a Go template.
`,
	run: (*cli).namespaceList,
}

// namespaceStatusVerb shows one namespace.
var namespaceStatusVerb = &verb{
	name:     "namespace status",
	synopsis: "Display a namespace's status",
	help: `
Usage: roam namespace status [options] <namespace>

  Status is used to view the status of a particular namespace.

General Options:
` + generalOptionsHelp + `

Status Options:

  -json
    Output the latest namespace status information in a JSON format.

  -t
    Format and display namespace status information using a Go template.
`,
	run: (*cli).namespaceStatus,
}

// namespaceInspectVerb prints one namespace as JSON.
var namespaceInspectVerb = &verb{
	name:     "namespace inspect",
	synopsis: "Inspect a namespace",
	help: `
Usage: roam namespace inspect [options] <namespace>

  Inspect is used to view raw information about a particular namespace.

General Options:
` + generalOptionsHelp + `

Inspect Options:

  -t
    Format and display the namespaces using a Go template.
`,
	run: (*cli).namespaceInspect,
}

// namespaceDeleteVerb deletes a namespace.
var namespaceDeleteVerb = &verb{
	name:     "namespace delete",
	synopsis: "Delete a namespace",
	help: `
Usage: roam namespace delete [options] <namespace>

  Delete is used to remove a namespace. A namespace that still holds jobs
  that are not dead, running allocations or variables cannot be deleted,
  nor can the default namespace.

General Options:
` + generalOptionsHelp,
	run: (*cli).namespaceDelete,
}

var takesNamespace = argCount{1, 1, "This command takes one argument: <namespace>"}

// optionalString is a string flag that remembers whether it was given, so
// that `-quota=` clears a value while an absent flag keeps it.
type optionalString struct {
	value string
	set   bool
}

// String implements flag.Value.
func (o *optionalString) String() string { return o.value }

// Set implements flag.Value.
func (o *optionalString) Set(v string) error {
	o.value, o.set = v, true
	return nil
}

// namespaceApply implements `namespace apply`.
func (c *cli) namespaceApply(v *verb, args []string) int {
	fs := c.flagSet(v)
	var description, quota optionalString
	fs.Var(&description, "description", "")
	fs.Var(&quota, "quota", "")
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, argCount{1, 1, "This command takes one argument: <input>"})
	if !ok {
		return code
	}
	input := fs.Arg(0)
	var ns *api.Namespace
	if isSpecFile(input) {
		src, err := c.readInput(input)
		if err != nil {
			c.errorf("Error reading namespace specification: %s", err)
			return 1
		}
		if ns, err = parseNamespaceSpec(input, src, *asJSON); err != nil {
			c.errorf("Error parsing namespace specification: %s", err)
			return 1
		}
	} else {
		existing, _, err := client.Namespaces().Info(input, nil)
		switch {
		case err == nil:
			ns = existing
		case isNotFound(err):
			ns = &api.Namespace{Name: input}
		default:
			c.errorf("Error looking up namespace: %s", err)
			return 1
		}
	}
	if description.set {
		ns.Description = description.value
	}
	if quota.set {
		ns.Quota = quota.value
	}
	if _, err := client.Namespaces().Register(ns, nil); err != nil {
		c.errorf("Error applying namespace specification: %s", err)
		return 1
	}
	c.outf("Successfully applied namespace %q!", ns.Name)
	return 0
}

// isSpecFile reports whether apply's argument names a specification (a
// file, or "-" for stdin) rather than a namespace.
func isSpecFile(input string) bool {
	if input == "-" {
		return true
	}
	fi, err := os.Stat(input)
	return err == nil && !fi.IsDir()
}

// readInput reads a file, or stdin for "-".
func (c *cli) readInput(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(c.in)
	}
	return os.ReadFile(path)
}

// isNotFound reports whether an API error is a 404.
func isNotFound(err error) bool {
	var resp api.UnexpectedResponseError
	return errors.As(err, &resp) && resp.StatusCode() == http.StatusNotFound
}

// namespaceList implements `namespace list`.
func (c *cli) namespaceList(v *verb, args []string) int {
	fs := c.flagSet(v)
	asJSON := fs.Bool("json", false, "")
	tmpl := fs.String("t", "", "")
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	list, _, err := client.Namespaces().List(nil)
	if err != nil {
		c.errorf("Error retrieving namespaces: %s", err)
		return 1
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	if done, code := c.printFormatted(list, *asJSON, *tmpl); done {
		return code
	}
	return printList(c, list, false, "No namespaces found", func() string { return formatNamespaces(list) })
}

// formatNamespaces renders Nomad's namespace table.
func formatNamespaces(list []*api.Namespace) string {
	rows := []string{"Name|Description"}
	for _, ns := range list {
		rows = append(rows, ns.Name+"|"+ns.Description)
	}
	return formatList(rows)
}

// namespaceStatus implements `namespace status`.
func (c *cli) namespaceStatus(v *verb, args []string) int {
	fs := c.flagSet(v)
	asJSON := fs.Bool("json", false, "")
	tmpl := fs.String("t", "", "")
	client, code, ok := c.connect(v, fs, args, takesNamespace)
	if !ok {
		return code
	}
	ns, ok := c.namespaceArg(client, fs.Arg(0))
	if !ok {
		return 1
	}
	if done, code := c.printFormatted(ns, *asJSON, *tmpl); done {
		return code
	}
	c.outf("%s", formatNamespaceStatus(ns))
	return 0
}

// formatNamespaceStatus renders a namespace as Nomad's status does: its
// fields, then its metadata.
func formatNamespaceStatus(ns *api.Namespace) string {
	enabledDrivers, disabledDrivers, enabledModes, disabledModes := "*", "", "*", ""
	if caps := ns.Capabilities; caps != nil {
		if len(caps.EnabledTaskDrivers) > 0 {
			enabledDrivers = strings.Join(caps.EnabledTaskDrivers, ",")
		}
		disabledDrivers = strings.Join(caps.DisabledTaskDrivers, ",")
		if len(caps.EnabledNetworkModes) > 0 {
			enabledModes = strings.Join(caps.EnabledNetworkModes, ",")
		}
		disabledModes = strings.Join(caps.DisabledNetworkModes, ",")
	}
	rows := []string{
		"Name|" + ns.Name,
		"Description|" + ns.Description,
		"Quota|" + ns.Quota,
		"EnabledDrivers|" + enabledDrivers,
		"DisabledDrivers|" + disabledDrivers,
		"EnabledNetworkModes|" + enabledModes,
		"DisabledNetworkModes|" + disabledModes,
	}
	if pools := ns.NodePoolConfiguration; pools != nil {
		rows = append(rows,
			"Default Node Pool|"+pools.Default,
			"Allowed Node Pools|"+strings.Join(pools.Allowed, ","),
			"Denied Node Pools|"+strings.Join(pools.Denied, ","))
	}
	out := formatKV(rows)
	if len(ns.Meta) > 0 {
		var meta []string
		for _, k := range sortedKeys(ns.Meta) {
			meta = append(meta, k+"|"+ns.Meta[k])
		}
		out += "\n\nMetadata\n" + formatKV(meta)
	}
	return out
}

// namespaceInspect implements `namespace inspect`.
func (c *cli) namespaceInspect(v *verb, args []string) int {
	fs := c.flagSet(v)
	tmpl := fs.String("t", "", "")
	client, code, ok := c.connect(v, fs, args, takesNamespace)
	if !ok {
		return code
	}
	ns, ok := c.namespaceArg(client, fs.Arg(0))
	if !ok {
		return 1
	}
	_, code = c.printFormatted(ns, *tmpl == "", *tmpl)
	return code
}

// namespaceDelete implements `namespace delete`.
func (c *cli) namespaceDelete(v *verb, args []string) int {
	fs := c.flagSet(v)
	client, code, ok := c.connect(v, fs, args, takesNamespace)
	if !ok {
		return code
	}
	name := fs.Arg(0)
	if _, err := client.Namespaces().Delete(name, nil); err != nil {
		c.errorf("Error deleting namespace: %s", err)
		return 1
	}
	c.outf("Successfully deleted namespace %q!", name)
	return 0
}

// namespaceArg finds the namespace a command-line argument names: the one
// of that name, or the only one it is a prefix of. Several matches are
// listed, as Nomad does.
func (c *cli) namespaceArg(client *api.Client, prefix string) (*api.Namespace, bool) {
	matches, _, err := client.Namespaces().PrefixList(prefix, nil)
	if err != nil {
		c.errorf("Error retrieving namespaces: %s", err)
		return nil, false
	}
	for _, ns := range matches {
		if ns.Name == prefix {
			return ns, true
		}
	}
	switch len(matches) {
	case 0:
		c.errorf("Namespace %q matched no namespaces", prefix)
		return nil, false
	case 1:
		return matches[0], true
	}
	sort.Slice(matches, func(i, j int) bool { return matches[i].Name < matches[j].Name })
	c.errorf("Prefix matched multiple namespaces\n\n%s", formatNamespaces(matches))
	return nil, false
}

// printFormatted prints v as JSON or through a Go template when asked to,
// reporting whether it printed and the exit code.
func (c *cli) printFormatted(v any, asJSON bool, tmpl string) (bool, int) {
	switch {
	case asJSON && tmpl != "":
		c.errorf("Both json and template formatting are not allowed")
		return true, 1
	case asJSON:
		return true, c.printJSON(v)
	case tmpl != "":
		t, err := template.New("format").Parse(tmpl)
		if err != nil {
			c.errorf("Error parsing the template: %s", err)
			return true, 1
		}
		var out bytes.Buffer
		if err := t.Execute(&out, v); err != nil {
			c.errorf("Error executing the template: %s", err)
			return true, 1
		}
		c.outf("%s", out.String())
		return true, 0
	}
	return false, 0
}
