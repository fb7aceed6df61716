// Package agent runs a Roam agent: it reads Nomad-format agent configuration,
// wires a server and a client together, and serves the HTTP API and UI.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/hashicorp/serf/serf"

	"github.com/roam-project/roam/acl"
	"github.com/roam-project/roam/client"
	"github.com/roam-project/roam/client/fsapi"
	"github.com/roam-project/roam/client/rpcservers"
	"github.com/roam-project/roam/client/servicedns"
	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/internal/gctune"
	"github.com/roam-project/roam/internal/telemetry"
	"github.com/roam-project/roam/internal/version"
	"github.com/roam-project/roam/logstream"
	"github.com/roam-project/roam/rpc"
	"github.com/roam-project/roam/server"
	"github.com/roam-project/roam/tlsutil"
	"github.com/roam-project/roam/ui"
)

// Agent is a running Roam agent: a server, a client, or both, behind one
// HTTP API.
type Agent struct {
	config *Config
	logger *slog.Logger
	// logs copies the agent's log to /v1/agent/monitor's followers.
	logs   *logstream.Handler
	server *server.Server
	client *client.Client
	// remote are the servers a client-only agent talks to.
	remote *rpcservers.Set
	// api is the HTTP API's handler once it is built, for the Task API.
	api atomic.Pointer[http.Handler]
	// dns answers queries for services when client.service_dns is set.
	dns      *servicedns.Server
	drivers  map[string]drivers.Driver
	http     *http.Server
	listener net.Listener
	cancel   context.CancelFunc
	done     chan struct{}
	tempDir  string
	// tls holds the certificates of the tls block; nil when TLS is off.
	tls *tlsutil.Store
	// stopping is closed when the HTTP API shuts down, ending its streams.
	stopping chan struct{}
	// proxy carries requests this agent forwards to the leader's HTTPS
	// API; nil when the HTTP API is plain.
	proxy *httpsTransport
	// ingress is the built-in entry point to services; nil when off.
	ingress *ingressServer
	// telemetry keeps the metrics /v1/metrics serves.
	telemetry *telemetry.Telemetry
	// regionRT carries requests forwarded to other regions (see
	// regionTransport); tunnel serves the requests they forward here.
	regionOnce sync.Once
	regionRT   *http.Transport
	tunnel     *http.Server
}

