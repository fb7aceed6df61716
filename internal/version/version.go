// Package version holds Roam's version, and the Nomad version whose API and
// behaviour it matches.
package version

// Number is Roam's own version.
const Number = "0.1.0"

// NomadCompatible is the Nomad release whose API Roam speaks; agents report
// it as "nomad.version" so that tools that check it keep working.
const NomadCompatible = "1.9.0"

// Revision is the source revision, set at build time with
// -ldflags "-X github.com/roam-project/roam/internal/version.Revision=...".
var Revision = ""
