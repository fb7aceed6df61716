package jobspec

import (
	"fmt"
	"regexp"

	"github.com/hashicorp/nomad/api"
)

// validIdentityName is the form of a workload identity's name, as Nomad's.
var validIdentityName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,128}$`)

// validIdentityChangeModes are what a task may do when its identity is
// renewed ("" is noop).
var validIdentityChangeModes = map[string]bool{"": true, "noop": true, "restart": true, "signal": true}

// validateIdentities checks a task's identity blocks: the default one and
// the named ones, each name once.
func validateIdentities(p problems, t *api.Task) {
	seen := map[string]bool{}
	all := t.Identities
	if t.Identity != nil {
		all = append([]*api.WorkloadIdentity{t.Identity}, all...)
	}
	for _, wid := range all {
		name := wid.Name
		if name == "" {
			name = "default"
		}
		ip := p.under(fmt.Sprintf("Identity %q", name))
		if !validIdentityName.MatchString(name) {
			ip.addf("invalid name: must be 1 to 128 letters, digits, dashes or underscores")
		}
		if seen[name] {
			ip.addf("defined more than once in the task")
		}
		seen[name] = true
		if !validIdentityChangeModes[wid.ChangeMode] {
			ip.addf("invalid change_mode %q: must be noop, restart or signal", wid.ChangeMode)
		}
		if wid.ChangeMode == "signal" && wid.ChangeSignal == "" {
			ip.addf("change_mode \"signal\" needs a change_signal")
		}
		if wid.ChangeSignal != "" && wid.ChangeMode != "signal" {
			ip.addf("change_signal is only used with change_mode \"signal\"")
		}
		if wid.TTL < 0 {
			ip.addf("ttl must not be negative; got %s", wid.TTL)
		}
		if wid.Filepath != "" && !wid.File {
			ip.addf("filepath is only used with file = true")
		}
	}
}