// New starts an agent from a validated configuration.
func New(cfg *Config, logger *slog.Logger) (*Agent, error) {
	logs := logstream.New(logger.Handler())
	logger = slog.New(logs)
	a := &Agent{config: cfg, logger: logger, logs: logs, done: make(chan struct{})}
	if cfg.DataDir != "" {
		// The data directory holds Raft's log, the keyring and the client's
		// state: readable by root only, as in Nomad's hardening guide.
		if err := privateDir(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	tel, err := telemetry.New(cfg.Telemetry)
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	a.telemetry = tel
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	if err := a.setupTLS(); err != nil {
		return nil, err
	}
	if err := a.loadDrivers(); err != nil {
		return nil, err
	}
	if cfg.Server.Enabled {
		if err := a.startServer(); err != nil {
			return nil, err
		}
		// A server's state is most of its heap: bound the process by a
		// memory limit (unless GOGC or GOMEMLIMIT is set).
		go gctune.Run(ctx, gctune.Budget(), 10*time.Second)
	}
	if a.server != nil && cfg.Server.BootstrapExpect <= 1 {
		// A single server elects itself within a second or two; waiting
		// spares the local client a round of "no leader" retries.
		wait, cancelWait := context.WithTimeout(ctx, 10*time.Second)
		_ = a.server.WaitForLeader(wait)
		cancelWait()
	}
	if cfg.Client.Enabled {
		if err := a.startClient(ctx); err != nil {
			a.Shutdown()
			return nil, err
		}
	}
	if err := a.startHTTP(); err != nil {
		a.Shutdown()
		return nil, err
	}
	if err := a.startIngress(ctx); err != nil {
		a.Shutdown()
		return nil, err
	}
	return a, nil
}

func (a *Agent) startServer() error {
	cfg := a.config
	join := cfg.Server.ServerJoin
	if join == nil {
		join = &ServerJoin{}
	}
	keks, err := cfg.KEKs()
	if err != nil {
		return err
	}
	gossipKey, err := cfg.Server.GossipKey()
	if err != nil {
		return err
	}
	if cfg.Server.BootstrapExpect > 1 && gossipKey == nil && !cfg.TLS.RPC {
		a.logger.Warn("neither tls.rpc nor server.encrypt is set: servers cannot authenticate each other, " +
			"so anyone who reaches the gossip and RPC ports can join as a server")
	}
	srv, err := server.New(server.Config{
		NodeName:              cfg.Name + "." + cfg.Region,
		Region:                cfg.Region,
		Datacenter:            cfg.Datacenter,
		DataDir:               cfg.DataDir,
		RPCAddr:               net.JoinHostPort(cfg.Addresses.RPC, strconv.Itoa(cfg.Ports.RPC)),
		RPCAdvertise:          net.JoinHostPort(cfg.Advertise.RPC, strconv.Itoa(cfg.Ports.RPC)),
		SerfAddr:              net.JoinHostPort(cfg.Addresses.Serf, strconv.Itoa(cfg.Ports.Serf)),
		SerfAdvertise:         net.JoinHostPort(cfg.Advertise.Serf, strconv.Itoa(cfg.Ports.Serf)),
		HTTPAdvertise:         net.JoinHostPort(cfg.Advertise.HTTP, strconv.Itoa(cfg.Ports.HTTP)),
		StartJoin:             withDefaultPort(join.StartJoin, cfg.Ports.Serf),
		RetryJoin:             withDefaultPort(join.RetryJoin, cfg.Ports.Serf),
		RetryInterval:         join.RetryInterval,
		RetryMax:              join.RetryMax,
		BootstrapExpect:       cfg.Server.BootstrapExpect,
		RaftMultiplier:        cfg.Server.RaftMultiplier,
		NumSchedulers:         cfg.Server.NumSchedulers,
		EnabledSchedulers:     cfg.Server.EnabledSchedulers,
		EventBufferSize:       cfg.Server.EventBufferSize,
		HeartbeatGrace:        cfg.Server.HeartbeatGrace,
		MinHeartbeatTTL:       cfg.Server.MinHeartbeatTTL,
		FailoverHeartbeatTTL:  cfg.Server.FailoverHeartbeatTTL,
		RaftSnapshotThreshold: uint64(cfg.Server.RaftSnapshotThreshold),
		RaftSnapshotInterval:  cfg.Server.RaftSnapshotInterval,
		RaftTrailingLogs:      uint64(cfg.Server.RaftTrailingLogs),
		JobLimits:             cfg.Server.jobLimits(),
		ACLEnabled:            cfg.ACL.Enabled,
		OIDCIssuer:            cfg.Server.OIDCIssuer,
		RootKeyRotation:       cfg.Server.RootKeyRotation,
		ACLTokenGCThreshold:   cfg.Server.ACLTokenGCThreshold,
		ValidateTaskConfig:    a.validateTaskConfig,
		KEKs:                  keks,
		Logger:                a.logger,
		TLS:                   a.rpcTLS(),
		EncryptKey:            gossipKey,
		AuthoritativeRegion:   cfg.Server.AuthoritativeRegion,
	})
	if err != nil {
		return fmt.Errorf("start server: %w", err)
	}
	a.server = srv
	return nil
}

// privateDir creates dir, or tightens an existing one, so that only its
// owner can read or enter it.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("set data dir permissions: %w", err)
	}
	return nil
}

// dataDir is the agent's data directory; the dev agent, which keeps its
// state in memory, gets a temporary one for its client's files.
func (a *Agent) dataDir() string {
	if a.config.DataDir != "" {
		return a.config.DataDir
	}
	if a.tempDir == "" {
		dir, err := os.MkdirTemp("", "roam-dev-")
		if err != nil {
			dir = filepath.Join(os.TempDir(), "roam-dev")
		}
		a.tempDir = dir
	}
	return a.tempDir
}

// loadDrivers builds and configures the task drivers.
func (a *Agent) loadDrivers() error {
	stateRoot := filepath.Join(a.dataDir(), "isolation")
	var err error
	a.drivers, err = loadDrivers(a.config.Plugins, stateRoot, a.config.Client.ChrootEnv, a.logger)
	return err
}

// validateTaskConfig checks a task's driver name and config at submit time.
func (a *Agent) validateTaskConfig(driver string, config map[string]any) error {
	d, ok := a.drivers[driver]
	if !ok {
		return fmt.Errorf("unknown driver %q", driver)
	}
	return d.ValidateConfig(config)
}

