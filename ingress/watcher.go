package ingress

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"
)

// blockingWait is how long one blocking query waits for a change.
const blockingWait = 5 * time.Minute

// idleRecheck is how long one blocking query waits while the table has a
// route without instances: the stop of its job need not touch the
// catalogue, so the job is read again at least this often.
const idleRecheck = 30 * time.Second

// Watcher keeps a Proxy's routing table current: a blocking query on the
// service catalogue wakes as soon as a registration comes or goes (clients
// publish an instance once its checks pass and withdraw it when one
// fails), and the table is rebuilt from the ingress services'
// registrations at once; nothing is polled.
type Watcher struct {
	client *api.Client
	proxy  *Proxy
	logger *slog.Logger
	// jobIndex caches the CreateIndex of the ingress services' jobs, by
	// JobKey: the age of their claims.
	jobIndex map[string]uint64
}

// NewWatcher returns a watcher that reads the catalogue through client and
// feeds proxy.
func NewWatcher(client *api.Client, proxy *Proxy, logger *slog.Logger) *Watcher {
	if logger == nil {
		logger = slog.Default()
	}
	return &Watcher{client: client, proxy: proxy, logger: logger.With("component", "ingress"), jobIndex: map[string]uint64{}}
}

// Run watches until ctx is done.
func (w *Watcher) Run(ctx context.Context) {
	var index uint64
	for ctx.Err() == nil {
		wait := blockingWait
		if w.proxy.Table().hasIdle() {
			wait = idleRecheck
		}
		q := (&api.QueryOptions{Namespace: "*", WaitIndex: index, WaitTime: wait}).WithContext(ctx)
		stubs, meta, err := w.client.Services().List(q)
		if err != nil {
			if ctx.Err() == nil {
				w.logger.Warn("list services", "error", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		if meta.LastIndex == index && !w.proxy.Table().hasIdle() {
			continue
		}
		regs, err := w.ingressRegistrations(ctx, stubs)
		if err != nil {
			if ctx.Err() == nil {
				w.logger.Warn("read ingress services", "error", err)
				index = 0 // read everything again
				sleep(ctx, time.Second)
			}
			continue
		}
		index = meta.LastIndex
		t := w.proxy.Update(regs, w.jobIndexes(ctx, regs), w.idleRoutes(ctx, regs))
		w.logger.Debug("ingress routes rebuilt", "routes", len(t.routes), "instances", len(regs), "index", index)
	}
}

// parallelReads bounds the service reads one rebuild makes at a time.
const parallelReads = 8

// ingressRegistrations fetches the registrations of the services that
// carry an ingress tag, several at a time.
func (w *Watcher) ingressRegistrations(ctx context.Context, stubs []*api.ServiceRegistrationListStub) ([]*api.ServiceRegistration, error) {
	type read struct{ namespace, name string }
	var reads []read
	for _, ns := range stubs {
		for _, svc := range ns.Services {
			if hasIngressTag(svc.Tags) {
				reads = append(reads, read{ns.Namespace, svc.ServiceName})
			}
		}
	}
	results := make([][]*api.ServiceRegistration, len(reads))
	errs := make([]error, len(reads))
	sem := make(chan struct{}, parallelReads)
	var wg sync.WaitGroup
	for i, r := range reads {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			q := (&api.QueryOptions{Namespace: r.namespace}).WithContext(ctx)
			results[i], _, errs[i] = w.client.Services().Get(r.name, q)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var out []*api.ServiceRegistration
	for _, regs := range results {
		out = append(out, regs...)
	}
	return out, nil
}

// jobIndexes returns the CreateIndex of the registrations' jobs, reading
// those it has not seen yet (a job it cannot read is left out: its
// services' claims then date from their registrations).
func (w *Watcher) jobIndexes(ctx context.Context, regs []*api.ServiceRegistration) map[string]uint64 {
	live := map[string]uint64{}
	for _, r := range regs {
		key := JobKey(r.Namespace, r.JobID)
		if _, done := live[key]; done {
			continue
		}
		idx, ok := w.jobIndex[key]
		if !ok {
			job, _, err := w.client.Jobs().Info(r.JobID, (&api.QueryOptions{Namespace: r.Namespace}).WithContext(ctx))
			if err != nil || job.CreateIndex == nil {
				w.logger.Debug("read the job of an ingress service", "job", key, "error", err)
				continue
			}
			idx = *job.CreateIndex
		}
		live[key] = idx
	}
	w.jobIndex = live
	return live
}

// idleRoutes returns the routes of the table in use whose service has no
// registration on them any more but whose job still asks for them: the job is there, not
// stopped, and still has the service with an ingress tag. Their instances
// are all gone or all failing their checks, so the route answers 503
// rather than 404 until one is back. A job it cannot read drops the route.
func (w *Watcher) idleRoutes(ctx context.Context, regs []*api.ServiceRegistration) []RouteKey {
	claimed := map[[4]string]bool{}
	for _, r := range regs {
		if host, path := RouteOf(r.Tags); host != "" {
			claimed[[4]string{host, path, r.Namespace, r.ServiceName}] = true
		}
	}
	var idle []RouteKey
	for _, r := range w.proxy.Table().Routes() {
		if claimed[[4]string{r.Host, r.Path, r.Namespace, r.Service}] || r.JobID == "" {
			continue
		}
		job, _, err := w.client.Jobs().Info(r.JobID, (&api.QueryOptions{Namespace: r.Namespace}).WithContext(ctx))
		if err != nil {
			w.logger.Debug("read the job of an idle ingress route", "job", JobKey(r.Namespace, r.JobID), "error", err)
			continue
		}
		if jobWantsService(job, r.Service) && job.CreateIndex != nil {
			idle = append(idle, RouteKey{Host: r.Host, Path: r.Path, Namespace: r.Namespace, Service: r.Service, JobID: r.JobID, Since: *job.CreateIndex})
		}
	}
	return idle
}

// jobWantsService reports whether job runs (is not stopped) and has the
// service name with an ingress tag, in a group or a task.
func jobWantsService(job *api.Job, name string) bool {
	if job.Stop != nil && *job.Stop {
		return false
	}
	for _, tg := range job.TaskGroups {
		services := append([]*api.Service{}, tg.Services...)
		for _, task := range tg.Tasks {
			services = append(services, task.Services...)
		}
		for _, s := range services {
			if s.Name == name && (hasIngressTag(s.Tags) || hasIngressTag(s.CanaryTags)) {
				return true
			}
		}
	}
	return false
}

func hasIngressTag(tags []string) bool {
	for _, t := range tags {
		if strings.HasPrefix(t, HostTag) {
			return true
		}
	}
	return false
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
