package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/roam-project/roam/tlsutil"
)

// certStore returns a store holding a certificate of role signed by the
// CA caPEM/caKey.
func certStore(t *testing.T, caPEM, caKey []byte, role string) *tlsutil.Store {
	t.Helper()
	return certStoreFrom(t, caPEM, caKey, tlsutil.CertOptions{Role: role, Region: "global", Domain: "nomad", Days: 30})
}

func certStoreFrom(t *testing.T, caPEM, caKey []byte, o tlsutil.CertOptions) *tlsutil.Store {
	t.Helper()
	dir := t.TempDir()
	cert, key, err := tlsutil.GenerateCert(o, caPEM, caKey)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"ca.pem": caPEM, "cert.pem": cert, "key.pem": key}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s, err := tlsutil.NewStore(tlsutil.Config{RPC: true, VerifyServerHostname: true, CAFile: filepath.Join(dir, "ca.pem"),
		CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem")}, "global")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tlsSecurity authenticates peers by the role their certificate names.
func tlsSecurity(store *tlsutil.Store) Security {
	sec := testSecurity()
	sec.TLS = store.IncomingRPC()
	sec.Authenticate = func(ci ConnInfo) (Peer, error) {
		if ci.TLS == nil {
			return Peer{}, errors.New("no TLS")
		}
		switch tlsutil.PeerRole(*ci.TLS, "global") {
		case tlsutil.RoleServer:
			return Peer{Role: RoleServer}, nil
		case tlsutil.RoleClient:
			return Peer{Role: RoleClient}, nil
		}
		return Peer{}, errors.New("certificate names no role")
	}
	sec.Dial = DialConfig{Role: RoleServer, TLS: store.Outgoing}
	return sec
}

func TestTLSPort(t *testing.T) {
	caPEM, caKey, err := tlsutil.GenerateCA(tlsutil.DefaultCAOptions())
	if err != nil {
		t.Fatal(err)
	}
	otherCA, otherKey, err := tlsutil.GenerateCA(tlsutil.DefaultCAOptions())
	if err != nil {
		t.Fatal(err)
	}
	m, logs := startMuxWith(t, tlsSecurity(certStore(t, caPEM, caKey, "server")))
	tlsDial := func(s *tlsutil.Store, role string) DialConfig {
		return DialConfig{Role: role, TLS: s.Outgoing}
	}
	cases := []struct {
		name    string
		dial    DialConfig
		method  string
		wantErr string
		wantLog string
	}{
		{"server certificate calls a server method", tlsDial(certStore(t, caPEM, caKey, "server"), RoleServer), "Echo.Secret", "", ""},
		{"client certificate may not, whatever it claims", tlsDial(certStore(t, caPEM, caKey, "client"), RoleServer), "Echo.Secret", "Permission denied", "refused RPC call"},
		{"cli certificate is refused", tlsDial(certStore(t, caPEM, caKey, "cli"), RoleClient), "Echo.Say", "certificate names no role", "certificate names no role"},
		{"certificate of another CA is refused", tlsDial(certStore(t, otherCA, otherKey, "server"), RoleServer), "Echo.Say", "handshake", "TLS handshake failed"},
		{"expired certificate is refused", tlsDial(certStoreFrom(t, caPEM, caKey, tlsutil.CertOptions{Role: "server", Region: "global",
			Domain: "nomad", Days: 1, NotBefore: time.Now().Add(-72 * time.Hour)}), RoleServer), "Echo.Say", "handshake", "certificate has expired"},
		{"plain text is refused", serverDial, "Echo.Say", "EOF", "plain-text connection to an RPC port that requires TLS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pool := NewPool(tc.dial)
			defer pool.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var reply EchoReply
			err := pool.Call(ctx, m.Addr().String(), tc.method, &EchoArgs{Msg: "x"}, &reply)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("call: %v, want an error with %q", err, tc.wantErr)
			}
			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(logs.String(), tc.wantLog) {
				if time.Now().After(deadline) {
					t.Fatalf("no log line with %q:\n%s", tc.wantLog, logs.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}

	t.Run("TLS to a plain port is refused", func(t *testing.T) {
		plain, plainLogs := startMux(t)
		pool := NewPool(tlsDial(certStore(t, caPEM, caKey, "server"), RoleServer))
		defer pool.Close()
		if err := pool.Call(context.Background(), plain.Addr().String(), "Echo.Say", &EchoArgs{}, &EchoReply{}); err == nil {
			t.Fatal("TLS call to a plain port succeeded")
		}
		if !strings.Contains(plainLogs.String(), "TLS connection to an RPC port without TLS") {
			t.Fatalf("no log line: %s", plainLogs.String())
		}
	})

	t.Run("Raft rides inside TLS", func(t *testing.T) {
		layer := m.RaftLayer()
		accepted := make(chan net.Conn, 1)
		go func() {
			if c, err := layer.Accept(); err == nil {
				accepted <- c
			}
		}()
		conn, err := layer.Dial(raft.ServerAddress(m.Addr().String()), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, ok := conn.(*tls.Conn); !ok {
			t.Fatalf("raft connection is %T, want TLS", conn)
		}
		if _, err := conn.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		select {
		case c := <-accepted:
			buf := make([]byte, 4)
			if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
				t.Fatalf("raft side read %q, %v", buf, err)
			}
			c.Close()
		case <-time.After(5 * time.Second):
			t.Fatal("raft connection not handed over")
		}
	})
}