func (a *Agent) startClient(ctx context.Context) error {
	cfg := a.config
	var servers client.Servers = a.server
	if a.server == nil {
		var dc rpc.DialConfig
		if store := a.rpcTLS(); store != nil {
			dc.TLS = store.Outgoing
		}
		remote, err := rpcservers.New(cfg.Client.Servers, dc)
		if err != nil {
			return err
		}
		a.remote, servers = remote, remote
	}
	dataDir := a.dataDir()
	allocDir := cfg.Client.AllocDir
	if allocDir == "" {
		allocDir = filepath.Join(dataDir, "alloc")
	}
	stateDir := cfg.Client.StateDir
	if stateDir == "" {
		stateDir = filepath.Join(dataDir, "client")
	}
	iface := cfg.Client.NetworkInterface
	if iface == "" && cfg.DevMode {
		iface = loopbackInterface()
	}
	devicePlugins, err := loadDevicePlugins(cfg.Plugins)
	if err != nil {
		return err
	}
	c, err := client.New(&client.Config{
		DevicePlugins:     devicePlugins,
		HostVolumes:       hostVolumes(cfg.Client.HostVolume),
		NodeName:          cfg.Name,
		Datacenter:        cfg.Datacenter,
		Region:            cfg.Region,
		NodeClass:         cfg.Client.NodeClass,
		NodePool:          cfg.Client.NodePool,
		Meta:              cfg.Client.Meta,
		Options:           cfg.Client.Options,
		StateDir:          stateDir,
		AllocDir:          allocDir,
		NetworkInterface:  iface,
		BridgeNetworkName: cfg.Client.BridgeNetworkName, BridgeNetworkSubnet: cfg.Client.BridgeNetworkSubnet,
		ClusterNetworkCIDR: cfg.Client.ClusterNetworkCIDR,
		ClusterOverlay:     cfg.Client.ClusterNetworkOverlay, ClusterOverlayFallback: cfg.Client.ClusterNetworkFallback,
		WireGuardPort:  cfg.Client.ClusterNetworkWireGuardPort,
		MinDynamicPort: cfg.Client.MinDynamicPort,
		MaxDynamicPort: cfg.Client.MaxDynamicPort,
		Drivers:        a.drivers,
		HTTPAddr:       net.JoinHostPort(cfg.Advertise.HTTP, strconv.Itoa(cfg.Ports.HTTP)),
		TLSEnabled:     cfg.TLS.HTTP,
		Templates:      cfg.Client.Template,
		TaskAPI:        http.HandlerFunc(a.serveTaskAPI),
		Logger:         a.logger,
	}, servers)
	if err != nil {
		return fmt.Errorf("start client: %w", err)
	}
	if a.remote != nil {
		secret, err := rpcservers.LoadSecretID(stateDir)
		if err != nil {
			return fmt.Errorf("start client: %w", err)
		}
		a.remote.Identify(c.Node().ID, secret)
	}
	a.client = c
	if sd := cfg.Client.ServiceDNS; sd.Address != "" {
		if a.dns, err = servicedns.Start(servicedns.Config{Addr: sd.Address, Domain: sd.Domain, Token: sd.Token, Logger: a.logger}, servers); err != nil {
			return err
		}
		a.logger.Info("service DNS listening", "address", a.dns.Addr())
	}
	go func() {
		defer close(a.done)
		if err := c.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			a.logger.Error("client stopped", "error", err)
		}
	}()
	return nil
}

// serveTaskAPI answers a request a task made on its secrets/api.sock with
// the agent's HTTP API (the task runner has set its identity token).
func (a *Agent) serveTaskAPI(w http.ResponseWriter, r *http.Request) {
	h := a.api.Load()
	if h == nil {
		http.Error(w, "the agent's HTTP API is starting", http.StatusServiceUnavailable)
		return
	}
	(*h).ServeHTTP(w, r)
}

// withDefaultPort appends port to addresses given without one.
func withDefaultPort(addrs []string, port int) []string {
	var out []string
	for _, a := range addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			a = net.JoinHostPort(a, strconv.Itoa(port))
		}
		out = append(out, a)
	}
	return out
}

// loopbackInterface names the machine's loopback interface, which the dev
// agent fingerprints as its network, as Nomad's -dev does.
func loopbackInterface() string {
	ifaces, _ := net.Interfaces()
	for _, i := range ifaces {
		if i.Flags&net.FlagLoopback != 0 {
			return i.Name
		}
	}
	return "lo"
}

