// Package tlsutil builds the TLS configurations of a Roam agent from its
// `tls` block: HTTPS for the HTTP API, mutual TLS for the RPC port (Raft and
// RPC), and the dialing side of both. Certificates are read from files and
// can be reloaded while connections keep being served (SIGHUP).
package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
)

// Config is the agent's `tls` block.
type Config struct {
	HTTP bool // HTTPS on the HTTP port
	RPC  bool // mutual TLS on the RPC port, and when dialing servers
	// CAFile, CertFile and KeyFile are PEM files: the CA that signs every
	// agent's certificate, and this agent's certificate and key.
	CAFile, CertFile, KeyFile string
	// VerifyServerHostname makes dialers check that a server's certificate
	// names server.<region>.nomad, and refuses RPC peers whose certificate
	// names no role.
	VerifyServerHostname bool
	// VerifyHTTPSClient requires HTTPS clients to present a certificate
	// signed by the CA.
	VerifyHTTPSClient bool
	// MinVersion is tls_min_version: "tls10", "tls11", "tls12" (the
	// default) or "tls13".
	MinVersion string
	// RPCUpgradeMode and CipherSuites are Nomad settings Roam does not
	// implement; Check refuses them rather than ignore them.
	RPCUpgradeMode bool
	CipherSuites   string
}

// minVersions are the tls_min_version values, as Nomad's.
var minVersions = map[string]uint16{"": tls.VersionTLS12, "tls10": tls.VersionTLS10,
	"tls11": tls.VersionTLS11, "tls12": tls.VersionTLS12, "tls13": tls.VersionTLS13}

// minVersion is the configured lowest TLS version.
func (c Config) minVersion() uint16 { return minVersions[c.MinVersion] }

// Enabled reports whether TLS is on for HTTP or RPC.
func (c Config) Enabled() bool { return c.HTTP || c.RPC }

// Check reports settings an agent cannot start with: TLS on without the
// three files, or files that cannot be read or do not parse.
func (c Config) Check() error {
	var errs []error
	if _, ok := minVersions[c.MinVersion]; !ok {
		errs = append(errs, fmt.Errorf("tls.tls_min_version %q: want tls10, tls11, tls12 or tls13", c.MinVersion))
	}
	if c.RPCUpgradeMode {
		errs = append(errs, errors.New("tls.rpc_upgrade_mode is not supported: an RPC port with tls.rpc = true accepts TLS only"))
	}
	if c.CipherSuites != "" {
		errs = append(errs, errors.New("tls.tls_cipher_suites is not supported: Roam uses Go's default cipher suites; remove the setting"))
	}
	if !c.Enabled() {
		return errors.Join(errs...)
	}
	for _, f := range []struct{ name, path string }{
		{"tls.ca_file", c.CAFile}, {"tls.cert_file", c.CertFile}, {"tls.key_file", c.KeyFile},
	} {
		if f.path == "" {
			errs = append(errs, fmt.Errorf("%s must be set when tls.http or tls.rpc is enabled", f.name))
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.name, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	_, err := load(c)
	return err
}

// material is one loaded set of certificates.
type material struct {
	cert *tls.Certificate
	pool *x509.CertPool
}

// load reads the CA, certificate and key files.
func load(c Config) (*material, error) {
	caPEM, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, fmt.Errorf("tls.ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("tls.ca_file %s: no PEM certificate found", c.CAFile)
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls.cert_file %s / tls.key_file %s: %w", c.CertFile, c.KeyFile, err)
	}
	return &material{cert: &cert, pool: pool}, nil
}

// Store holds an agent's current certificates and hands out TLS
// configurations that always use them, so a Reload reaches new connections
// without restarting listeners.
type Store struct {
	cfg    Config
	region string
	mu     sync.RWMutex
	cur    *material
}

// NewStore loads the files the configuration names. region gives the role
// names: server.<region>.nomad and client.<region>.nomad.
func NewStore(cfg Config, region string) (*Store, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	m, err := load(cfg)
	if err != nil {
		return nil, err
	}
	return &Store{cfg: cfg, region: region, cur: m}, nil
}

// Config is the configuration the store was built from.
func (s *Store) Config() Config { return s.cfg }

// Reload reads the files again; on error the old certificates stay in use.
func (s *Store) Reload() error {
	m, err := load(s.cfg)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.cur = m
	s.mu.Unlock()
	return nil
}

func (s *Store) current() *material {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cur
}

// ServerName is the name a server's certificate carries.
func (s *Store) ServerName() string { return RoleName(RoleServer, s.region) }

// IncomingRPC is the configuration of the RPC port's accepting side: it
// requires a client certificate signed by the CA.
func (s *Store) IncomingRPC() *tls.Config {
	return s.incoming(tls.RequireAndVerifyClientCert)
}

// IncomingHTTP is the HTTPS configuration: a client certificate is
// required only with verify_https_client.
func (s *Store) IncomingHTTP() *tls.Config {
	auth := tls.NoClientCert
	if s.cfg.VerifyHTTPSClient {
		auth = tls.RequireAndVerifyClientCert
	}
	return s.incoming(auth)
}

func (s *Store) incoming(auth tls.ClientAuthType) *tls.Config {
	return &tls.Config{
		MinVersion: s.cfg.minVersion(),
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			m := s.current()
			return &tls.Config{
				MinVersion:   s.cfg.minVersion(),
				Certificates: []tls.Certificate{*m.cert},
				ClientCAs:    m.pool,
				ClientAuth:   auth,
			}, nil
		},
	}
}

// Outgoing is the configuration for dialing a server, on its RPC port or
// its HTTPS API: this agent's certificate, the CA, and with
// verify_server_hostname a check that the server's certificate names
// server.<region>.nomad.
func (s *Store) Outgoing() *tls.Config { return s.OutgoingRegion(s.region) }

// OutgoingRegion is Outgoing for dialing a server of region, whose
// certificate names server.<region>.nomad.
func (s *Store) OutgoingRegion(region string) *tls.Config {
	m := s.current()
	cfg := &tls.Config{
		MinVersion: s.cfg.minVersion(),
		// Always present the certificate, even one the server's CA list
		// does not name, so that a refusal is logged with its reason
		// (signed by an unknown authority) rather than as no certificate.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return m.cert, nil },
		RootCAs:              m.pool,
		ServerName:           RoleName(RoleServer, region),
	}
	if !s.cfg.VerifyServerHostname {
		// The chain is still verified against the CA; only the name is not.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifyChain(cs, m.pool, x509.ExtKeyUsageServerAuth)
		}
	}
	return cfg
}

