package ingress

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-project/roam/tlsutil"
)

func TestCertsBySNI(t *testing.T) {
	caPEM, caKey, err := tlsutil.GenerateCA(tlsutil.DefaultCAOptions())
	if err != nil {
		t.Fatal(err)
	}
	issue := func(region string, hosts ...string) map[string]string {
		cert, key, err := tlsutil.GenerateCert(tlsutil.CertOptions{Role: "server", Region: region, Domain: "nomad", Days: 1, DNSNames: hosts}, caPEM, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return map[string]string{"cert": string(cert), "key": string(key)}
	}
	fallbackItems := issue("fallback")
	fallback, err := tls.X509KeyPair([]byte(fallbackItems["cert"]), []byte(fallbackItems["key"]))
	if err != nil {
		t.Fatal(err)
	}
	explicit := issue("explicit", "ignored.test")
	explicit["hosts"] = "api.test, API2.test"
	c := NewCerts(&fallback)
	err = c.Set([]CertVar{
		{Path: CertPrefix + "b_wild", Items: issue("wild", "*.example.test")},
		{Path: CertPrefix + "a_exact", Items: issue("exact", "app.example.test")},
		{Path: CertPrefix + "c_explicit", Items: explicit},
		{Path: CertPrefix + "d_broken", Items: map[string]string{"cert": "x"}},
		{Path: CertPrefix + "e_late", Items: issue("late", "app.example.test")},
	})
	if err == nil || !strings.Contains(err.Error(), "d_broken") || strings.Contains(err.Error(), "a_exact") {
		t.Errorf("Set error = %v, want only the broken variable reported", err)
	}
	cases := []struct {
		name, sni, wantCN string
	}{
		{"exact host", "app.example.test", "server.exact.nomad"},
		{"wildcard one level up", "shop.example.test", "server.wild.nomad"},
		{"wildcard covers one level only", "a.shop.example.test", "server.fallback.nomad"},
		{"hosts item instead of the DNS names", "api2.test", "server.explicit.nomad"},
		{"the DNS names are not used when hosts is set", "ignored.test", "server.fallback.nomad"},
		{"trailing dot and case", "App.Example.Test.", "server.exact.nomad"},
		{"unknown host gets the default certificate", "other.test", "server.fallback.nomad"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cert, err := c.GetCertificate(&tls.ClientHelloInfo{ServerName: tc.sni})
			if err != nil {
				t.Fatal(err)
			}
			if cn := leafCN(t, cert); cn != tc.wantCN {
				t.Fatalf("certificate for %s is %s, want %s", tc.sni, cn, tc.wantCN)
			}
		})
	}
	for host, want := range map[string]string{
		"app.example.test":  CertPrefix + "a_exact", // the first variable by path
		"shop.example.test": CertPrefix + "b_wild",
		"other.test":        FallbackSource,
	} {
		if src := c.Source(host); src != want {
			t.Errorf("certificate for %s comes from %q, want %q", host, src, want)
		}
	}
	if src := NewCerts(nil).Source("x.test"); src != "" {
		t.Errorf("no certificate at all: source %q, want none", src)
	}
	if _, err := NewCerts(nil).GetCertificate(&tls.ClientHelloInfo{ServerName: "x.test"}); err == nil {
		t.Error("no variable and no default certificate: want the handshake refused")
	}
}

func leafCN(t *testing.T, cert *tls.Certificate) string {
	t.Helper()
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf.Subject.CommonName
}

// TestCertsWatchFiles follows cert_file and key_file: a rewrite in place
// and a new pair renamed over the old take effect without a restart; a
// half-written pair (certificate renewed, key not yet) keeps the one in
// use until the key follows.
func TestCertsWatchFiles(t *testing.T) {
	caPEM, caKey, err := tlsutil.GenerateCA(tlsutil.DefaultCAOptions())
	if err != nil {
		t.Fatal(err)
	}
	issue := func(region string) (cert, key []byte) {
		cert, key, err := tlsutil.GenerateCert(tlsutil.CertOptions{Role: "server", Region: region, Domain: "nomad", Days: 1, DNSNames: []string{"x.test"}}, caPEM, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return cert, key
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write := func(path string, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cert, key := issue("first")
	write(certFile, cert)
	write(keyFile, key)
	c := NewCerts(nil)
	if err := c.LoadFiles(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.WatchFiles(ctx, certFile, keyFile, 5*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
	served := func(t *testing.T) string {
		got, err := c.GetCertificate(&tls.ClientHelloInfo{ServerName: "x.test"})
		if err != nil {
			t.Fatal(err)
		}
		return leafCN(t, got)
	}
	waitServed := func(t *testing.T, want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for served(t) != want {
			if time.Now().After(deadline) {
				t.Fatalf("serving %s, want %s", served(t), want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	cases := []struct {
		name   string
		change func()
		want   string
	}{
		{"rewritten in place", func() {
			cert, key := issue("second")
			write(certFile, cert)
			write(keyFile, key)
		}, "server.second.nomad"},
		{"half written: the one in use stays", func() {
			cert, _ := issue("third")
			write(certFile, cert)
			time.Sleep(50 * time.Millisecond) // several checks see the mismatch
		}, "server.second.nomad"},
		{"new pair renamed over the old", func() {
			cert, key := issue("fourth")
			write(certFile+".new", cert)
			write(keyFile+".new", key)
			if err := os.Rename(keyFile+".new", keyFile); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(certFile+".new", certFile); err != nil {
				t.Fatal(err)
			}
		}, "server.fourth.nomad"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.change()
			waitServed(t, tc.want)
		})
	}
}
