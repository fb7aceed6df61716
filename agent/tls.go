package agent

import (
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/roam-project/roam/tlsutil"
)

// setupTLS loads the tls block's certificates.
func (a *Agent) setupTLS() error {
	if !a.config.TLS.Enabled() {
		return nil
	}
	store, err := tlsutil.NewStore(a.config.TLS, a.config.Region)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	a.tls = store
	if a.config.TLS.HTTP {
		a.proxy = &httpsTransport{store: store}
		a.proxy.reset()
	}
	return nil
}

// rpcTLS is the certificate store for the RPC port, nil unless tls.rpc.
func (a *Agent) rpcTLS() *tlsutil.Store {
	if a.tls == nil || !a.config.TLS.RPC {
		return nil
	}
	return a.tls
}

// ReloadTLS reads the certificate files again (on SIGHUP), the
// ingress's cert_file and key_file included; new connections use them,
// existing ones keep theirs.
func (a *Agent) ReloadTLS() error {
	if err := a.ingress.reloadCerts(); err != nil {
		return err
	}
	if a.tls == nil {
		return nil
	}
	if err := a.tls.Reload(); err != nil {
		return err
	}
	if a.proxy != nil {
		a.proxy.reset()
	}
	return nil
}

// forwardTransport is how a request is forwarded to another agent's HTTP
// API, and the scheme it is sent with.
func (h *httpAPI) forwardTransport() (string, http.RoundTripper) {
	if h.agent == nil || h.agent.proxy == nil {
		return "http", http.DefaultTransport
	}
	return "https", h.agent.proxy
}

// httpsTransport forwards requests over HTTPS with this agent's
// certificate (the leader may require one: verify_https_client), checking
// the leader's against the CA.
type httpsTransport struct {
	store *tlsutil.Store
	cur   atomic.Pointer[http.Transport]
}

// reset starts using the store's current certificates.
func (t *httpsTransport) reset() {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = t.store.Outgoing()
	if old := t.cur.Swap(tr); old != nil {
		old.CloseIdleConnections()
	}
}

// RoundTrip implements http.RoundTripper.
func (t *httpsTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return t.cur.Load().RoundTrip(r)
}
