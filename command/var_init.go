package command

import (
	"errors"
	"os"
)

// varInitVerb writes an example variable specification.
var varInitVerb = &verb{
	name:     "var init",
	synopsis: "Create an example variable specification file",
	help: `
Usage: roam var init [options] [<filename>]

  Write an example variable specification to filename: spec.nv.hcl, or
  spec.nv.json with -out=json, when none is given. Edit it, then write the
  variable with 'roam var put @spec.nv.hcl'.

Var init Options:

  -out=<hcl|json>
    Format of the specification. Default: hcl.

  -quiet
    Print no message when the file is written.
`,
	run: (*cli).varInit,
}

// varSpecHCL is the example specification var init writes.
const varSpecHCL = `# The path of the variable. 'roam var put @file' uses it when the command
# line names none.
path = "path/to/variable"

# The namespace to write the variable in; -namespace on 'var put' wins.
namespace = "default"

# The items are the secret part of the variable: they are encrypted and
# decrypted together. Keys without dots are easier to use in templates.
items {
  key1 = "value 1"
  key2 = "value 2"
}
`

// varSpecJSON is varSpecHCL's JSON form.
const varSpecJSON = `{
  "Path": "path/to/variable",
  "Namespace": "default",
  "Items": {
    "key1": "value 1",
    "key2": "value 2"
  }
}
`

// varInit writes the example specification, refusing to overwrite a file.
func (c *cli) varInit(v *verb, args []string) int {
	fs := c.flagSet(v)
	out := fs.String("out", "hcl", "")
	quiet := fs.Bool("quiet", false, "")
	if code, ok := c.parseArgs(v, fs, args, takesOneOrNoArgs); !ok {
		return code
	}
	content, name := varSpecHCL, "spec.nv.hcl"
	switch *out {
	case "hcl":
	case "json":
		content, name = varSpecJSON, "spec.nv.json"
	default:
		c.errorf("Invalid -out value %q: want hcl or json", *out)
		return 1
	}
	if fs.NArg() == 1 {
		name = fs.Arg(0)
	}
	if _, err := os.Stat(name); err == nil {
		c.errorf("File %q already exists", name)
		return 1
	} else if !errors.Is(err, os.ErrNotExist) {
		c.errorf("Failed to stat %q: %v", name, err)
		return 1
	}
	if err := os.WriteFile(name, []byte(content), 0o660); err != nil {
		c.errorf("Failed to write %q: %v", name, err)
		return 1
	}
	if !*quiet {
		c.outf("Example variable specification written to %s", name)
	}
	return 0
}
