package command

import "runtime/debug"

// Version is Roam's release version.
const Version = "0.1.0"

// GitCommit is the source revision the binary was built from; release builds
// set it with -ldflags "-X github.com/roam-project/roam/command.GitCommit=...".
var GitCommit = ""

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
	c.outf("Roam v%s (Nomad API compatible)", Version)
	c.outf("Revision %s", revision())
	return 0
}

// revision returns GitCommit, else the VCS revision Go recorded, else
// "unknown".
func revision() string {
	if GitCommit != "" {
		return GitCommit
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				return s.Value
			}
		}
	}
	return "unknown"
}
