package command

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"

	"github.com/roam-project/roam/tlsutil"
)

// tlsCACreateVerb writes a self-signed CA, as `nomad tls ca create`.
var tlsCACreateVerb = &verb{
	name:     "tls ca create",
	synopsis: "Create a certificate authority for Roam",
	help: `
Usage: roam tls ca create [options]

  Creates a self-signed certificate authority to sign the certificates of
  Roam's agents and CLI. It writes <domain>-agent-ca.pem and
  <domain>-agent-ca-key.pem (nomad-agent-ca.pem by default).

CA Create Options:

  -days=<int>
    Number of days the CA is valid for. Defaults to 1825 (5 years).

  -domain=<string>
    Domain of the cluster, used in the file names and, with
    -name-constraint, in the CA's name constraints. Defaults to "nomad".

  -name-constraint
    Restrict the CA to -domain, localhost and -additional-domain.

  -additional-domain=<string>
    A further permitted domain with -name-constraint; may be repeated.

  -common-name, -country, -locality, -organization, -organizational-unit,
  -postal-code, -province, -street-address
    Fields of the CA's subject; Nomad's defaults ("Nomad Agent CA <serial>",
    "US", "San Francisco", "HashiCorp Inc.", "Nomad", ...) otherwise.
`,
	run: (*cli).tlsCACreate,
}

// tlsCACreate implements `tls ca create`.
func (c *cli) tlsCACreate(v *verb, args []string) int {
	o := tlsutil.DefaultCAOptions()
	fs := c.localFlagSet(v)
	fs.IntVar(&o.Days, "days", o.Days, "")
	fs.StringVar(&o.Domain, "domain", o.Domain, "")
	fs.BoolVar(&o.NameConstraint, "name-constraint", false, "")
	var domains stringList
	fs.Var(&domains, "additional-domain", "")
	fs.StringVar(&o.CommonName, "common-name", "", "")
	fs.StringVar(&o.Country, "country", o.Country, "")
	fs.StringVar(&o.Locality, "locality", o.Locality, "")
	fs.StringVar(&o.Organization, "organization", o.Organization, "")
	fs.StringVar(&o.OrganizationalUnit, "organizational-unit", o.OrganizationalUnit, "")
	fs.StringVar(&o.PostalCode, "postal-code", o.PostalCode, "")
	fs.StringVar(&o.Province, "province", o.Province, "")
	fs.StringVar(&o.StreetAddress, "street-address", o.StreetAddress, "")
	if code, ok := c.parseArgs(v, fs, args, takesNoArgs); !ok {
		return code
	}
	if len(domains) > 0 && !o.NameConstraint {
		c.errorf("-additional-domain requires -name-constraint")
		return 1
	}
	o.AdditionalDomains = domains
	certFile, keyFile := o.Domain+"-agent-ca.pem", o.Domain+"-agent-ca-key.pem"
	if !c.noneExist(certFile, keyFile) {
		return 1
	}
	cert, key, err := tlsutil.GenerateCA(o)
	if err != nil {
		c.errorf("Error creating CA: %v", err)
		return 1
	}
	if !c.writePair(certFile, cert, keyFile, key) {
		return 1
	}
	c.outf("==> CA certificate saved to: %s", certFile)
	c.outf("==> CA certificate key saved to: %s", keyFile)
	return 0
}

// tlsCertCreateVerb writes a certificate signed by the CA, as `nomad tls
// cert create`.
var tlsCertCreateVerb = &verb{
	name:     "tls cert create",
	synopsis: "Create a certificate for a Roam server, client or CLI",
	help: `
Usage: roam tls cert create [options]

  Creates a certificate signed by the CA for a server (server.<region>.nomad),
  a client (client.<region>.nomad) or the CLI (cli.<region>.nomad). It
  writes <region>-<role>-<domain>.pem and <region>-<role>-<domain>-key.pem
  (global-server-nomad.pem, ...).

Cert Create Options:

  -server, -client, -cli
    The kind of certificate; exactly one is required.

  -region=<string>
    The region of the agent. Defaults to "global".

  -domain=<string>
    The domain of the cluster. Defaults to "nomad".

  -ca=<string>, -key=<string>
    The CA certificate and key. Default to <domain>-agent-ca.pem and
    <domain>-agent-ca-key.pem.

  -days=<int>
    Number of days the certificate is valid for. Defaults to 365.

  -additional-dnsname=<string>
    A further DNS name for the certificate; localhost is always included.
    May be repeated.

  -additional-ipaddress=<string>
    A further IP address for the certificate; 127.0.0.1 is always included
    in server and client certificates. May be repeated.
`,
	run: (*cli).tlsCertCreate,
}

