package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"
)

func TestPeerServerRegion(t *testing.T) {
	ca := newTestCA(t)
	cases := []struct {
		name       string
		opts       CertOptions
		wantRegion string
		wantOK     bool
	}{
		{"a server of west", CertOptions{Role: "server", Region: "west"}, "west", true},
		{"a server of global", CertOptions{Role: "server"}, "global", true},
		{"a client of west", CertOptions{Role: "client", Region: "west"}, "", false},
		{"a cli certificate", CertOptions{Role: "cli", Region: "west"}, "", false},
		{"a client with a server-looking extra name of several labels", CertOptions{Role: "client", DNSNames: []string{"server.a.b.nomad"}}, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			certFile, _ := ca.issue(t, strings.ReplaceAll(tc.name, " ", "-"), tc.opts)
			cs := tls.ConnectionState{PeerCertificates: []*x509.Certificate{parseCert(t, certFile)}}
			region, ok := PeerServerRegion(cs)
			if region != tc.wantRegion || ok != tc.wantOK {
				t.Fatalf("PeerServerRegion = %q, %v; want %q, %v", region, ok, tc.wantRegion, tc.wantOK)
			}
		})
	}
	if _, ok := PeerServerRegion(tls.ConnectionState{}); ok {
		t.Fatal("no certificate named a server")
	}
}
