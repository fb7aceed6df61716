package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/ingress"
)

// defaultIngressPort is the ingress's port when `http_port` is left out.
const defaultIngressPort = 80

// ingressServer is the agent's ingress: the proxy, its listener and the
// watcher that keeps its routes.
type ingressServer struct {
	proxy  *ingress.Proxy
	http   *http.Server
	cancel context.CancelFunc
}

// startIngress starts the ingress when `client { ingress { enabled } }`:
// it reads the service catalogue through this agent's own HTTP API.
func (a *Agent) startIngress(ctx context.Context) error {
	cfg := a.config.Client.Ingress
	if !cfg.Enabled {
		return nil
	}
	port := cfg.HTTPPort
	if port == 0 {
		port = defaultIngressPort
	}
	addr := net.JoinHostPort(a.config.Addresses.HTTP, strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("start ingress on %s: %w", addr, err)
	}
	apiCfg := &api.Config{Address: "http://" + a.selfAddr(), SecretID: cfg.Token}
	if a.config.TLS.HTTP {
		apiCfg.Address = "https://" + a.selfAddr()
		apiCfg.TLSConfig = &api.TLSConfig{CACert: a.config.TLS.CAFile, ClientCert: a.config.TLS.CertFile, ClientKey: a.config.TLS.KeyFile}
	}
	client, err := api.NewClient(apiCfg)
	if err != nil {
		ln.Close()
		return fmt.Errorf("start ingress: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &ingressServer{proxy: ingress.NewProxy(), cancel: cancel}
	s.http = &http.Server{Handler: s.proxy, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn)}
	go ingress.NewWatcher(client, s.proxy, a.logger).Run(ctx)
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.logger.Error("ingress stopped", "error", err)
		}
	}()
	a.ingress = s
	a.logger.Info("ingress listening", "addr", ln.Addr().String())
	return nil
}

// selfAddr is an address this agent's HTTP API answers on locally.
func (a *Agent) selfAddr() string {
	host, port, _ := net.SplitHostPort(a.HTTPAddr())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// stop shuts the ingress down; nil does nothing.
func (s *ingressServer) stop() {
	if s == nil {
		return
	}
	s.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.http.Shutdown(ctx)
}

// ingressRoutes serves GET /v1/ingress/routes: this agent's routing table.
func (h *httpAPI) ingressRoutes(w http.ResponseWriter, r *http.Request) (any, error) {
	if h.agent.ingress == nil {
		return nil, codedError(http.StatusNotFound, "ingress is not enabled on this agent (client { ingress { enabled = true } })")
	}
	return h.agent.ingress.proxy.Table().View(), nil
}
