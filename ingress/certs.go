package ingress

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/nomad/api"
)

// CertPrefix is where the ingress's certificates live as variables (in
// the default namespace): nomad/ingress/certs/<name>, with the items
// "cert" and "key" (PEM) and optionally "hosts" (comma-separated; by
// default the certificate's DNS names).
const CertPrefix = "nomad/ingress/certs/"

// Certs chooses the ingress's TLS certificate by the name the client asks
// for (SNI): a certificate from the variables for that host (exactly, or a
// wildcard "*.example.com" one level up), else the default one (from
// cert_file and key_file), if any. Its table is swapped whole when the
// variables change, so handshakes never wait on a reload.
type Certs struct {
	fallback atomic.Pointer[tls.Certificate]
	// files is the certificate and key fallback was made from, when it
	// came from files: what WatchFiles tells a change by.
	files atomic.Pointer[[2][]byte]
	table atomic.Pointer[certTable]
}

// certTable is one set of certificates by host (lower case).
type certTable struct {
	byHost map[string]*tls.Certificate
	// sources names, by host, the variable each certificate came from.
	sources map[string]string
}

// NewCerts returns a chooser with no variable certificates; fallback (nil
// for none) answers names no variable covers.
func NewCerts(fallback *tls.Certificate) *Certs {
	c := &Certs{}
	c.fallback.Store(fallback)
	c.table.Store(&certTable{})
	return c
}

// LoadFiles reads the default certificate from certFile and keyFile (PEM)
// and starts using it for new handshakes; on an error the one in use
// stays.
func (c *Certs) LoadFiles(certFile, keyFile string) error {
	pair, err := readPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("load ingress certificate: %w", err)
	}
	return c.setPair(pair, certFile)
}

// setPair starts using the certificate and key in pair (PEM, read from
// certFile).
func (c *Certs) setPair(pair [2][]byte, certFile string) error {
	cert, err := tls.X509KeyPair(pair[0], pair[1])
	if err != nil {
		return fmt.Errorf("load ingress certificate %s: %w", certFile, err)
	}
	c.fallback.Store(&cert)
	c.files.Store(&pair)
	return nil
}

// WatchFiles reloads the default certificate when the contents of
// certFile or keyFile change (both are small: they are read every
// interval, which also catches a pair renamed over the old one), until
// ctx ends. A pair that does not load (a renewal half written) is
// reported and retried at the next change; the certificate in use stays
// meanwhile.
func (c *Certs) WatchFiles(ctx context.Context, certFile, keyFile string, every time.Duration, logger *slog.Logger) {
	var failed [2][]byte // the last pair that did not load
	for sleep(ctx, every) {
		now, err := readPair(certFile, keyFile)
		if err != nil || samePair(now, failed) {
			continue // a file missing for a moment (being replaced) waits
		}
		if in := c.files.Load(); in != nil && samePair(now, *in) {
			continue
		}
		if err := c.setPair(now, certFile); err != nil {
			failed = now
			logger.Warn("reload ingress certificate; the one in use stays", "error", err)
			continue
		}
		logger.Info("reloaded ingress certificate", "cert_file", certFile)
	}
}

func samePair(a, b [2][]byte) bool { return bytes.Equal(a[0], b[0]) && bytes.Equal(a[1], b[1]) }

// readPair reads the certificate and key files.
func readPair(certFile, keyFile string) ([2][]byte, error) {
	var pair [2][]byte
	var err error
	if pair[0], err = os.ReadFile(certFile); err != nil {
		return pair, err
	}
	pair[1], err = os.ReadFile(keyFile)
	return pair, err
}

// TLSConfig returns a server configuration that picks certificates by SNI.
func (c *Certs) TLSConfig() *tls.Config {
	return &tls.Config{GetCertificate: c.GetCertificate, MinVersion: tls.VersionTLS12}
}

// GetCertificate is tls.Config.GetCertificate.
func (c *Certs) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if cert, _ := c.lookup(hello.ServerName); cert != nil {
		return cert, nil
	}
	return nil, fmt.Errorf("ingress: no certificate for %q", hello.ServerName)
}

// FallbackSource is what Source names the default certificate by.
const FallbackSource = "cert_file"

// Source names where the certificate for host comes from: a variable's
// path, FallbackSource, or "" when there is none.
func (c *Certs) Source(host string) string {
	_, src := c.lookup(host)
	return src
}

