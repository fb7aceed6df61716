// Package version holds Roam's version, and the Nomad version whose API and
// behaviour it matches.
package version

import "runtime/debug"

// Number is Roam's own version.
const Number = "0.1.0"

// NomadCompatible is the Nomad release whose API Roam speaks; agents report
// it as "nomad.version" so that tools that check it keep working.
const NomadCompatible = "1.9.0"

// commit is the source revision, set by release builds with
// -ldflags "-X github.com/roam-project/roam/internal/version.commit=...".
var commit = ""

// Revision is the source revision the binary was built from: the one set
// at link time, else the VCS revision Go recorded, else "unknown".
func Revision() string {
	if commit != "" {
		return commit
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
