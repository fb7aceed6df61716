package docker

import (
	"fmt"
	"slices"
	"strings"
)

// dockerDefaultCaps are the capabilities Docker grants a container unless
// told otherwise.
var dockerDefaultCaps = []string{
	"audit_write", "chown", "dac_override", "fowner", "fsetid", "kill", "mknod",
	"net_bind_service", "net_raw", "setfcap", "setgid", "setpcap", "setuid", "sys_chroot",
}

// defaultAllowCaps is Nomad's default `allow_caps`: Docker's set less net_raw.
var defaultAllowCaps = []string{
	"audit_write", "chown", "dac_override", "fowner", "fsetid", "kill", "mknod",
	"net_bind_service", "setfcap", "setgid", "setpcap", "setuid", "sys_chroot",
}

// linuxCaps are the capability names the kernel knows, lower case, without
// the "cap_" prefix.
var linuxCaps = []string{
	"audit_control", "audit_read", "audit_write", "block_suspend", "bpf",
	"checkpoint_restore", "chown", "dac_override", "dac_read_search", "fowner",
	"fsetid", "ipc_lock", "ipc_owner", "kill", "lease", "linux_immutable",
	"mac_admin", "mac_override", "mknod", "net_admin", "net_bind_service",
	"net_broadcast", "net_raw", "perfmon", "setfcap", "setgid", "setpcap",
	"setuid", "sys_admin", "sys_boot", "sys_chroot", "sys_module", "sys_nice",
	"sys_pacct", "sys_ptrace", "sys_rawio", "sys_resource", "sys_time",
	"sys_tty_config", "syslog", "wake_alarm",
}

// normalizeCap turns "CAP_NET_ADMIN" or "NET_ADMIN" into "net_admin".
func normalizeCap(c string) string {
	c = strings.ToLower(strings.TrimSpace(c))
	return strings.TrimPrefix(c, "cap_")
}

// checkCapNames rejects names that are neither a capability nor "all".
func checkCapNames(caps []string) error {
	for _, c := range caps {
		n := normalizeCap(c)
		if n != "all" && !slices.Contains(linuxCaps, n) {
			return fmt.Errorf("unknown capability %q", c)
		}
	}
	return nil
}

// effectiveCaps checks a task's cap_add against the plugin's allow_caps and
// returns the lists to give Docker: cap_add as is, and cap_drop extended with
// Docker's default capabilities that allow_caps does not allow.
func effectiveCaps(allow, add, drop []string) (capAdd, capDrop []string, err error) {
	allowed := map[string]bool{}
	for _, c := range allow {
		allowed[normalizeCap(c)] = true
	}
	if err := checkCapNames(add); err != nil {
		return nil, nil, fmt.Errorf("cap_add: %w", err)
	}
	if err := checkCapNames(drop); err != nil {
		return nil, nil, fmt.Errorf("cap_drop: %w", err)
	}
	var denied []string
	for _, c := range add {
		if n := normalizeCap(c); !allowed["all"] && !allowed[n] {
			denied = append(denied, n)
		}
		capAdd = append(capAdd, normalizeCap(c))
	}
	if len(denied) > 0 {
		return nil, nil, fmt.Errorf("cap_add: capabilities %v are not in the docker plugin's allow_caps", denied)
	}
	for _, c := range drop {
		capDrop = append(capDrop, normalizeCap(c))
	}
	if allowed["all"] {
		return capAdd, capDrop, nil
	}
	for _, c := range dockerDefaultCaps {
		if !allowed[c] && !slices.Contains(capAdd, c) && !slices.Contains(capDrop, c) {
			capDrop = append(capDrop, c)
		}
	}
	return capAdd, capDrop, nil
}