// lookup finds the certificate for a server name: exact, then a wildcard
// one level up, then the default.
func (c *Certs) lookup(serverName string) (*tls.Certificate, string) {
	name := strings.ToLower(strings.TrimSuffix(serverName, "."))
	t := c.table.Load()
	if cert := t.byHost[name]; cert != nil {
		return cert, t.sources[name]
	}
	if _, parent, ok := strings.Cut(name, "."); ok {
		if cert := t.byHost["*."+parent]; cert != nil {
			return cert, t.sources["*."+parent]
		}
	}
	if fb := c.fallback.Load(); fb != nil {
		return fb, FallbackSource
	}
	return nil, ""
}

// CertVar is a certificate variable's path and items.
type CertVar struct {
	Path  string
	Items map[string]string
}

// Set replaces the variable certificates. A variable whose items do not
// make a certificate and key is left out and reported in the error (the
// others still apply); of two variables naming one host, the first by path
// keeps it.
func (c *Certs) Set(vars []CertVar) error {
	sort.Slice(vars, func(i, j int) bool { return vars[i].Path < vars[j].Path })
	t := &certTable{byHost: map[string]*tls.Certificate{}, sources: map[string]string{}}
	var errs []error
	for _, v := range vars {
		cert, hosts, err := parseCertVar(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("variable %s: %w", v.Path, err))
			continue
		}
		for _, h := range hosts {
			if _, taken := t.byHost[h]; !taken {
				t.byHost[h], t.sources[h] = cert, v.Path
			}
		}
	}
	c.table.Store(t)
	return errors.Join(errs...)
}

// parseCertVar reads one variable's certificate and the hosts it serves.
func parseCertVar(v CertVar) (*tls.Certificate, []string, error) {
	if v.Items["cert"] == "" || v.Items["key"] == "" {
		return nil, nil, errors.New(`needs the items "cert" and "key" (PEM)`)
	}
	cert, err := tls.X509KeyPair([]byte(v.Items["cert"]), []byte(v.Items["key"]))
	if err != nil {
		return nil, nil, err
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, nil, err
	}
	cert.Leaf = leaf
	names := leaf.DNSNames
	if h := v.Items["hosts"]; h != "" {
		names = strings.Split(h, ",")
	}
	var hosts []string
	for _, n := range names {
		if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
			hosts = append(hosts, n)
		}
	}
	if len(hosts) == 0 {
		return nil, nil, errors.New(`the certificate names no DNS host and there is no "hosts" item`)
	}
	return &cert, hosts, nil
}

// Watch keeps the certificates current from the variables under
// CertPrefix: a blocking query on their list wakes when one is written or
// deleted, and the set is read again and swapped in. It returns when ctx
// ends.
func (c *Certs) Watch(ctx context.Context, client *api.Client, logger *slog.Logger) {
	var index uint64
	for ctx.Err() == nil {
		q := (&api.QueryOptions{Namespace: "default", WaitIndex: index, WaitTime: blockingWait}).WithContext(ctx)
		metas, meta, err := client.Variables().PrefixList(CertPrefix, q)
		if err != nil {
			if ctx.Err() == nil {
				logger.Warn("list ingress certificate variables", "error", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		if meta.LastIndex == index {
			continue
		}
		vars, err := readCertVars(ctx, client, metas)
		if err != nil {
			if ctx.Err() == nil {
				logger.Warn("read ingress certificate variables", "error", err)
				sleep(ctx, time.Second)
			}
			continue // the certificates in use stay
		}
		if err := c.Set(vars); err != nil {
			logger.Warn("ingress certificates left out", "error", err)
		}
		index = meta.LastIndex
		logger.Info("ingress certificates loaded", "variables", len(vars), "hosts", len(c.table.Load().sources))
	}
}

// readCertVars reads the listed variables' items.
func readCertVars(ctx context.Context, client *api.Client, metas []*api.VariableMetadata) ([]CertVar, error) {
	var vars []CertVar
	for _, m := range metas {
		v, _, err := client.Variables().Read(m.Path, (&api.QueryOptions{Namespace: "default"}).WithContext(ctx))
		if errors.Is(err, api.ErrVariablePathNotFound) {
			continue // deleted since the list
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.Path, err)
		}
		vars = append(vars, CertVar{Path: v.Path, Items: v.Items})
	}
	return vars, nil
}
