// Package servicedns answers DNS queries for the Nomad-provider services
// in the servers' catalogue, so that programs that cannot read templates
// still find each other: `<service>.service.<namespace>.<domain>` (and
// `<tag>.<service>.service...`) has an A record per healthy instance and,
// asked for SRV, one SRV record per instance whose target,
// `<hex ip>.addr.<domain>`, resolves to the instance's address. It is a
// thin layer over the catalogue, which it follows with blocking queries.
package servicedns

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/miekg/dns"

	"github.com/roam-project/roam/structs"
)

// DefaultDomain is the domain services are served under.
const DefaultDomain = "roam"

// ttl is the records' time to live: short, since instances come and go.
const ttl = 5

// Catalog answers blocking reads of the service catalogue.
type Catalog interface {
	ListServiceRegistrations(ctx context.Context, args *structs.ServiceListArgs) (*structs.ServiceListReply, error)
}

// Config is what a Server needs.
type Config struct {
	// Addr is the UDP and TCP address to listen on, such as
	// "127.0.0.1:8600".
	Addr string
	// Domain defaults to DefaultDomain.
	Domain string
	// Token is the ACL token the catalogue is read with.
	Token  string
	Logger *slog.Logger
}

// Server is a running DNS server.
type Server struct {
	domain string
	logger *slog.Logger
	udp    *dns.Server
	tcp    *dns.Server
	cancel context.CancelFunc

	mu sync.RWMutex
	// services maps "<namespace>/<service>" to its instances.
	services map[string][]*api.ServiceRegistration
}

// Start listens on cfg.Addr and follows the catalogue until Close.
func Start(cfg Config, catalog Catalog) (*Server, error) {
	domain := strings.Trim(strings.ToLower(cfg.Domain), ".")
	if domain == "" {
		domain = DefaultDomain
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	pc, err := net.ListenPacket("udp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("service DNS: listen on udp %s: %w", cfg.Addr, err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("service DNS: listen on tcp %s: %w", cfg.Addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{domain: domain + ".", logger: logger.With("component", "dns"), cancel: cancel, services: map[string][]*api.ServiceRegistration{}}
	s.udp = &dns.Server{PacketConn: pc, Handler: s}
	s.tcp = &dns.Server{Listener: ln, Handler: s}
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		go func() {
			if err := srv.ActivateAndServe(); err != nil && ctx.Err() == nil {
				s.logger.Error("service DNS stopped", "error", err)
			}
		}()
	}
	go s.follow(ctx, catalog, cfg.Token)
	return s, nil
}

// Addr is the address the server answers on.
func (s *Server) Addr() string { return s.udp.PacketConn.LocalAddr().String() }

// Close stops the server.
func (s *Server) Close() {
	s.cancel()
	s.udp.Shutdown()
	s.tcp.Shutdown()
}

// follow keeps the services map in step with the catalogue.
func (s *Server) follow(ctx context.Context, catalog Catalog, token string) {
	var index uint64
	delay := 250 * time.Millisecond
	for ctx.Err() == nil {
		reply, err := catalog.ListServiceRegistrations(ctx, &structs.ServiceListArgs{QueryArgs: structs.QueryArgs{
			Namespace: "*", MinIndex: index, Wait: 5 * time.Minute, WriteRequest: structs.WriteRequest{AuthToken: token}}})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.logger.Warn("service DNS: read the catalogue", "error", err, "retry_in", delay)
			select {
			case <-ctx.Done():
			case <-time.After(delay):
			}
			delay = min(2*delay, 15*time.Second)
			continue
		}
		delay = 250 * time.Millisecond
		index = reply.Index
		byName := map[string][]*api.ServiceRegistration{}
		for _, r := range reply.Services {
			key := strings.ToLower(r.Namespace + "/" + r.ServiceName)
			byName[key] = append(byName[key], r)
		}
		s.mu.Lock()
		s.services = byName
		s.mu.Unlock()
	}
}

// ServeDNS answers one query.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) == 1 {
		q := req.Question[0]
		if err := s.answer(m, q); errors.Is(err, errNotFound) {
			m.Rcode = dns.RcodeNameError
			m.Ns = []dns.RR{s.soa()}
		}
	}
	if err := w.WriteMsg(m); err != nil {
		s.logger.Debug("service DNS: write answer", "error", err)
	}
}

var errNotFound = errors.New("no such name")

// answer fills m for question q.
func (s *Server) answer(m *dns.Msg, q dns.Question) error {
	name := strings.ToLower(q.Name)
	if !dns.IsSubDomain(s.domain, name) {
		return errNotFound
	}
	labels := dns.SplitDomainName(strings.TrimSuffix(name, s.domain))
	switch {
	case len(labels) == 2 && labels[1] == "addr":
		ip, err := decodeAddr(labels[0])
		if err != nil {
			return errNotFound
		}
		if q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY {
			m.Answer = append(m.Answer, aRecord(q.Name, ip))
		}
		return nil
	case (len(labels) == 3 || len(labels) == 4) && labels[len(labels)-2] == "service":
		tag := ""
		if len(labels) == 4 {
			tag = labels[0]
		}
		service, ns := labels[len(labels)-3], labels[len(labels)-1]
		instances := s.instances(ns, service, tag)
		if len(instances) == 0 {
			return errNotFound
		}
		for _, r := range instances {
			ip := net.ParseIP(r.Address)
			if ip == nil || ip.To4() == nil {
				continue
			}
			switch q.Qtype {
			case dns.TypeA, dns.TypeANY:
				m.Answer = append(m.Answer, aRecord(q.Name, ip))
			case dns.TypeSRV:
				target := hex.EncodeToString(ip.To4()) + ".addr." + s.domain
				m.Answer = append(m.Answer, &dns.SRV{Hdr: header(q.Name, dns.TypeSRV), Priority: 1, Weight: 1,
					Port: uint16(r.Port), Target: target})
				m.Extra = append(m.Extra, aRecord(target, ip))
			}
		}
		return nil
	}
	return errNotFound
}

// instances are a service's registrations, those with tag when set.
func (s *Server) instances(ns, service, tag string) []*api.ServiceRegistration {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*api.ServiceRegistration
	for _, r := range s.services[ns+"/"+service] {
		if tag == "" || slices.ContainsFunc(r.Tags, func(t string) bool { return strings.EqualFold(t, tag) }) {
			out = append(out, r)
		}
	}
	return out
}

func (s *Server) soa() dns.RR {
	return &dns.SOA{Hdr: header(s.domain, dns.TypeSOA), Ns: "ns." + s.domain, Mbox: "hostmaster." + s.domain,
		Serial: 1, Refresh: 3600, Retry: 600, Expire: 86400, Minttl: ttl}
}

func header(name string, typ uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: typ, Class: dns.ClassINET, Ttl: ttl}
}

func aRecord(name string, ip net.IP) dns.RR {
	return &dns.A{Hdr: header(name, dns.TypeA), A: ip.To4()}
}

// decodeAddr reads the hex IPv4 address of an SRV target.
func decodeAddr(label string) (net.IP, error) {
	b, err := hex.DecodeString(label)
	if err != nil || len(b) != net.IPv4len {
		return nil, fmt.Errorf("not an address label: %q", label)
	}
	return net.IP(b), nil
}
