package agent

import (
	"context"
	"crypto/tls"
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

// certFileCheck is how often the ingress checks cert_file and key_file
// for a change (a renewal); SIGHUP reloads them at once.
const certFileCheck = 2 * time.Second

// ingressServer is the agent's ingress: the proxy, its listeners, the
// watcher that keeps its routes and the certificates of its HTTPS port.
type ingressServer struct {
	proxy  *ingress.Proxy
	certs  *ingress.Certs // nil without https_port
	cfg    IngressConfig
	stops  []func(context.Context) error // the listeners' servers' Shutdown
	cancel context.CancelFunc
}

// startIngress starts the ingress when `client { ingress { enabled } }`:
// it reads the service catalogue (and, with https_port, the certificate
// variables) through this agent's own HTTP API.
func (a *Agent) startIngress(ctx context.Context) error {
	cfg := a.config.Client.Ingress
	if !cfg.Enabled {
		return nil
	}
	port := cfg.HTTPPort
	if port == 0 {
		port = defaultIngressPort
	}
	s := &ingressServer{proxy: ingress.NewProxy(), cfg: cfg}
	if cfg.HTTPSPort != 0 {
		certs, err := ingressCerts(cfg)
		if err != nil {
			return err
		}
		s.certs = certs
	}
	listeners, err := a.ingressListeners(cfg, port, s.certs)
	if err != nil {
		return err
	}
	apiCfg := &api.Config{Address: "http://" + a.selfAddr(), SecretID: cfg.Token}
	if a.config.TLS.HTTP {
		apiCfg.Address = "https://" + a.selfAddr()
		apiCfg.TLSConfig = &api.TLSConfig{CACert: a.config.TLS.CAFile, ClientCert: a.config.TLS.CertFile, ClientKey: a.config.TLS.KeyFile}
	}
	client, err := api.NewClient(apiCfg)
	if err != nil {
		for _, ln := range listeners {
			ln.Close()
		}
		return fmt.Errorf("start ingress: %w", err)
	}
	ctx, s.cancel = context.WithCancel(ctx)
	go ingress.NewWatcher(client, s.proxy, a.logger).Run(ctx)
	if s.certs != nil {
		logger := a.logger.With("component", "ingress")
		go s.certs.Watch(ctx, client, logger)
		if cfg.CertFile != "" {
			go s.certs.WatchFiles(ctx, cfg.CertFile, cfg.KeyFile, certFileCheck, logger)
		}
	}
	for i, ln := range listeners {
		srv := &http.Server{Handler: s.proxy, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
			ErrorLog: slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn)}
		serve, stop := srv.Serve, srv.Shutdown
		if i == 0 { // plain HTTP: the serving loop, net/http for what it does not take
			loop := ingress.NewServer(s.proxy, srv)
			serve, stop = loop.Serve, loop.Shutdown
		}
		s.stops = append(s.stops, stop)
		go func() {
			if err := serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.logger.Error("ingress stopped", "error", err)
			}
		}()
		a.logger.Info("ingress listening", "addr", ln.Addr().String())
	}
	a.ingress = s
	return nil
}

// ingressCerts makes the HTTPS port's certificate chooser: certificates
// from the variables under nomad/ingress/certs/, and the one of cert_file
// and key_file, when given, for every other host.
func ingressCerts(cfg IngressConfig) (*ingress.Certs, error) {
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, errors.New("client.ingress: cert_file and key_file go together")
	}
	if cfg.CertFile == "" {
		return ingress.NewCerts(nil), nil
	}
	certs := ingress.NewCerts(nil)
	if err := certs.LoadFiles(cfg.CertFile, cfg.KeyFile); err != nil {
		return nil, fmt.Errorf("client.ingress: %w", err)
	}
	return certs, nil
}

// reloadCerts reads cert_file and key_file again (SIGHUP); nil, or no
// files, does nothing.
func (s *ingressServer) reloadCerts() error {
	if s == nil || s.certs == nil || s.cfg.CertFile == "" {
		return nil
	}
	return s.certs.LoadFiles(s.cfg.CertFile, s.cfg.KeyFile)
}

// ingressListeners opens the HTTP listener and, with certs, the HTTPS one
// after it.
func (a *Agent) ingressListeners(cfg IngressConfig, port int, certs *ingress.Certs) ([]net.Listener, error) {
	addr := net.JoinHostPort(a.config.Addresses.HTTP, strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("start ingress on %s: %w", addr, err)
	}
	if certs == nil {
		return []net.Listener{ln}, nil
	}
	addr = net.JoinHostPort(a.config.Addresses.HTTP, strconv.Itoa(cfg.HTTPSPort))
	tlsLn, err := tls.Listen("tcp", addr, certs.TLSConfig())
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("start ingress on %s: %w", addr, err)
	}
	return []net.Listener{ln, tlsLn}, nil
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
	for _, stop := range s.stops {
		_ = stop(ctx)
	}
}

// ingressRoutes serves GET /v1/ingress/routes: this agent's routing table.
func (h *httpAPI) ingressRoutes(w http.ResponseWriter, r *http.Request) (any, error) {
	if h.agent.ingress == nil {
		return nil, codedError(http.StatusNotFound, "ingress is not enabled on this agent (client { ingress { enabled = true } })")
	}
	routes := h.agent.ingress.proxy.Table().View()
	if certs := h.agent.ingress.certs; certs != nil {
		for i := range routes {
			routes[i].Certificate = certs.Source(routes[i].Host)
		}
	}
	return routes, nil
}
