package isolation

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// DefaultCapabilities are the capabilities a task may hold unless the
// plugin's allow_caps says otherwise (Docker's default set, as Nomad's).
var DefaultCapabilities = []string{
	"audit_write", "chown", "dac_override", "fowner", "fsetid", "kill", "mknod",
	"net_bind_service", "setfcap", "setgid", "setpcap", "setuid", "sys_chroot",
}

// capabilityNumbers maps capability names, lower case without "cap_".
var capabilityNumbers = map[string]int{
	"chown": unix.CAP_CHOWN, "dac_override": unix.CAP_DAC_OVERRIDE, "dac_read_search": unix.CAP_DAC_READ_SEARCH,
	"fowner": unix.CAP_FOWNER, "fsetid": unix.CAP_FSETID, "kill": unix.CAP_KILL, "setgid": unix.CAP_SETGID,
	"setuid": unix.CAP_SETUID, "setpcap": unix.CAP_SETPCAP, "linux_immutable": unix.CAP_LINUX_IMMUTABLE,
	"net_bind_service": unix.CAP_NET_BIND_SERVICE, "net_broadcast": unix.CAP_NET_BROADCAST,
	"net_admin": unix.CAP_NET_ADMIN, "net_raw": unix.CAP_NET_RAW, "ipc_lock": unix.CAP_IPC_LOCK,
	"ipc_owner": unix.CAP_IPC_OWNER, "sys_module": unix.CAP_SYS_MODULE, "sys_rawio": unix.CAP_SYS_RAWIO,
	"sys_chroot": unix.CAP_SYS_CHROOT, "sys_ptrace": unix.CAP_SYS_PTRACE, "sys_pacct": unix.CAP_SYS_PACCT,
	"sys_admin": unix.CAP_SYS_ADMIN, "sys_boot": unix.CAP_SYS_BOOT, "sys_nice": unix.CAP_SYS_NICE,
	"sys_resource": unix.CAP_SYS_RESOURCE, "sys_time": unix.CAP_SYS_TIME, "sys_tty_config": unix.CAP_SYS_TTY_CONFIG,
	"mknod": unix.CAP_MKNOD, "lease": unix.CAP_LEASE, "audit_write": unix.CAP_AUDIT_WRITE,
	"audit_control": unix.CAP_AUDIT_CONTROL, "setfcap": unix.CAP_SETFCAP, "mac_override": unix.CAP_MAC_OVERRIDE,
	"mac_admin": unix.CAP_MAC_ADMIN, "syslog": unix.CAP_SYSLOG, "wake_alarm": unix.CAP_WAKE_ALARM,
	"block_suspend": unix.CAP_BLOCK_SUSPEND, "audit_read": unix.CAP_AUDIT_READ, "perfmon": unix.CAP_PERFMON,
	"bpf": unix.CAP_BPF, "checkpoint_restore": unix.CAP_CHECKPOINT_RESTORE,
}

// capAll stands for every capability in cap_add and cap_drop.
const capAll = "all"

// normalizeCaps lower-cases names, strips "cap_" and checks them.
func normalizeCaps(key string, names []string) (map[string]bool, error) {
	set := map[string]bool{}
	for _, name := range names {
		n := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(name)), "cap_")
		if _, ok := capabilityNumbers[n]; !ok && n != capAll {
			return nil, fmt.Errorf("config key %q: unknown capability %q", key, name)
		}
		set[n] = true
	}
	return set, nil
}

// Capabilities computes a task's capabilities: DefaultCapabilities that
// allow_caps (allow; DefaultCapabilities when nil) permits, minus cap_drop,
// plus cap_add; "all" in cap_drop means every capability and in cap_add
// every allowed one. Adding one that is not allowed is an error.
func Capabilities(allow, add, drop []string) ([]string, error) {
	if allow == nil {
		allow = DefaultCapabilities
	}
	allowed, err := normalizeCaps("allow_caps", allow)
	if err != nil {
		return nil, err
	}
	if allowed[capAll] {
		for name := range capabilityNumbers {
			allowed[name] = true
		}
		delete(allowed, capAll)
	}
	adds, err := normalizeCaps("cap_add", add)
	if err != nil {
		return nil, err
	}
	drops, err := normalizeCaps("cap_drop", drop)
	if err != nil {
		return nil, err
	}
	result := map[string]bool{}
	for _, name := range DefaultCapabilities {
		result[name] = allowed[name] && !drops[name] && !drops[capAll]
	}
	for name := range adds {
		switch {
		case name == capAll:
			for n := range allowed {
				result[n] = true
			}
		case !allowed[name]:
			return nil, fmt.Errorf("config key \"cap_add\": capability %q is not in the plugin's allow_caps", name)
		default:
			result[name] = true
		}
	}
	out := []string{}
	for name, ok := range result {
		if ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// limitCapabilities drops every capability but keep from the calling
// thread's bounding set, so that what it execs can never hold them. The
// caller has locked its OS thread.
func limitCapabilities(keep []string) error {
	last, err := lastCapability()
	if err != nil {
		return err
	}
	kept := map[int]bool{}
	for _, name := range keep {
		kept[capabilityNumbers[name]] = true
	}
	for c := 0; c <= last; c++ {
		if kept[c] {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return fmt.Errorf("drop capability %d: %w", c, err)
		}
	}
	return nil
}

func lastCapability() (int, error) {
	data, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return unix.CAP_LAST_CAP, nil //nolint:nilerr // older kernels lack the file
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, fmt.Errorf("parse cap_last_cap: %w", err)
	}
	return n, nil
}
