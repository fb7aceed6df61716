package ingress

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"
)

// healthInterval is how often the instances' checks are read: an instance
// whose check starts passing takes traffic within about this long.
const healthInterval = 250 * time.Millisecond

// Watcher keeps a Proxy's routing table current: a blocking query on the
// service catalogue rebuilds it when services come and go, and the
// instances' check results (read from their allocations) take failing
// instances out of rotation and passing ones back in.
type Watcher struct {
	client *api.Client
	proxy  *Proxy
	logger *slog.Logger

	mu        sync.Mutex
	regs      []*api.ServiceRegistration
	builtFrom []*api.ServiceRegistration // what the proxy's table was built from
	unhealthy map[string]bool            // by alloc ID
}

// NewWatcher returns a watcher that reads the catalogue through client and
// feeds proxy.
func NewWatcher(client *api.Client, proxy *Proxy, logger *slog.Logger) *Watcher {
	if logger == nil {
		logger = slog.Default()
	}
	return &Watcher{client: client, proxy: proxy, logger: logger.With("component", "ingress"), unhealthy: map[string]bool{}}
}

// Run watches until ctx is done.
func (w *Watcher) Run(ctx context.Context) {
	go w.watchHealth(ctx)
	var index uint64
	for ctx.Err() == nil {
		q := (&api.QueryOptions{Namespace: "*", WaitIndex: index, WaitTime: 5 * time.Minute}).WithContext(ctx)
		stubs, meta, err := w.client.Services().List(q)
		if err != nil {
			if ctx.Err() == nil {
				w.logger.Warn("list services", "error", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		if meta.LastIndex == index {
			continue
		}
		index = meta.LastIndex
		regs, err := w.ingressRegistrations(ctx, stubs)
		if err != nil {
			w.logger.Warn("read ingress services", "error", err)
			index = 0 // read everything again
			sleep(ctx, time.Second)
			continue
		}
		if regs == nil {
			regs = []*api.ServiceRegistration{}
		}
		w.mu.Lock()
		w.regs = regs
		w.mu.Unlock()
		w.refreshHealth(ctx)
	}
}

// ingressRegistrations fetches the registrations of the services that
// carry an ingress tag.
func (w *Watcher) ingressRegistrations(ctx context.Context, stubs []*api.ServiceRegistrationListStub) ([]*api.ServiceRegistration, error) {
	var out []*api.ServiceRegistration
	for _, ns := range stubs {
		for _, svc := range ns.Services {
			if !hasIngressTag(svc.Tags) {
				continue
			}
			q := (&api.QueryOptions{Namespace: ns.Namespace}).WithContext(ctx)
			regs, _, err := w.client.Services().Get(svc.ServiceName, q)
			if err != nil {
				return nil, err
			}
			out = append(out, regs...)
		}
	}
	return out, nil
}

func hasIngressTag(tags []string) bool {
	for _, t := range tags {
		if strings.HasPrefix(t, hostTag) {
			return true
		}
	}
	return false
}

// watchHealth re-reads the instances' checks every healthInterval.
func (w *Watcher) watchHealth(ctx context.Context) {
	for sleep(ctx, healthInterval) {
		w.refreshHealth(ctx)
	}
}

// refreshHealth reads each instance's allocation checks (an instance is
// healthy when every check passes, or it has none) and rebuilds the table.
func (w *Watcher) refreshHealth(ctx context.Context) {
	w.mu.Lock()
	regs := w.regs
	w.mu.Unlock()
	if regs == nil {
		return // the catalogue is not read yet
	}
	unhealthy := map[string]bool{}
	seen := map[string]bool{}
	for _, r := range regs {
		if seen[r.AllocID] {
			continue
		}
		seen[r.AllocID] = true
		checks, err := w.client.Allocations().Checks(r.AllocID, (&api.QueryOptions{Namespace: r.Namespace}).WithContext(ctx))
		if err != nil {
			continue // unknown: keep it; a dead instance fails over by retry
		}
		for _, c := range checks {
			if c.Status != "success" {
				unhealthy[r.AllocID] = true
			}
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	changed := len(unhealthy) != len(w.unhealthy) || w.builtFrom == nil || !sameRegs(regs, w.builtFrom)
	for id := range unhealthy {
		changed = changed || !w.unhealthy[id]
	}
	if !changed {
		return
	}
	w.unhealthy, w.builtFrom = unhealthy, regs
	t := buildTable(regs, unhealthy, w.proxy.Table())
	w.proxy.swap(t)
	w.logger.Info("ingress routes rebuilt", "routes", len(t.routes), "instances", len(regs), "unhealthy", len(unhealthy))
}

func sameRegs(a, b []*api.ServiceRegistration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// sleep waits d unless ctx ends first; it reports whether ctx is live.
func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