func (a *Agent) startHTTP() error {
	addr := net.JoinHostPort(a.config.Addresses.HTTP, strconv.Itoa(a.config.Ports.HTTP))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("start HTTP API on %s: %w", addr, err)
	}
	if a.config.TLS.HTTP {
		ln = tlsutil.NewListener(ln, a.tls.IncomingHTTP(), a.logger.With("component", "https"))
	}
	a.listener = ln
	handler := a.routes()
	a.api.Store(&handler)
	a.http = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn)}
	a.http.RegisterOnShutdown(func() { close(a.stopping) })
	go func() {
		if err := a.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.logger.Error("HTTP server stopped", "error", err)
		}
	}()
	if a.server != nil && a.server.HTTPTunnel() != nil {
		// Requests other regions' servers forward here, through the RPC port.
		a.tunnel = &http.Server{Handler: a.http.Handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: a.http.ErrorLog}
		go func() {
			if err := a.tunnel.Serve(a.server.HTTPTunnel()); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
				a.logger.Error("HTTP tunnel server stopped", "error", err)
			}
		}()
	}
	return nil
}

// HTTPAddr is the address the HTTP API listens on.
func (a *Agent) HTTPAddr() string { return a.listener.Addr().String() }

// routes maps Nomad's /v1 paths to handlers, each behind the ACL check its
// route declares.
func (a *Agent) routes() http.Handler {
	a.stopping = make(chan struct{})
	h := &httpAPI{srv: a.server, agent: a, logger: a.logger, resolver: a.resolver(),
		jobBodyLimit: jobBodyBase + 2*a.config.Server.jobLimits().MaxSourceSize, stopping: a.stopping}
	mux := http.NewServeMux()
	for _, rt := range a.routeTable(h) {
		handler := h.authorize(rt.allow, measured(rt.pattern, rt.handler))
		if rt.toLeader {
			handler = h.toLeader(handler)
		}
		mux.HandleFunc(rt.pattern, handler)
	}
	if a.server == nil && a.remote != nil {
		// The server the request is proxied to checks its token.
		mux.HandleFunc("/v1/", serversProxy(a.remote, h))
	}
	return h.guard(h.regionLayer(mux))
}

