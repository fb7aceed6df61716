package tlsutil

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testCA is a CA written to a temp dir, able to sign certificates.
type testCA struct {
	dir          string
	certPEM, key []byte
	certFile     string
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	cert, key, err := GenerateCA(DefaultCAOptions())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca := &testCA{dir: dir, certPEM: cert, key: key, certFile: filepath.Join(dir, "ca.pem")}
	write(t, ca.certFile, cert)
	return ca
}

// issue writes a certificate and key for o and returns their paths.
func (ca *testCA) issue(t *testing.T, name string, o CertOptions) (string, string) {
	t.Helper()
	if o.Region == "" {
		o.Region = "global"
	}
	if o.Domain == "" {
		o.Domain = "nomad"
	}
	if o.Days == 0 {
		o.Days = 365
	}
	cert, key, err := GenerateCert(o, ca.certPEM, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(ca.dir, name+".pem"), filepath.Join(ca.dir, name+"-key.pem")
	write(t, certFile, cert)
	write(t, keyFile, key)
	return certFile, keyFile
}

func (ca *testCA) store(t *testing.T, name string, o CertOptions, verifyHostname bool) *Store {
	t.Helper()
	certFile, keyFile := ca.issue(t, name, o)
	s, err := NewStore(Config{RPC: true, HTTP: true, CAFile: ca.certFile, CertFile: certFile, KeyFile: keyFile,
		VerifyServerHostname: verifyHostname, VerifyHTTPSClient: true}, "global")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func parseCert(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(raw)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGeneratedCertificatesCarryNomadsNames(t *testing.T) {
	ca := newTestCA(t)
	caCert := parseCert(t, ca.certFile)
	if !caCert.IsCA || !strings.HasPrefix(caCert.Subject.CommonName, "Nomad Agent CA ") || caCert.Subject.Organization[0] != "HashiCorp Inc." {
		t.Fatalf("CA subject = %v", caCert.Subject)
	}
	cases := []struct {
		name    string
		opts    CertOptions
		wantDNS []string
		wantIPs []string
	}{
		{"server", CertOptions{Role: "server"}, []string{"server.global.nomad", "localhost"}, []string{"127.0.0.1"}},
		{"client in another region", CertOptions{Role: "client", Region: "eu"}, []string{"client.eu.nomad", "localhost"}, []string{"127.0.0.1"}},
		{"cli", CertOptions{Role: "cli"}, []string{"cli.global.nomad", "localhost"}, nil},
		{"extra names", CertOptions{Role: "server", DNSNames: []string{"s1.example"}, IPAddresses: []net.IP{net.ParseIP("10.0.0.1")}},
			[]string{"server.global.nomad", "localhost", "s1.example"}, []string{"127.0.0.1", "10.0.0.1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			certFile, _ := ca.issue(t, strings.ReplaceAll(tc.name, " ", "-"), tc.opts)
			c := parseCert(t, certFile)
			if c.Subject.CommonName != tc.wantDNS[0] || strings.Join(c.DNSNames, ",") != strings.Join(tc.wantDNS, ",") {
				t.Fatalf("CN %q DNS %v, want %v", c.Subject.CommonName, c.DNSNames, tc.wantDNS)
			}
			var ips []string
			for _, ip := range c.IPAddresses {
				ips = append(ips, ip.String())
			}
			if strings.Join(ips, ",") != strings.Join(tc.wantIPs, ",") {
				t.Fatalf("IPs %v, want %v", ips, tc.wantIPs)
			}
			if _, err := c.Verify(x509.VerifyOptions{Roots: poolOf(caCert), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
				t.Fatalf("not signed by the CA: %v", err)
			}
		})
	}
	if _, _, err := GenerateCert(CertOptions{Role: "admin", Region: "global", Domain: "nomad", Days: 1}, ca.certPEM, ca.key); err == nil {
		t.Fatal("unknown role accepted")
	}
}

func poolOf(c *x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c)
	return p
}

func TestCheckNamesTheBadSetting(t *testing.T) {
	ca := newTestCA(t)
	certFile, keyFile := ca.issue(t, "server", CertOptions{Role: "server"})
	garbage := filepath.Join(ca.dir, "garbage.pem")
	write(t, garbage, []byte("not a certificate"))
	cases := []struct {
		name string
		cfg  Config
		want string // "" = valid
	}{
		{"off needs nothing", Config{}, ""},
		{"complete", Config{RPC: true, CAFile: ca.certFile, CertFile: certFile, KeyFile: keyFile}, ""},
		{"missing ca file", Config{HTTP: true, CAFile: filepath.Join(ca.dir, "nope.pem"), CertFile: certFile, KeyFile: keyFile}, "tls.ca_file"},
		{"unset key", Config{RPC: true, CAFile: ca.certFile, CertFile: certFile}, "tls.key_file must be set"},
		{"ca not PEM", Config{RPC: true, CAFile: garbage, CertFile: certFile, KeyFile: keyFile}, "no PEM certificate"},
		{"key of another cert", Config{RPC: true, CAFile: ca.certFile, CertFile: certFile, KeyFile: garbage}, "tls.cert_file"},
		{"unknown minimum version", Config{RPC: true, CAFile: ca.certFile, CertFile: certFile, KeyFile: keyFile, MinVersion: "ssl3"}, "tls.tls_min_version"},
		{"upgrade mode is not silently ignored", Config{RPC: true, CAFile: ca.certFile, CertFile: certFile, KeyFile: keyFile, RPCUpgradeMode: true}, "rpc_upgrade_mode is not supported"},
		{"cipher suites are not silently ignored", Config{RPC: true, CAFile: ca.certFile, CertFile: certFile, KeyFile: keyFile, CipherSuites: "TLS_AES_128_GCM_SHA256"}, "tls_cipher_suites is not supported"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Check()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check: %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

// handshake runs a TLS handshake between a client and a server
// configuration over loopback TCP and returns each side's error.
func handshake(t *testing.T, server, client *tls.Config) (serverErr, clientErr error, state tls.ConnectionState) {
	t.Helper()
	a, b := tcpPair(t)
	var wg sync.WaitGroup
	wg.Add(1)
	srv := tls.Server(a, server)
	go func() {
		defer wg.Done()
		serverErr = srv.Handshake()
		if serverErr != nil {
			a.Close()
		}
	}()
	cl := tls.Client(b, client)
	clientErr = cl.Handshake()
	if clientErr != nil {
		b.Close()
	}
	wg.Wait()
	return serverErr, clientErr, srv.ConnectionState()
}

// tcpPair is two ends of a loopback TCP connection, closed at cleanup.
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	b, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []net.Conn{a, b} {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		t.Cleanup(func() { c.Close() })
	}
	return a, b
}

func TestRPCHandshakes(t *testing.T) {
	ca := newTestCA(t)
	other := newTestCA(t)
	server := ca.store(t, "server", CertOptions{Role: "server"}, true)
	cases := []struct {
		name     string
		dialer   *Store
		wantRole Role
		wantErr  string
	}{
		{"server to server", ca.store(t, "server2", CertOptions{Role: "server"}, true), RoleServer, ""},
		{"client to server", ca.store(t, "client", CertOptions{Role: "client"}, true), RoleClient, ""},
		{"cli certificate names no role", ca.store(t, "cli", CertOptions{Role: "cli"}, true), RoleNone, ""},
		{"certificate of another CA", other.store(t, "rogue", CertOptions{Role: "server"}, true), RoleNone, "certificate"},
		{"expired certificate", ca.store(t, "expired", CertOptions{Role: "server", Days: 1, NotBefore: time.Now().Add(-72 * time.Hour)}, true), RoleNone, "expired"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			serverErr, clientErr, state := handshake(t, server.IncomingRPC(), tc.dialer.Outgoing())
			if tc.wantErr != "" {
				if serverErr == nil || !strings.Contains(serverErr.Error(), tc.wantErr) {
					t.Fatalf("server side: %v, want an error about %q", serverErr, tc.wantErr)
				}
				return
			}
			if serverErr != nil || clientErr != nil {
				t.Fatalf("handshake: server %v, client %v", serverErr, clientErr)
			}
			if got := PeerRole(state, "global"); got != tc.wantRole {
				t.Fatalf("role = %q, want %q", got, tc.wantRole)
			}
		})
	}
}

func TestMinVersion(t *testing.T) {
	ca := newTestCA(t)
	certFile, keyFile := ca.issue(t, "server13", CertOptions{Role: "server"})
	server, err := NewStore(Config{RPC: true, CAFile: ca.certFile, CertFile: certFile, KeyFile: keyFile, MinVersion: "tls13"}, "global")
	if err != nil {
		t.Fatal(err)
	}
	client := ca.store(t, "client", CertOptions{Role: "client"}, true)
	cases := []struct {
		name    string
		max     uint16
		wantErr bool
	}{
		{"TLS 1.3 client", tls.VersionTLS13, false},
		{"TLS 1.2 client refused by tls_min_version = tls13", tls.VersionTLS12, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := client.Outgoing()
			cfg.MaxVersion = tc.max
			serverErr, _, _ := handshake(t, server.IncomingRPC(), cfg)
			if (serverErr != nil) != tc.wantErr {
				t.Fatalf("server side: %v, want error %v", serverErr, tc.wantErr)
			}
		})
	}
}

func TestVerifyServerHostname(t *testing.T) {
	ca := newTestCA(t)
	client := ca.store(t, "client", CertOptions{Role: "client"}, true)
	lax := ca.store(t, "client-lax", CertOptions{Role: "client"}, false)
	cases := []struct {
		name    string
		server  *Store
		dialer  *Store
		wantErr bool
	}{
		{"a server certificate is accepted", ca.store(t, "server", CertOptions{Role: "server"}, true), client, false},
		{"a client certificate posing as a server is refused", ca.store(t, "client-as-server", CertOptions{Role: "client"}, true), client, true},
		{"without verify_server_hostname only the CA is checked", ca.store(t, "client-as-server2", CertOptions{Role: "client"}, true), lax, false},
		{"without verify_server_hostname another CA is still refused", newTestCA(t).store(t, "rogue", CertOptions{Role: "server"}, true), lax, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, clientErr, _ := handshake(t, tc.server.IncomingRPC(), tc.dialer.Outgoing())
			if (clientErr != nil) != tc.wantErr {
				t.Fatalf("dialer side: %v, want error %v", clientErr, tc.wantErr)
			}
		})
	}
}

func TestReloadServesTheNewCertificate(t *testing.T) {
	ca := newTestCA(t)
	certFile, keyFile := ca.issue(t, "server", CertOptions{Role: "server"})
	s, err := NewStore(Config{RPC: true, CAFile: ca.certFile, CertFile: certFile, KeyFile: keyFile}, "global")
	if err != nil {
		t.Fatal(err)
	}
	client := ca.store(t, "client", CertOptions{Role: "client"}, true)
	incoming := s.IncomingRPC() // built once, as a listener holds it
	serial := func() string {
		_, clientErr, _ := handshake(t, incoming, client.Outgoing())
		if clientErr != nil {
			t.Fatal(clientErr)
		}
		return parseCert(t, certFile).SerialNumber.String()
	}
	before := serial()
	// A new certificate in the same files, then a reload.
	newCert, newKey := ca.issue(t, "server-next", CertOptions{Role: "server", DNSNames: []string{"next.example"}})
	copyFile(t, newCert, certFile)
	copyFile(t, newKey, keyFile)
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	a, b := tcpPair(t)
	go func() { _ = tls.Server(a, incoming).Handshake() }()
	cl := tls.Client(b, client.Outgoing())
	if err := cl.Handshake(); err != nil {
		t.Fatal(err)
	}
	served := cl.ConnectionState().PeerCertificates[0]
	if served.SerialNumber.String() == before || !contains(served.DNSNames, "next.example") {
		t.Fatalf("after reload the old certificate is served (%v)", served.DNSNames)
	}
	// A broken file keeps the old certificate in use.
	write(t, certFile, []byte("broken"))
	if err := s.Reload(); err == nil {
		t.Fatal("reload of a broken certificate succeeded")
	}
	if _, clientErr, _ := handshake(t, incoming, client.Outgoing()); clientErr != nil {
		t.Fatalf("after a failed reload: %v", clientErr)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	raw, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	write(t, to, raw)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// syncBuffer is a log sink safe for the listener's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestHTTPSListenerRefusesWithAReason(t *testing.T) {
	ca := newTestCA(t)
	server := ca.store(t, "server", CertOptions{Role: "server"}, true)
	logs := &syncBuffer{}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := NewListener(inner, server.IncomingHTTP(), slog.New(slog.NewTextHandler(logs, nil)))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	go srv.Serve(ln)
	defer srv.Close()
	addr := ln.Addr().String()

	t.Run("plain HTTP gets a 400 and a log line", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain request: %v %v", resp, err)
		}
		waitLog(t, logs, "refused plain-text connection to the HTTPS port")
	})
	cases := []struct {
		name    string
		dialer  *Store
		wantErr string // "" = served; else the reason logged
	}{
		{"client certificate of the CA", ca.store(t, "client", CertOptions{Role: "client"}, true), ""},
		{"client certificate of another CA", newTestCA(t).store(t, "rogue", CertOptions{Role: "client"}, false), "TLS handshake failed"},
		{"expired client certificate", ca.store(t, "expired", CertOptions{Role: "cli", Days: 1, NotBefore: time.Now().Add(-72 * time.Hour)}, true), "expired"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.dialer.Outgoing()
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 5 * time.Second}
			resp, err := client.Get("https://" + addr + "/")
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return
			}
			if err == nil {
				resp.Body.Close()
				t.Fatal("request with a bad certificate was served")
			}
			waitLog(t, logs, tc.wantErr)
		})
	}
}

func waitLog(t *testing.T, logs *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q in:\n%s", want, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
