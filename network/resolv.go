package network

import (
	"strings"

	"github.com/hashicorp/nomad/api"
)

// ResolvConf renders a `dns` block as a resolv.conf file; nil or an empty
// block renders nothing ("" means: keep the host's).
func ResolvConf(dns *api.DNSConfig) string {
	if dns == nil || len(dns.Servers)+len(dns.Searches)+len(dns.Options) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("# Written by Roam from the group's network { dns {} } block.\n")
	for _, s := range dns.Servers {
		b.WriteString("nameserver " + s + "\n")
	}
	if len(dns.Searches) > 0 {
		b.WriteString("search " + strings.Join(dns.Searches, " ") + "\n")
	}
	if len(dns.Options) > 0 {
		b.WriteString("options " + strings.Join(dns.Options, " ") + "\n")
	}
	return b.String()
}
