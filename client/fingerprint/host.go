package fingerprint

import (
	"bufio"
	"os"
	"runtime"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// host detects the kernel, operating system and hostname.
func host(_ Config, r *Result) error {
	a := r.Attributes
	a["kernel.name"] = runtime.GOOS
	var uts unix.Utsname
	if err := unix.Uname(&uts); err == nil {
		a["kernel.version"] = unix.ByteSliceToString(uts.Release[:])
		a["kernel.arch"] = unix.ByteSliceToString(uts.Machine[:])
	}
	osName, osVersion := osRelease()
	a["os.name"] = osName
	a["os.version"] = osVersion
	a["os.signals"] = signalNames()
	hostname, err := os.Hostname()
	if err != nil {
		return err
	}
	a["unique.hostname"] = hostname
	return nil
}

// osRelease reads ID and VERSION_ID from /etc/os-release.
func osRelease() (name, version string) {
	f, err := os.Open("/etc/os-release")
	if err != nil {
		return runtime.GOOS, ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		key, val, ok := strings.Cut(s.Text(), "=")
		if !ok {
			continue
		}
		val = strings.Trim(val, `"'`)
		switch key {
		case "ID":
			name = val
		case "VERSION_ID":
			version = val
		}
	}
	return name, version
}

// signalNames lists the signals tasks may be sent, as Nomad's os.signals.
func signalNames() string {
	var names []string
	for sig := syscall.Signal(1); sig < 32; sig++ {
		if name := unix.SignalName(sig); name != "" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}
