package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"

	"github.com/hashicorp/serf/serf"

	"github.com/roam-project/roam/rpc"
)

// Regions: the servers of every region share one gossip pool (Serf on
// 4648, as Nomad's servers do), each tagged with its region; each region
// keeps its own Raft among its own servers. A server reaches another
// region's servers through the RPC port: HTTP requests are forwarded in
// HTTP tunnels (rpc.DialHTTP), replication pulls over RPC.

// ErrNoRegionPath is a request for a region no server knows of.
var ErrNoRegionPath = fmt.Errorf("%w: No path to region", ErrInvalid)

// ErrRegionUnreachable is a request for a known region none of whose
// servers answers.
var ErrRegionUnreachable = fmt.Errorf("region unreachable")

// Region is this server's region.
func (s *Server) Region() string { return s.config.Region }

// AuthoritativeRegion is the region whose ACLs and namespaces this one
// replicates; "" when none is set.
func (s *Server) AuthoritativeRegion() string { return s.config.AuthoritativeRegion }

// Regions lists, sorted, the regions of the servers gossip knows, this
// server's included.
func (s *Server) Regions() []string {
	regions := []string{s.config.Region}
	for _, m := range s.Members() {
		if r := m.Tags["region"]; m.Tags["role"] == "nomad" && r != "" && !slices.Contains(regions, r) {
			regions = append(regions, r)
		}
	}
	slices.Sort(regions)
	return regions
}

// RegionServers lists, in random order, the RPC addresses of region's
// servers that gossip sees alive. It fails with ErrNoRegionPath, naming
// the known regions, when no server of region was ever seen, and with
// ErrRegionUnreachable when none is alive.
func (s *Server) RegionServers(region string) ([]string, error) {
	var alive []string
	known := false
	for _, m := range s.Members() {
		if m.Tags["role"] != "nomad" || m.Tags["region"] != region || m.Tags["rpc_addr"] == "" {
			continue
		}
		known = true
		if m.Status == serf.StatusAlive {
			alive = append(alive, m.Tags["rpc_addr"])
		}
	}
	switch {
	case !known:
		return nil, fmt.Errorf("%w %q: the known regions are %s", ErrNoRegionPath, region, strings.Join(s.Regions(), ", "))
	case len(alive) == 0:
		return nil, fmt.Errorf("%w: no server of region %q is alive", ErrRegionUnreachable, region)
	}
	rand.Shuffle(len(alive), func(i, j int) { alive[i], alive[j] = alive[j], alive[i] })
	return alive, nil
}

// HTTPTunnel is the listener of HTTP requests other servers tunnel to
// this one through the RPC port; nil when the server has no RPC port.
func (s *Server) HTTPTunnel() net.Listener {
	if s.mux == nil {
		return nil
	}
	return s.mux.HTTPTunnel()
}

// DialRegion opens an HTTP tunnel to the server of region at addr (an RPC
// address), authenticated as a server.
func (s *Server) DialRegion(ctx context.Context, region, addr string) (net.Conn, error) {
	return rpc.DialHTTP(ctx, addr, s.regionDialConfig(region))
}

// regionDialConfig is how this server dials a server of region: with TLS
// it expects that region's server certificate.
func (s *Server) regionDialConfig(region string) rpc.DialConfig {
	dc := s.dialConfig()
	if s.config.TLS != nil {
		store := s.config.TLS
		dc.TLS = func() *tls.Config { return store.OutgoingRegion(region) }
	}
	return dc
}