// routeTable lists the agent's routes with their ACL requirements, as
// Nomad's API documents them ("ACL Required").
func (a *Agent) routeTable(h *httpAPI) []route {
	var routes []route
	handle := func(pattern string, allow authorizer, fn handlerFunc) {
		routes = append(routes, route{pattern: pattern, allow: allow, handler: h.wrap(fn), toLeader: true})
	}
	readJob := nsCap(acl.NamespaceCapabilityReadJob)
	readHostVolumes := nsCap(acl.NamespaceCapabilityHostVolumeRead)
	if a.server != nil {
		handle("/v1/jobs", reads(nsCap(acl.NamespaceCapabilityListJobs), nsCap(acl.NamespaceCapabilitySubmitJob)), h.jobsRequest)
		handle("/v1/jobs/parse", nsAnyCap(acl.NamespaceCapabilityParseJob, acl.NamespaceCapabilitySubmitJob), h.jobsParse)
		handle("/v1/job/", jobRule, h.jobRequest)
		handle("/v1/validate/job", readJob, h.validateJob)
		handle("/v1/allocations", readJob, h.allocsList)
		handle("/v1/allocation/", h.inObjectNamespace(allocNamespace, allocCap), h.allocRequest)
		handle("/v1/evaluations", reads(readJob, management), h.evalsList)
		handle("/v1/evaluations/count", readJob, h.evalsCount)
		handle("/v1/evaluation/", h.inObjectNamespace(evalNamespace, constCap(acl.NamespaceCapabilityReadJob)), h.evalRequest)
		handle("/v1/deployments", readJob, h.deploymentsList)
		handle("/v1/deployment/", h.inObjectNamespace(deploymentNamespace, deploymentCap), h.deploymentRequest)
		handle("/v1/nodes", nodeRead, h.nodesList)
		handle("/v1/node/", nodeRule, h.nodeRequest)
		handle("/v1/node/pools", anyToken, h.nodePoolsRequest)
		handle("/v1/node/pool/", nodePoolRule, h.nodePoolRequest)
		handle("/v1/volumes", readHostVolumes, h.volumesList)
		handle("/v1/volume/", volumeRule, h.volumeRequest)
		handle("/v1/services", serviceRead, h.servicesList)
		handle("/v1/service/", reads(serviceRead, nsCap(acl.NamespaceCapabilitySubmitJob)), h.serviceRequest)
		handle("/v1/vars", anyToken, h.varsList)
		handle("/v1/var/", varRule, h.varRequest)
		handle("/v1/agent/members", nodeRead, h.agentMembers)
		handle("/.well-known/jwks.json", public, h.jwks)
		handle("/.well-known/openid-configuration", public, h.oidcDiscovery)
		handle("/v1/status/leader", public, h.statusLeader)
		handle("/v1/status/peers", public, h.statusPeers)
		handle("/v1/regions", public, h.regions)
		handle("/v1/system/gc", management, h.systemGC)
		handle("/v1/operator/raft/configuration", management, h.raftConfiguration)
		handle("/v1/operator/raft/peer", management, h.raftRemovePeer)
		handle("/v1/operator/snapshot", management, h.operatorSnapshot)
		handle("/v1/operator/keyring/", management, h.operatorKeyring)
		handle("/v1/operator/scheduler/configuration", reads(operatorRead, operatorWrite), h.schedulerConfiguration)
		handle("/v1/operator/autopilot/configuration", reads(operatorRead, operatorWrite), h.autopilotConfiguration)
		handle("/v1/operator/autopilot/health", operatorRead, h.autopilotHealth)
		handle("/v1/agent/join", agentWrite, h.agentJoin)
		handle("/v1/agent/force-leave", agentWrite, h.agentForceLeave)
		handle("/v1/agent/keyring/", reads(agentRead, agentWrite), h.agentKeyring)
		handle("/v1/agent/schedulers", agentRead, h.agentSchedulers)
		handle("/v1/agent/schedulers/config", reads(agentRead, agentWrite), h.agentSchedulersConfig)
		handle("/v1/namespaces", anyToken, h.namespacesList)
		handle("/v1/namespace", management, h.namespaceRequest)
		handle("/v1/namespace/", namespaceRule, h.namespaceRequest)
		handle("/v1/scaling/policies", nsAnyCap(acl.NamespaceCapabilityListScalingPolicies, acl.NamespaceCapabilityReadJob), h.scalingPolicies)
		handle("/v1/scaling/policy/", h.inObjectNamespace(scalingPolicyNamespace, constCap(acl.NamespaceCapabilityReadScalingPolicy)), h.scalingPolicy)
		handle("/v1/search", anyToken, h.searchPrefix)
		handle("/v1/search/fuzzy", anyToken, h.searchFuzzy)
		for _, p := range []string{"/v1/quotas", "/v1/quota", "/v1/quota/", "/v1/quota-usages", "/v1/recommendations", "/v1/recommendations/",
			"/v1/recommendation", "/v1/recommendation/", "/v1/sentinel/policies", "/v1/sentinel/policy/", "/v1/operator/license"} {
			handle(p, public, h.enterpriseOnly)
		}
		handle("/v1/acl/bootstrap", public, h.aclBootstrap)
		handle("/v1/acl/policies", anyToken, h.aclPolicies)
		handle("/v1/acl/policy/", reads(anyToken, management), h.aclPolicy)
		handle("/v1/acl/tokens", management, h.aclTokens)
		handle("/v1/acl/token", management, h.aclTokenCreate)
		handle("/v1/acl/token/", aclTokenRule, h.aclToken)
		handle("/v1/acl/token/onetime", anyToken, h.aclOneTimeToken)
		handle("/v1/acl/token/onetime/exchange", public, h.aclOneTimeExchange)
		handle("/v1/acl/roles", anyToken, h.aclRoles)
		handle("/v1/acl/role", management, h.aclRoleCreate)
		handle("/v1/acl/role/", reads(anyToken, management), h.aclRole)
		handle("/v1/acl/identity/client-introduction-token", nodeWrite, h.clientIntroductionToken)
		handle("/v1/acl/auth-methods", public, h.aclAuthMethods)
		handle("/v1/acl/auth-method", management, h.aclAuthMethodCreate)
		handle("/v1/acl/auth-method/", management, h.aclAuthMethod)
		handle("/v1/acl/binding-rules", management, h.aclBindingRules)
		handle("/v1/acl/binding-rule", management, h.aclBindingRuleCreate)
		handle("/v1/acl/binding-rule/", management, h.aclBindingRule)
		for _, p := range []string{"/v1/acl/login", "/v1/acl/oidc/auth-url", "/v1/acl/oidc/complete-auth"} {
			handle(p, public, h.aclLogin)
		}
	}
	if a.server != nil {
		// Every server applies the log, so each streams events itself.
		routes = append(routes, route{pattern: "/v1/event/stream", allow: eventStreamRule, handler: h.eventStream})
	}
	routes = append(routes,
		route{pattern: "/v1/agent/monitor", allow: agentRead, handler: h.agentMonitor},
		route{pattern: "/v1/agent/pprof/", allow: agentWrite, handler: h.agentPprof})
	handle("/v1/agent/self", agentRead, h.agentSelf)
	handle("/v1/agent/servers", reads(agentRead, agentWrite), h.agentServers)
	handle("/v1/agent/health", public, h.agentHealth)
	handle("/v1/ingress/routes", agentRead, h.ingressRoutes)
	handle("/v1/metrics", public, h.metrics)
	var local http.Handler
	if a.client != nil {
		local = fsapi.Handler(a.client)
	}
	routes = append(routes, route{pattern: "/v1/client/", allow: h.clientRule, handler: h.clientRequest(local)})
	routes = append(routes, route{pattern: "/ui/", allow: public, handler: ui.Handler().ServeHTTP})
	routes = append(routes, route{pattern: "/", allow: public, handler: func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			http.Redirect(w, r, "/ui/", http.StatusTemporaryRedirect)
			return
		}
		http.NotFound(w, r)
	}})
	return routes
}

