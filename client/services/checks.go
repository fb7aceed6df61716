package services

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/taskenv"
)

// Check statuses and modes, as `nomad alloc checks` shows them.
const (
	CheckPending = "pending"
	CheckSuccess = "success"
	CheckFailure = "failure"

	modeHealthiness = "healthiness"
	modeReadiness   = "readiness"
)

// Default timing for checks that leave it out.
const (
	defaultCheckInterval = 10 * time.Second
	defaultCheckTimeout  = 5 * time.Second
	minCheckInterval     = time.Second
)

// Check is one http or tcp health check of a Nomad-provider service,
// run by the client.
type Check struct {
	// Status holds the check's identity (ID, Check, Group, Task, Service,
	// Mode); the checker fills in the result.
	Status api.AllocCheckStatus
	// Registration is the ID of the service registration the check
	// guards: it is published only while its checks pass.
	Registration string
	Type         string
	Address      string
	Port         int
	Path         string
	Method       string
	Header       map[string][]string
	Interval     time.Duration
	Timeout      time.Duration
}

// serviceChecks builds the http and tcp checks of a service; other check
// types (script, grpc) are Consul's and are skipped.
func serviceChecks(src Source, task *api.Task, svc *api.Service, reg *api.ServiceRegistration, env *taskenv.Env) ([]Check, error) {
	var out []Check
	for _, sc := range svc.Checks {
		if sc.Type != "http" && sc.Type != "tcp" {
			continue
		}
		port := reg.Port
		if sc.PortLabel != "" {
			_, p, err := resolveAddress(src, task, reg.Address, sc.AddressMode, env.Replace(sc.PortLabel))
			if err != nil {
				return nil, fmt.Errorf("service %q check %q: %w", reg.ServiceName, sc.Name, err)
			}
			port = p
		}
		if port == 0 {
			return nil, fmt.Errorf("service %q check %q: no port to check", reg.ServiceName, sc.Name)
		}
		name := sc.Name
		if name == "" {
			name = fmt.Sprintf("service: %q check", reg.ServiceName)
		}
		mode := modeHealthiness
		if sc.OnUpdate == "ignore" {
			mode = modeReadiness
		}
		sum := md5.Sum([]byte(strings.Join([]string{reg.AllocID, src.Alloc.TaskGroup, task.Name, reg.ServiceName, name}, "\x00")))
		c := Check{
			Status: api.AllocCheckStatus{
				ID: hex.EncodeToString(sum[:]), Check: name, Group: src.Alloc.Name, Task: task.Name,
				Service: reg.ServiceName, Mode: mode, Status: CheckPending,
			},
			Registration: reg.ID,
			Type:         sc.Type, Address: reg.Address, Port: port, Path: env.Replace(sc.Path),
			Method: sc.Method, Header: sc.Header, Interval: sc.Interval, Timeout: sc.Timeout,
		}
		if c.Method == "" {
			c.Method = http.MethodGet
		}
		if c.Interval == 0 {
			c.Interval = defaultCheckInterval
		}
		c.Interval = max(c.Interval, minCheckInterval)
		if c.Timeout == 0 {
			c.Timeout = defaultCheckTimeout
		}
		out = append(out, c)
	}
	return out, nil
}

// run performs the check once and returns its result.
func (c *Check) run(ctx context.Context) api.AllocCheckStatus {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	res := c.Status
	res.Timestamp = time.Now().Unix()
	addr := net.JoinHostPort(c.Address, strconv.Itoa(c.Port))
	if c.Type == "tcp" {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			res.Status, res.Output = CheckFailure, err.Error()
			return res
		}
		conn.Close()
		res.Status, res.Output = CheckSuccess, "nomad: tcp ok"
		return res
	}
	path := c.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	req, err := http.NewRequestWithContext(ctx, c.Method, "http://"+addr+path, nil)
	if err != nil {
		res.Status, res.Output = CheckFailure, err.Error()
		return res
	}
	for k, vs := range c.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		res.Status, res.Output = CheckFailure, err.Error()
		return res
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	res.StatusCode = resp.StatusCode
	res.Output = string(body)
	res.Status = CheckFailure
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		res.Status = CheckSuccess
	}
	return res
}

