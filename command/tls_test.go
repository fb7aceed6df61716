package command

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"
)

func readCert(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(raw)
	if b == nil {
		t.Fatalf("%s holds no PEM", file)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTLSCACreate(t *testing.T) {
	cases := []struct {
		name      string
		args      []string
		wantCode  int
		wantFiles []string
		wantErr   string
	}{
		{"defaults", nil, 0, []string{"nomad-agent-ca.pem", "nomad-agent-ca-key.pem"}, ""},
		{"domain names the files", []string{"-domain", "example.com", "-name-constraint"}, 0,
			[]string{"example.com-agent-ca.pem", "example.com-agent-ca-key.pem"}, ""},
		{"additional domain needs a constraint", []string{"-additional-domain", "x.io"}, 1, nil, "requires -name-constraint"},
		{"arguments refused", []string{"extra"}, 1, nil, "takes no arguments"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			c, out, errOut := testCLI(nil)
			if code := c.run(append([]string{"tls", "ca", "create"}, tc.args...)); code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.wantCode, errOut)
			}
			if !strings.Contains(errOut.String(), tc.wantErr) {
				t.Fatalf("stderr %q, want %q", errOut, tc.wantErr)
			}
			for _, f := range tc.wantFiles {
				if !strings.Contains(out.String(), f) {
					t.Errorf("output does not name %s: %s", f, out)
				}
				if _, err := os.Stat(f); err != nil {
					t.Error(err)
				}
			}
			if len(tc.wantFiles) == 0 {
				return
			}
			ca := readCert(t, tc.wantFiles[0])
			if !ca.IsCA || !strings.HasPrefix(ca.Subject.CommonName, "Nomad Agent CA") {
				t.Fatalf("CA subject %v", ca.Subject)
			}
			if info, _ := os.Stat(tc.wantFiles[1]); info.Mode().Perm() != 0o600 {
				t.Fatalf("key mode %v, want 0600", info.Mode().Perm())
			}
			// A second run never overwrites.
			c2, _, errOut2 := testCLI(nil)
			if code := c2.run(append([]string{"tls", "ca", "create"}, tc.args...)); code != 1 || !strings.Contains(errOut2.String(), "already exists") {
				t.Fatalf("second run: exit %d, stderr %s", code, errOut2)
			}
		})
	}
}

func TestTLSCertCreate(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		wantCode int
		wantFile string
		wantDNS  []string
		wantIPs  []string
		wantOut  string
		wantErr  string
	}{
		{name: "server", args: []string{"-server"}, wantFile: "global-server-nomad.pem",
			wantDNS: []string{"server.global.nomad", "localhost"}, wantIPs: []string{"127.0.0.1"}, wantOut: "WARNING: Server Certificates"},
		{name: "client in a region", args: []string{"-client", "-region", "eu"}, wantFile: "eu-client-nomad.pem",
			wantDNS: []string{"client.eu.nomad", "localhost"}, wantIPs: []string{"127.0.0.1"}, wantOut: "Client Certificate saved to eu-client-nomad.pem"},
		{name: "cli", args: []string{"-cli"}, wantFile: "global-cli-nomad.pem", wantDNS: []string{"cli.global.nomad", "localhost"}},
		{name: "additional names", args: []string{"-server", "-additional-dnsname", "s1.example", "-additional-ipaddress", "10.1.2.3"},
			wantFile: "global-server-nomad.pem", wantDNS: []string{"server.global.nomad", "localhost", "s1.example"}, wantIPs: []string{"127.0.0.1", "10.1.2.3"}},
		{name: "no role", wantCode: 1, wantErr: "exactly one of -server, -client or -cli"},
		{name: "two roles", args: []string{"-server", "-client"}, wantCode: 1, wantErr: "exactly one of"},
		{name: "bad ip", args: []string{"-client", "-additional-ipaddress", "nope"}, wantCode: 1, wantErr: "is not an IP address"},
		{name: "missing CA", args: []string{"-server", "-ca", "none.pem"}, wantCode: 1, wantErr: "Error reading CA"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			if c, _, errOut := testCLI(nil); c.run([]string{"tls", "ca", "create"}) != 0 {
				t.Fatalf("ca create: %s", errOut)
			}
			c, out, errOut := testCLI(nil)
			if code := c.run(append([]string{"tls", "cert", "create"}, tc.args...)); code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.wantCode, errOut)
			}
			if !strings.Contains(out.String(), tc.wantOut) || !strings.Contains(errOut.String(), tc.wantErr) {
				t.Fatalf("stdout %q stderr %q, want %q / %q", out, errOut, tc.wantOut, tc.wantErr)
			}
			if tc.wantFile == "" {
				return
			}
			cert := readCert(t, tc.wantFile)
			if strings.Join(cert.DNSNames, ",") != strings.Join(tc.wantDNS, ",") {
				t.Fatalf("DNS names %v, want %v", cert.DNSNames, tc.wantDNS)
			}
			var ips []string
			for _, ip := range cert.IPAddresses {
				ips = append(ips, ip.String())
			}
			if strings.Join(ips, ",") != strings.Join(tc.wantIPs, ",") {
				t.Fatalf("IPs %v, want %v", ips, tc.wantIPs)
			}
			pool := x509.NewCertPool()
			pool.AddCert(readCert(t, "nomad-agent-ca.pem"))
			if _, err := cert.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
				t.Fatalf("not signed by the CA: %v", err)
			}
			keyFile := strings.TrimSuffix(tc.wantFile, ".pem") + "-key.pem"
			if info, err := os.Stat(keyFile); err != nil || info.Mode().Perm() != 0o600 {
				t.Fatalf("key %s: %v %v", keyFile, info, err)
			}
		})
	}
}