// member describes this agent as a cluster member.
func (a *Agent) member() api.AgentMember {
	if a.server == nil {
		// A client-only agent is no gossip member, as in Nomad.
		return api.AgentMember{}
	}
	return toAgentMember(a.server.LocalMember())
}

// toAgentMember converts a gossip member to the API's type.
func toAgentMember(m serf.Member) api.AgentMember {
	return api.AgentMember{
		Name: m.Name, Addr: m.Addr.String(), Port: m.Port, Tags: m.Tags, Status: m.Status.String(),
		ProtocolMin: m.ProtocolMin, ProtocolMax: m.ProtocolMax, ProtocolCur: m.ProtocolCur,
		DelegateMin: m.DelegateMin, DelegateMax: m.DelegateMax, DelegateCur: m.DelegateCur,
	}
}

// advertiseRPC is the RPC address other agents reach this one on.
func (a *Agent) advertiseRPC() string {
	return net.JoinHostPort(a.config.Advertise.RPC, strconv.Itoa(a.config.Ports.RPC))
}

// configMap is the agent configuration as /v1/agent/self reports it.
func (a *Agent) configMap() map[string]any {
	cfg := a.config
	return map[string]any{
		"Region": cfg.Region, "Datacenter": cfg.Datacenter, "NodeName": cfg.Name,
		"DataDir": cfg.DataDir, "BindAddr": cfg.BindAddr, "LogLevel": cfg.LogLevel,
		"Version": map[string]string{"Version": version.NomadCompatible, "VersionMetadata": "roam." + version.Number, "Revision": version.Revision()},
		"Ports":   map[string]int{"HTTP": cfg.Ports.HTTP, "RPC": cfg.Ports.RPC, "Serf": cfg.Ports.Serf},
		"Server":  map[string]any{"Enabled": cfg.Server.Enabled, "BootstrapExpect": cfg.Server.BootstrapExpect},
		"Client":  map[string]any{"Enabled": cfg.Client.Enabled, "Servers": cfg.Client.Servers, "NodeClass": cfg.Client.NodeClass},
		"DevMode": cfg.DevMode,
		"ACL":     map[string]any{"Enabled": cfg.ACL.Enabled},
	}
}

// Shutdown stops the HTTP API, the client (leaving its tasks running) and
// the server.
func (a *Agent) Shutdown() {
	a.ingress.stop()
	if a.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = a.http.Shutdown(ctx)
		if a.tunnel != nil {
			_ = a.tunnel.Shutdown(ctx)
		}
		cancel()
	}
	if a.client != nil {
		if a.config.DevMode {
			// A dev agent's state is gone when it stops: nothing could ever
			// re-attach to its tasks, so they stop with it, as in Nomad.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := a.client.DestroyAllocs(ctx); err != nil {
				a.logger.Warn("stop dev allocations", "error", err)
			}
			cancel()
			if err := a.client.LeaveClusterNetwork(); err != nil {
				a.logger.Warn("stop the dev client's cluster network device", "error", err)
			}
		}
		if err := a.client.Shutdown(); err != nil {
			a.logger.Warn("client shutdown", "error", err)
		}
	}
	if a.dns != nil {
		a.dns.Close()
	}
	a.cancel()
	if a.client != nil {
		<-a.done
	}
	shutdownDrivers(a.drivers)
	if a.server != nil {
		a.server.Shutdown()
	}
	if a.tempDir != "" {
		_ = os.RemoveAll(a.tempDir)
	}
}