// Checker runs an allocation's checks at their intervals and keeps their
// latest results.
type Checker struct {
	logger *slog.Logger
	// onChange, when set, is called (without the checker's lock) after a
	// check's status changes.
	onChange func()
	mu       sync.Mutex
	loops    map[string]*checkLoop
	results  api.AllocCheckStatuses
}

type checkLoop struct {
	check  Check
	cancel context.CancelFunc
	done   chan struct{}
}

// NewChecker returns a checker with no checks; onChange (may be nil) is
// called after any check's status changes.
func NewChecker(logger *slog.Logger, onChange func()) *Checker {
	return &Checker{logger: logger, onChange: onChange, loops: map[string]*checkLoop{}, results: api.AllocCheckStatuses{}}
}

// Passing keeps the registrations whose checks all passed on their latest
// run; a check not run yet does not pass.
func (c *Checker) Passing(regs []*api.ServiceRegistration, checks []Check) []*api.ServiceRegistration {
	c.mu.Lock()
	defer c.mu.Unlock()
	failing := map[string]bool{}
	for _, ch := range checks {
		if c.results[ch.Status.ID].Status != CheckSuccess {
			failing[ch.Registration] = true
		}
	}
	var out []*api.ServiceRegistration
	for _, r := range regs {
		if !failing[r.ID] {
			out = append(out, r)
		}
	}
	return out
}

// SetChecks runs exactly checks: new ones start, removed ones stop and
// lose their results, changed ones restart.
func (c *Checker) SetChecks(checks []Check) {
	c.mu.Lock()
	defer c.mu.Unlock()
	want := map[string]Check{}
	for _, ch := range checks {
		want[ch.Status.ID] = ch
	}
	for id, loop := range c.loops {
		if ch, ok := want[id]; !ok || !sameCheck(loop.check, ch) {
			loop.cancel()
			delete(c.loops, id)
			delete(c.results, id)
		}
	}
	for id, ch := range want {
		if _, ok := c.loops[id]; ok {
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		loop := &checkLoop{check: ch, cancel: cancel, done: make(chan struct{})}
		c.loops[id] = loop
		c.results[id] = ch.Status
		go c.run(ctx, loop)
	}
}

func sameCheck(a, b Check) bool {
	return a.Type == b.Type && a.Address == b.Address && a.Port == b.Port && a.Path == b.Path &&
		a.Method == b.Method && a.Interval == b.Interval && a.Timeout == b.Timeout
}

func (c *Checker) run(ctx context.Context, loop *checkLoop) {
	defer close(loop.done)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res := loop.check.run(ctx)
		c.mu.Lock()
		if ctx.Err() != nil {
			// Removed meanwhile: its result must not come back.
			c.mu.Unlock()
			return
		}
		changed := c.results[res.ID].Status != res.Status
		if changed {
			c.logger.Info("service check status changed", "service", res.Service, "check", res.Check, "status", res.Status)
		}
		c.results[res.ID] = res
		c.mu.Unlock()
		if changed && c.onChange != nil {
			c.onChange()
		}
		t.Reset(loop.check.Interval)
	}
}

// Statuses returns the latest result of every check, by check ID.
func (c *Checker) Statuses() api.AllocCheckStatuses {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(api.AllocCheckStatuses, len(c.results))
	for id, r := range c.results {
		out[id] = r
	}
	return out
}

// Close stops every check and waits for them.
func (c *Checker) Close() {
	c.mu.Lock()
	loops := c.loops
	c.loops = map[string]*checkLoop{}
	c.mu.Unlock()
	for _, loop := range loops {
		loop.cancel()
		<-loop.done
	}
}
