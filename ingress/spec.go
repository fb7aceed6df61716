package ingress

import (
	"fmt"
	"strings"
)

// Tags returns the service tags that put a service behind the ingress at
// host and path ("" path: "/"); they are what the jobspec's
// `service { ingress { host path } }` block stands for. The host is kept
// as written (routing ignores its case; "${...}" is interpolated by the
// client, case-sensitively).
func Tags(host, path string) []string {
	tags := []string{HostTag + host}
	if path != "" && path != "/" {
		tags = append(tags, PathTag+path)
	}
	return tags
}

// ValidateHost checks a route's host: a DNS name of letters, digits and
// hyphens in dot-separated labels (no port, no scheme, no wildcard).
func ValidateHost(host string) error {
	if host == "" {
		return fmt.Errorf("host must not be empty")
	}
	if len(host) > 253 {
		return fmt.Errorf("host %q is longer than 253 characters", host)
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("host %q: each dot-separated label is 1 to 63 characters", host)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("host %q: a label must not start or end with a hyphen", host)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("host %q: %q is not allowed (a host name is letters, digits, hyphens and dots; no port or scheme)", host, r)
			}
		}
	}
	return nil
}

// ValidatePath checks a route's path prefix: it starts with "/" and holds
// no query, fragment, space or control character.
func ValidatePath(path string) error {
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("path %q must start with /", path)
	}
	if i := strings.IndexFunc(path, func(r rune) bool { return r <= ' ' || r == '?' || r == '#' || r == 0x7f }); i >= 0 {
		return fmt.Errorf("path %q: %q is not allowed (no query, fragment or spaces)", path, path[i])
	}
	return nil
}

// ValidateTags checks a service's ingress tags: a valid host, at most one
// host and one path, and a path only with a host.
func ValidateTags(tags []string) error {
	var hosts, paths []string
	for _, tag := range tags {
		if v, ok := strings.CutPrefix(tag, HostTag); ok {
			hosts = append(hosts, v)
		}
		if v, ok := strings.CutPrefix(tag, PathTag); ok {
			paths = append(paths, v)
		}
	}
	switch {
	case len(hosts) > 1:
		return fmt.Errorf("more than one %s tag: %v", HostTag, hosts)
	case len(paths) > 1:
		return fmt.Errorf("more than one %s tag: %v", PathTag, paths)
	case len(paths) == 1 && len(hosts) == 0:
		return fmt.Errorf("tag %s%s needs an %s tag", PathTag, paths[0], HostTag)
	}
	// A value with "${...}" is interpolated by the client; only the
	// result could be checked.
	if len(hosts) == 1 && !strings.Contains(hosts[0], "${") {
		if err := ValidateHost(hosts[0]); err != nil {
			return err
		}
	}
	if len(paths) == 1 && !strings.Contains(paths[0], "${") {
		return ValidatePath(paths[0])
	}
	return nil
}
