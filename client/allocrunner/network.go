package allocrunner

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/taskrunner"
	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/network"
)

// NetworkManager sets up and tears down allocations' network namespaces
// (the client's network.Manager).
type NetworkManager interface {
	Setup(req network.Request) (*network.Status, error)
	Teardown(allocID string) error
}

// resolvConfName is the allocation's resolv.conf, in its directory.
const resolvConfName = "resolv.conf"

// networkHook gives the allocation its group's network before any task
// starts and removes it once the allocation is done with it.
type networkHook struct {
	ar      *AllocRunner
	mgr     NetworkManager
	group   *api.NetworkResource
	creator drivers.NetworkCreator // a driver holding the namespace (docker)
	status  *network.Status
}

func newNetworkHook(ar *AllocRunner, group *api.TaskGroup) *networkHook {
	h := &networkHook{ar: ar, mgr: ar.cfg.Network}
	if len(group.Networks) > 0 {
		h.group = group.Networks[0]
	}
	for _, t := range group.Tasks {
		if c, ok := ar.cfg.Drivers[t.Driver].(drivers.NetworkCreator); ok && h.isolated() {
			h.creator = c
			break
		}
	}
	return h
}

// isolated reports whether the group asks for a namespace of its own.
func (h *networkHook) isolated() bool {
	return h.group != nil && h.group.Mode != "" && h.group.Mode != network.ModeHost
}

// prerun sets the network up and hands it to the task runners; a failure
// is handed to them too, so that each task fails with it.
func (h *networkHook) prerun(tasks []*taskrunner.TaskRunner) {
	if !h.isolated() {
		return
	}
	n, err := h.setup()
	if err != nil {
		h.ar.logger.Error("set up allocation network", "error", err)
		n = &taskrunner.Network{Err: fmt.Errorf("failed to set up network: %w", err)}
	}
	for _, tr := range tasks {
		tr.SetNetwork(n)
	}
}

func (h *networkHook) setup() (*taskrunner.Network, error) {
	if h.mgr == nil {
		return nil, fmt.Errorf("network mode %q is not available on this client", h.group.Mode)
	}
	alloc := h.ar.Alloc()
	var iso *drivers.NetworkIsolation
	spec := drivers.NetworkSpec{Hostname: h.group.Hostname}
	if dns := h.group.DNS; dns != nil {
		spec.DNSServers, spec.DNSSearches, spec.DNSOptions = dns.Servers, dns.Searches, dns.Options
	}
	req := network.Request{AllocID: alloc.ID, Mode: h.group.Mode}
	if h.creator != nil {
		var err error
		if iso, err = h.creator.CreateNetwork(alloc.ID, spec); err != nil {
			return nil, err
		}
		req.Namespace = iso.Path
	}
	if ar := alloc.AllocatedResources; ar != nil {
		for _, p := range ar.Shared.Ports {
			req.Ports = append(req.Ports, network.Port{Label: p.Label, HostIP: p.HostIP, HostPort: p.Value, To: p.To})
		}
	}
	status, err := h.mgr.Setup(req)
	if err != nil {
		return nil, err
	}
	if iso == nil {
		iso = &drivers.NetworkIsolation{Path: status.Namespace, Hostname: h.group.Hostname}
	}
	if conf := network.ResolvConf(h.group.DNS); conf != "" {
		path := filepath.Join(h.ar.allocDir.Dir, resolvConfName)
		if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
			return nil, fmt.Errorf("write resolv.conf: %w", err)
		}
		iso.ResolvConf = path
	}
	h.ar.mu.Lock()
	h.status = status
	h.ar.mu.Unlock()
	return &taskrunner.Network{Isolation: iso, Address: status.Address, Cluster: status.Cluster}, nil
}

// networkStatus is the allocation's network as Nomad reports it: empty in
// host mode. The caller holds ar.mu.
func (h *networkHook) networkStatusLocked() *api.AllocNetworkStatus {
	if h.status == nil || h.status.Mode == network.ModeHost {
		return &api.AllocNetworkStatus{}
	}
	s := &api.AllocNetworkStatus{Address: h.status.Address, DNS: h.group.DNS}
	if h.status.Address != "" {
		s.InterfaceName = h.status.Interface
	}
	return s
}

// teardown removes the allocation's network and the namespace's holder.
func (h *networkHook) teardown() {
	if !h.isolated() || h.mgr == nil {
		return
	}
	id := h.ar.ID()
	if err := h.mgr.Teardown(id); err != nil {
		h.ar.logger.Error("tear down allocation network", "error", err)
	}
	if h.creator != nil {
		if err := h.creator.DestroyNetwork(id); err != nil {
			h.ar.logger.Error("destroy allocation network holder", "error", err)
		}
	}
}
