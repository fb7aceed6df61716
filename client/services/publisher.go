package services

import (
	"log/slog"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"
)

// Registrar is what publishing needs from the servers.
type Registrar interface {
	UpsertServiceRegistrations(regs []*api.ServiceRegistration) error
	DeleteServiceRegistrations(namespace string, ids []string) (uint64, error)
}

// retryInterval is how long a failed publish waits before it retries.
const retryInterval = 2 * time.Second

// closeTimeout bounds the final withdrawal when an allocation finishes.
const closeTimeout = 10 * time.Second

// Publisher keeps the catalogue in line with the registrations an
// allocation wants: SetDesired records them, a background loop upserts
// what is new or changed and deletes what is no longer wanted, retrying
// while the servers are unreachable. Callers never block on the servers.
type Publisher struct {
	registrar Registrar
	logger    *slog.Logger

	mu        sync.Mutex
	desired   map[string]*api.ServiceRegistration
	published map[string]*api.ServiceRegistration

	wake      chan struct{}
	quit      chan bool // true: withdraw everything before stopping
	done      chan struct{}
	closeOnce sync.Once
}

// NewPublisher starts a publisher; Close stops it.
func NewPublisher(registrar Registrar, logger *slog.Logger) *Publisher {
	p := &Publisher{
		registrar: registrar, logger: logger,
		desired: map[string]*api.ServiceRegistration{}, published: map[string]*api.ServiceRegistration{},
		wake: make(chan struct{}, 1), quit: make(chan bool, 1), done: make(chan struct{}),
	}
	go p.run()
	return p
}

// SetDesired replaces the set of registrations that should be published.
func (p *Publisher) SetDesired(regs []*api.ServiceRegistration) {
	p.mu.Lock()
	p.desired = make(map[string]*api.ServiceRegistration, len(regs))
	for _, r := range regs {
		p.desired[r.ID] = r
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Close stops the publisher. With withdraw it first deletes everything it
// published (the allocation is done); without, the registrations stay (the
// client is restarting and its tasks keep running).
func (p *Publisher) Close(withdraw bool) {
	p.closeOnce.Do(func() { p.quit <- withdraw })
	<-p.done
}

func (p *Publisher) run() {
	defer close(p.done)
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	for {
		select {
		case <-p.wake:
		case <-retry.C:
		case withdraw := <-p.quit:
			if withdraw {
				p.withdrawAll()
			}
			return
		}
		if err := p.sync(); err != nil {
			p.logger.Warn("publish services, will retry", "error", err)
			retry.Reset(retryInterval)
		}
	}
}

// withdrawAll deletes every published registration, retrying for a while.
func (p *Publisher) withdrawAll() {
	p.SetDesired(nil)
	deadline := time.Now().Add(closeTimeout)
	for {
		err := p.sync()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			p.logger.Warn("withdraw services; the servers remove them when the allocation ends", "error", err)
			return
		}
		time.Sleep(retryInterval / 4)
	}
}

// sync sends the difference between desired and published.
func (p *Publisher) sync() error {
	p.mu.Lock()
	var upserts []*api.ServiceRegistration
	var deletes []string
	for id, r := range p.desired {
		if old, ok := p.published[id]; !ok || !sameRegistration(old, r) {
			upserts = append(upserts, r)
		}
	}
	for id := range p.published {
		if _, ok := p.desired[id]; !ok {
			deletes = append(deletes, id)
		}
	}
	p.mu.Unlock()
	if len(deletes) > 0 {
		if _, err := p.registrar.DeleteServiceRegistrations("", deletes); err != nil {
			return err
		}
		p.mu.Lock()
		for _, id := range deletes {
			delete(p.published, id)
		}
		p.mu.Unlock()
		p.logger.Debug("withdrew services", "ids", deletes)
	}
	if len(upserts) > 0 {
		if err := p.registrar.UpsertServiceRegistrations(upserts); err != nil {
			return err
		}
		p.mu.Lock()
		for _, r := range upserts {
			p.published[r.ID] = r
		}
		p.mu.Unlock()
		p.logger.Debug("published services", "count", len(upserts))
	}
	return nil
}

func sameRegistration(a, b *api.ServiceRegistration) bool {
	if a.Address != b.Address || a.Port != b.Port || a.ServiceName != b.ServiceName || len(a.Tags) != len(b.Tags) {
		return false
	}
	for i := range a.Tags {
		if a.Tags[i] != b.Tags[i] {
			return false
		}
	}
	return true
}
