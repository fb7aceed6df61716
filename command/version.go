package command

import "github.com/roam-project/roam/internal/version"

// versionVerb prints the version.
var versionVerb = &verb{
	name:     "version",
	synopsis: "Prints the Roam version",
	help: `
Usage: roam version

  Prints the Roam version and the source revision it was built from.
`,
	run: (*cli).version,
}

// version prints "Roam v0.1.0 (Nomad API compatible)" and the revision.
func (c *cli) version(v *verb, args []string) int {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		c.outf("%s", trimHelp(v.help))
		return 0
	}
	c.outf("Roam v%s (Nomad API compatible)", version.Number)
	c.outf("Revision %s", version.Revision())
	return 0
}
