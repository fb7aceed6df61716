package services

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
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

// Check is one health check of a Nomad-provider service (http, tcp,
// grpc, or script inside the task), run by the client.
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
	// Command and Args are a script check's, run in the task ExecTask
	// names.
	Command  string
	Args     []string
	ExecTask string
	// GRPCService is the service a grpc check asks about ("" for the
	// server as a whole); GRPCUseTLS dials with TLS.
	GRPCService string
	GRPCUseTLS  bool
	// RestartLimit, when above zero, restarts ExecTask after that many
	// failures in a row, once RestartGrace has passed since the check
	// started (check_restart).
	RestartLimit int
	RestartGrace time.Duration
}

// serviceChecks builds the checks of a service.
func serviceChecks(src Source, task *api.Task, svc *api.Service, reg *api.ServiceRegistration, env *taskenv.Env) ([]Check, error) {
	var out []Check
	for _, sc := range svc.Checks {
		switch sc.Type {
		case "http", "tcp", "grpc", "script":
		default:
			return nil, fmt.Errorf("service %q check %q: unknown check type %q", reg.ServiceName, sc.Name, sc.Type)
		}
		execTask := task.Name
		if sc.TaskName != "" {
			execTask = sc.TaskName
		}
		if sc.Type == "script" && (sc.Command == "" || execTask == "") {
			return nil, fmt.Errorf("service %q script check %q: needs a command and, in a group service, a task", reg.ServiceName, sc.Name)
		}
		port := reg.Port
		if sc.PortLabel != "" {
			_, p, err := resolveAddress(src, task, reg.Address, sc.AddressMode, env.Replace(sc.PortLabel))
			if err != nil {
				return nil, fmt.Errorf("service %q check %q: %w", reg.ServiceName, sc.Name, err)
			}
			port = p
		}
		if port == 0 && sc.Type != "script" {
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
			Command: env.Replace(sc.Command), Args: replaceAll(env, sc.Args), ExecTask: execTask,
			GRPCService: sc.GRPCService, GRPCUseTLS: sc.GRPCUseTLS,
		}
		if cr := checkRestart(svc, &sc); cr != nil && cr.Limit > 0 {
			c.RestartLimit = cr.Limit
			if cr.Grace != nil {
				c.RestartGrace = *cr.Grace
			}
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

// checkRestart is a check's check_restart block, or else its service's.
func checkRestart(svc *api.Service, sc *api.ServiceCheck) *api.CheckRestart {
	if sc.CheckRestart != nil {
		return sc.CheckRestart
	}
	return svc.CheckRestart
}

func replaceAll(env *taskenv.Env, args []string) []string {
	var out []string
	for _, a := range args {
		out = append(out, env.Replace(a))
	}
	return out
}