// verifyChain checks the peer's certificate against the CA without
// checking its name.
func verifyChain(cs tls.ConnectionState, pool *x509.CertPool, usage x509.ExtKeyUsage) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tls: peer presented no certificate")
	}
	opts := x509.VerifyOptions{Roots: pool, Intermediates: x509.NewCertPool(), KeyUsages: []x509.ExtKeyUsage{usage}}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(opts)
	return err
}

// Role is what a verified certificate entitles its holder to.
type Role string

// Roles named by certificates.
const (
	RoleNone   Role = ""
	RoleServer Role = "server"
	RoleClient Role = "client"
)

// RoleName is the DNS name a certificate of role carries in region.
func RoleName(role Role, region string) string {
	return string(role) + "." + region + ".nomad"
}

// PeerRole is the role a verified peer certificate names: server for
// server.<region>.nomad, client for client.<region>.nomad, none otherwise.
func PeerRole(cs tls.ConnectionState, region string) Role {
	if len(cs.PeerCertificates) == 0 {
		return RoleNone
	}
	leaf := cs.PeerCertificates[0]
	for _, r := range []Role{RoleServer, RoleClient} {
		if leaf.VerifyHostname(RoleName(r, region)) == nil {
			return r
		}
	}
	return RoleNone
}

// PeerServerRegion is the region of a verified peer certificate that
// names server.<region>.nomad for some region; ok is false when it names
// no server.
func PeerServerRegion(cs tls.ConnectionState) (region string, ok bool) {
	if len(cs.PeerCertificates) == 0 {
		return "", false
	}
	for _, name := range cs.PeerCertificates[0].DNSNames {
		rest, found := strings.CutPrefix(name, string(RoleServer)+".")
		if !found {
			continue
		}
		if region, found := strings.CutSuffix(rest, ".nomad"); found && region != "" && !strings.Contains(region, ".") {
			return region, true
		}
	}
	return "", false
}