func TestGossipKeyringGenerate(t *testing.T) {
	c, out, errOut := testCLI(nil)
	if code := c.run([]string{"operator", "gossip", "keyring", "generate"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(out.String()))
	if err != nil || len(key) != 32 {
		t.Fatalf("generated %q: %v (len %d)", out, err, len(key))
	}
}

func TestGossipKeyringArgs(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"nothing asked", nil, "Exactly one of"},
		{"two operations", []string{"-list", "-install", "k"}, "Exactly one of"},
		{"install without a key", []string{"install"}, "requires one argument"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _, errOut := testCLI(nil)
			if code := c.run(append([]string{"operator", "gossip", "keyring"}, tc.args...)); code != 1 || !strings.Contains(errOut.String(), tc.wantErr) {
				t.Fatalf("exit %d stderr %q, want 1 and %q", code, errOut, tc.wantErr)
			}
		})
	}
}

func TestTLSSettingsFromFlagsAndEnvironment(t *testing.T) {
	cases := []struct {
		name  string
		env   map[string]string
		flags connFlags
		want  api.TLSConfig
	}{
		{"NOMAD_ variables", map[string]string{"NOMAD_CACERT": "n-ca", "NOMAD_CLIENT_CERT": "n-cert", "NOMAD_CLIENT_KEY": "n-key",
			"NOMAD_TLS_SERVER_NAME": "server.global.nomad", "NOMAD_SKIP_VERIFY": "true"},
			connFlags{}, api.TLSConfig{CACert: "n-ca", ClientCert: "n-cert", ClientKey: "n-key", TLSServerName: "server.global.nomad", Insecure: true}},
		{"ROAM_ over NOMAD_", map[string]string{"NOMAD_CACERT": "n-ca", "ROAM_CACERT": "r-ca", "ROAM_SKIP_VERIFY": "false", "NOMAD_SKIP_VERIFY": "true"},
			connFlags{}, api.TLSConfig{CACert: "r-ca"}},
		{"flags over both", map[string]string{"ROAM_CACERT": "r-ca", "ROAM_CLIENT_KEY": "r-key"},
			connFlags{caCert: "f-ca", clientKey: "f-key", tlsSkipVerify: true}, api.TLSConfig{CACert: "f-ca", ClientKey: "f-key", Insecure: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _, _ := testCLI(tc.env)
			c.conn = tc.flags
			var got api.TLSConfig
			c.applyTLS(&got)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("TLS config %+v, want %+v", got, tc.want)
			}
		})
	}
}
