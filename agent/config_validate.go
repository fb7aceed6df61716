package agent

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/roam-project/roam/server"
)

// Validate checks a merged configuration (defaults, files and flags) for
// settings an agent cannot run with, reporting every problem found.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !c.Server.Enabled && !c.Client.Enabled {
		add("neither server nor client is enabled: set server { enabled = true } or client { enabled = true }, or use -dev")
	}
	if c.DataDir == "" && !c.DevMode {
		add("data_dir must be set (only -dev runs without one)")
	}
	if c.Name == "" || c.Region == "" || c.Datacenter == "" {
		add("name, region and datacenter must not be empty")
	}
	switch strings.ToUpper(c.LogLevel) {
	case "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF":
	default:
		add("log_level %q is not one of TRACE, DEBUG, INFO, WARN, ERROR or OFF", c.LogLevel)
	}
	for name, p := range map[string]int{"ports.http": c.Ports.HTTP, "ports.rpc": c.Ports.RPC, "ports.serf": c.Ports.Serf} {
		if p < 1 || p > 65535 {
			add("%s: port %d is not between 1 and 65535", name, p)
		}
	}
	if c.Server.BootstrapExpect < 0 {
		add("server.bootstrap_expect must not be negative")
	}
	if c.Server.RaftMultiplier < 0 || c.Server.RaftMultiplier > 10 {
		add("server.raft_multiplier must be between 1 and 10, got %d", c.Server.RaftMultiplier)
	}
	if c.Server.BootstrapExpect > 0 && !c.Server.Enabled {
		add("server.bootstrap_expect is set but server mode is not enabled")
	}
	if c.Client.Enabled && !c.Server.Enabled && len(c.Client.Servers) == 0 &&
		(c.Client.ServerJoin == nil || len(c.Client.ServerJoin.RetryJoin)+len(c.Client.ServerJoin.StartJoin) == 0) {
		add("client.servers must be set when server is disabled")
	}
	errs = append(errs, c.Server.validateJobLimits(), c.Client.validatePorts())
	if _, err := c.KEKs(); err != nil {
		errs = append(errs, err)
	}
	if err := c.TLS.Check(); err != nil {
		errs = append(errs, fmt.Errorf("tls: %w", err))
	}
	if _, err := c.Server.GossipKey(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// GossipKey decodes server.encrypt: base64 of a 16, 24 or 32-byte key.
// It returns nil when no key is set.
func (s *ServerConfig) GossipKey() ([]byte, error) {
	if s.EncryptKey == "" {
		return nil, nil
	}
	key, err := base64.StdEncoding.DecodeString(s.EncryptKey)
	if err != nil {
		return nil, fmt.Errorf("server.encrypt: not base64: %v", err)
	}
	switch len(key) {
	case 16, 24, 32:
		return key, nil
	}
	return nil, fmt.Errorf("server.encrypt: key is %d bytes; want 16, 24 or 32 (generate one with roam operator gossip keyring generate)", len(key))
}

// validateJobLimits checks the job limits against Nomad's bounds.
func (s *ServerConfig) validateJobLimits() error {
	var errs []error
	maxPriority := s.jobLimits().MaxPriority
	if s.JobMaxPriority != 0 && (s.JobMaxPriority < 100 || s.JobMaxPriority > 32766) {
		errs = append(errs, fmt.Errorf("server.job_max_priority %d is not between 100 and 32766", s.JobMaxPriority))
	}
	if s.JobDefaultPriority != 0 && (s.JobDefaultPriority < 50 || s.JobDefaultPriority > maxPriority) {
		errs = append(errs, fmt.Errorf("server.job_default_priority %d is not between 50 and job_max_priority (%d)", s.JobDefaultPriority, maxPriority))
	}
	if s.JobMaxCount < 0 {
		errs = append(errs, fmt.Errorf("server.job_max_count must not be negative"))
	}
	return errors.Join(errs...)
}

// jobLimits are the job limits to hand the server, with the server's
// defaults for those left unset.
func (s *ServerConfig) jobLimits() server.JobLimits {
	return server.JobLimits{MaxPriority: s.JobMaxPriority, DefaultPriority: s.JobDefaultPriority,
		MaxCount: s.JobMaxCount, MaxSourceSize: s.JobMaxSourceSize}.WithDefaults()
}

// validatePorts checks the client's dynamic port range.
func (c *ClientConfig) validatePorts() error {
	lo, hi := c.MinDynamicPort, c.MaxDynamicPort
	if lo < 0 || hi < 0 || lo > 65535 || hi > 65535 {
		return fmt.Errorf("client.min_dynamic_port and max_dynamic_port must be between 1 and 65535")
	}
	if lo > 0 && hi > 0 && lo > hi {
		return fmt.Errorf("client.min_dynamic_port %d is above max_dynamic_port %d", lo, hi)
	}
	return nil
}

// NormalizeAddrs fills in the addresses left unset. A bind address
// (Addresses) defaults to BindAddr. An advertised address defaults to the
// bind address or, when that is 0.0.0.0 or ::, to the machine's first
// private IP (as Nomad does). Advertised addresses end up as bare hosts: a
// port written in them ("10.0.0.1:4647") must equal the matching Ports
// entry, since the agent serves each service on one port.
func (c *Config) NormalizeAddrs() error {
	binds := []*string{&c.Addresses.HTTP, &c.Addresses.RPC, &c.Addresses.Serf}
	advertised := []*string{&c.Advertise.HTTP, &c.Advertise.RPC, &c.Advertise.Serf}
	ports := []int{c.Ports.HTTP, c.Ports.RPC, c.Ports.Serf}
	names := []string{"http", "rpc", "serf"}
	for i, bind := range binds {
		if *bind == "" {
			*bind = c.BindAddr
		}
		if *bind == "" {
			return fmt.Errorf("addresses.%s: no bind address: set bind_addr", names[i])
		}
		host, err := advertiseHost(*advertised[i], *bind, ports[i])
		if err != nil {
			return fmt.Errorf("advertise.%s: %w", names[i], err)
		}
		*advertised[i] = host
	}
	return nil
}

// advertiseHost resolves one advertised address.
func advertiseHost(adv, bind string, port int) (string, error) {
	if adv == "" {
		if ip := net.ParseIP(bind); ip == nil || !ip.IsUnspecified() {
			return bind, nil
		}
		return firstPrivateIP()
	}
	host, portStr, err := net.SplitHostPort(adv)
	if err != nil { // no port
		return strings.Trim(adv, "[]"), nil
	}
	if p, err := strconv.Atoi(portStr); err != nil || p != port {
		return "", fmt.Errorf("%q: the advertised port must be the agent's port %d (set ports instead)", adv, port)
	}
	return host, nil
}

// firstPrivateIP is the machine's first private IPv4 address, or its
// first private IPv6 address when it has no private IPv4 one.
func firstPrivateIP() (string, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", fmt.Errorf("list interface addresses: %w", err)
	}
	var v6 string
	for _, a := range addrs {
		ipNet, ok := a.(*net.IPNet)
		if !ok || !ipNet.IP.IsPrivate() {
			continue
		}
		if ipNet.IP.To4() != nil {
			return ipNet.IP.String(), nil
		}
		if v6 == "" {
			v6 = ipNet.IP.String()
		}
	}
	if v6 != "" {
		return v6, nil
	}
	return "", errors.New("no private IP address found to advertise: set advertise { http, rpc, serf } or bind_addr")
}