// tlsCertCreate implements `tls cert create`.
func (c *cli) tlsCertCreate(v *verb, args []string) int {
	fs := c.localFlagSet(v)
	server := fs.Bool("server", false, "")
	client := fs.Bool("client", false, "")
	cliCert := fs.Bool("cli", false, "")
	o := tlsutil.CertOptions{}
	fs.StringVar(&o.Region, "region", "global", "")
	fs.StringVar(&o.Domain, "domain", "nomad", "")
	fs.IntVar(&o.Days, "days", 365, "")
	caFile := fs.String("ca", "", "")
	keyFile := fs.String("key", "", "")
	var dnsNames, ips stringList
	fs.Var(&dnsNames, "additional-dnsname", "")
	fs.Var(&ips, "additional-ipaddress", "")
	if code, ok := c.parseArgs(v, fs, args, takesNoArgs); !ok {
		return code
	}
	roles := map[string]bool{"server": *server, "client": *client, "cli": *cliCert}
	for role, on := range roles {
		if on {
			if o.Role != "" {
				o.Role = "many"
				break
			}
			o.Role = role
		}
	}
	if o.Role == "" || o.Role == "many" {
		c.errorf("Please provide exactly one of -server, -client or -cli")
		return 1
	}
	o.DNSNames = dnsNames
	for _, s := range ips {
		ip := net.ParseIP(s)
		if ip == nil {
			c.errorf("-additional-ipaddress %q is not an IP address", s)
			return 1
		}
		o.IPAddresses = append(o.IPAddresses, ip)
	}
	if *caFile == "" {
		*caFile = o.Domain + "-agent-ca.pem"
	}
	if *keyFile == "" {
		*keyFile = o.Domain + "-agent-ca-key.pem"
	}
	caPEM, err := os.ReadFile(*caFile)
	if err != nil {
		c.errorf("Error reading CA: %v", err)
		return 1
	}
	caKey, err := os.ReadFile(*keyFile)
	if err != nil {
		c.errorf("Error reading CA key: %v", err)
		return 1
	}
	certOut := fmt.Sprintf("%s-%s-%s.pem", o.Region, o.Role, o.Domain)
	keyOut := fmt.Sprintf("%s-%s-%s-key.pem", o.Region, o.Role, o.Domain)
	if !c.noneExist(certOut, keyOut) {
		return 1
	}
	cert, key, err := tlsutil.GenerateCert(o, caPEM, caKey)
	if err != nil {
		c.errorf("Error creating certificate: %v", err)
		return 1
	}
	if o.Role == "server" {
		c.outf("==> WARNING: Server Certificates grants authority to become a")
		c.outf("    server and access all state in the cluster including root keys")
		c.outf("    and all ACL tokens. Do not distribute them to production hosts")
		c.outf("    that are not server nodes. Store them as securely as CA keys.")
	}
	c.outf("==> Using CA file %s and CA key %s", *caFile, *keyFile)
	if !c.writePair(certOut, cert, keyOut, key) {
		return 1
	}
	kind := map[string]string{"server": "Server", "client": "Client", "cli": "Cli"}[o.Role]
	c.outf("==> %s Certificate saved to %s", kind, certOut)
	c.outf("==> %s Certificate key saved to %s", kind, keyOut)
	return 0
}

// noneExist reports, printing the first one found, whether none of files
// exists: the tls commands never overwrite.
func (c *cli) noneExist(files ...string) bool {
	for _, f := range files {
		if _, err := os.Stat(f); err == nil {
			c.errorf("File '%s' already exists", f)
			return false
		} else if !errors.Is(err, fs.ErrNotExist) {
			c.errorf("Failed to stat '%s': %v", f, err)
			return false
		}
	}
	return true
}

// writePair writes a certificate (world-readable) and its key (owner only).
func (c *cli) writePair(certFile string, cert []byte, keyFile string, key []byte) bool {
	if err := os.WriteFile(certFile, cert, 0o644); err != nil {
		c.errorf("Failed to write '%s': %v", certFile, err)
		return false
	}
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		c.errorf("Failed to write '%s': %v", keyFile, err)
		return false
	}
	return true
}
