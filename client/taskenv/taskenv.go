// Package taskenv builds a task's runtime environment (the NOMAD_* variables,
// the `env` block, node meta) and interpolates ${...} references in task
// configuration, following Nomad's runtime environment documentation.
package taskenv

import (
	"os"
	"strconv"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/allocdir"
	"github.com/roam-project/roam/drivers"
)

// Input is what a task's environment is built from.
type Input struct {
	Alloc    *api.Allocation
	Task     *api.Task
	Node     *api.Node
	Region   string
	AllocDir *allocdir.AllocDir
	TaskDir  *allocdir.TaskDir
	// HostEnv includes the agent's own environment (drivers without
	// filesystem isolation, such as raw_exec).
	HostEnv bool
	// AllocIP is the allocation's own address in bridge mode, for
	// NOMAD_ALLOC_IP_<label> and NOMAD_ALLOC_ADDR_<label>.
	AllocIP string
	// ClusterIP says AllocIP is a cluster network address, which
	// NOMAD_IP_<label> and NOMAD_ADDR_<label> then carry as well.
	ClusterIP bool
}

// Env is a built task environment.
type Env struct {
	vars map[string]string
	node *api.Node
	in   Input
}

// Build builds the environment for in.
func Build(in Input) *Env {
	e := &Env{vars: make(map[string]string), node: in.Node, in: in}
	if in.HostEnv {
		for _, kv := range os.Environ() {
			if k, v, ok := strings.Cut(kv, "="); ok {
				e.vars[k] = v
			}
		}
	}
	e.setAllocVars()
	e.setResourceVars()
	for _, p := range Ports(in.Alloc, in.Task.Name) {
		e.setPortVars(p)
	}
	for k, v := range mergedMeta(in.Alloc, in.Task) {
		e.vars["NOMAD_META_"+cleanName(k)] = v
		e.vars["NOMAD_META_"+strings.ToUpper(cleanName(k))] = v
	}
	for k, v := range in.Task.Env {
		e.vars[k] = e.Replace(v)
	}
	return e
}

// Map returns a copy of the variables.
func (e *Env) Map() map[string]string {
	out := make(map[string]string, len(e.vars))
	for k, v := range e.vars {
		out[k] = v
	}
	return out
}

func (e *Env) setAllocVars() {
	a, in := e.in.Alloc, e.in
	set := func(k, v string) { e.vars[k] = v }
	set("NOMAD_ALLOC_DIR", in.AllocDir.SharedDir())
	set("NOMAD_TASK_DIR", in.TaskDir.LocalDir)
	set("NOMAD_SECRETS_DIR", in.TaskDir.SecretsDir)
	set("NOMAD_ALLOC_ID", a.ID)
	set("NOMAD_SHORT_ALLOC_ID", shortID(a.ID))
	set("NOMAD_ALLOC_NAME", a.Name)
	set("NOMAD_ALLOC_INDEX", strconv.Itoa(allocIndex(a.Name)))
	set("NOMAD_TASK_NAME", in.Task.Name)
	set("NOMAD_GROUP_NAME", a.TaskGroup)
	set("NOMAD_NAMESPACE", a.Namespace)
	if in.Node != nil {
		set("NOMAD_DC", in.Node.Datacenter)
	}
	set("NOMAD_REGION", in.Region)
	if j := a.Job; j != nil {
		set("NOMAD_JOB_ID", deref(j.ID))
		set("NOMAD_JOB_NAME", deref(j.Name))
		if p := deref(j.ParentID); p != "" {
			set("NOMAD_JOB_PARENT_ID", p)
		}
		if in.Region == "" {
			set("NOMAD_REGION", deref(j.Region))
		}
	}
}

func (e *Env) setResourceVars() {
	r := TaskResources(e.in.Alloc, e.in.Task)
	e.vars["NOMAD_CPU_LIMIT"] = strconv.FormatInt(r.CPUShares, 10)
	e.vars["NOMAD_MEMORY_LIMIT"] = strconv.FormatInt(r.MemoryMB, 10)
	if r.MemoryMaxMB > 0 {
		e.vars["NOMAD_MEMORY_MAX_LIMIT"] = strconv.FormatInt(r.MemoryMaxMB, 10)
	}
	if len(r.ReservedCores) > 0 {
		cores := make([]string, len(r.ReservedCores))
		for i, c := range r.ReservedCores {
			cores[i] = strconv.Itoa(int(c))
		}
		e.vars["NOMAD_CPU_CORES"] = strings.Join(cores, ",")
	}
}

func (e *Env) setPortVars(p drivers.Port) {
	label := cleanName(p.Label)
	host := strconv.Itoa(p.Value)
	inTask := host
	if p.To > 0 {
		inTask = strconv.Itoa(p.To)
	}
	addr := joinHostPort(p.HostIP, host)
	e.vars["NOMAD_IP_"+label] = p.HostIP
	e.vars["NOMAD_HOST_IP_"+label] = p.HostIP
	e.vars["NOMAD_PORT_"+label] = inTask
	e.vars["NOMAD_ALLOC_PORT_"+label] = inTask
	e.vars["NOMAD_HOST_PORT_"+label] = host
	e.vars["NOMAD_ADDR_"+label] = addr
	e.vars["NOMAD_HOST_ADDR_"+label] = addr
	if e.in.AllocIP != "" {
		e.vars["NOMAD_ALLOC_IP_"+label] = e.in.AllocIP
		e.vars["NOMAD_ALLOC_ADDR_"+label] = joinHostPort(e.in.AllocIP, inTask)
	}
	if e.in.ClusterIP {
		e.vars["NOMAD_IP_"+label] = e.in.AllocIP
		e.vars["NOMAD_ADDR_"+label] = joinHostPort(e.in.AllocIP, inTask)
	}
}

func joinHostPort(ip, port string) string {
	if strings.Contains(ip, ":") {
		return "[" + ip + "]:" + port
	}
	return ip + ":" + port
}

// mergedMeta is the job's meta overlaid by the group's and the task's.
func mergedMeta(a *api.Allocation, t *api.Task) map[string]string {
	out := map[string]string{}
	if a.Job != nil {
		for k, v := range a.Job.Meta {
			out[k] = v
		}
		for _, g := range a.Job.TaskGroups {
			if g.Name != nil && *g.Name == a.TaskGroup {
				for k, v := range g.Meta {
					out[k] = v
				}
			}
		}
	}
	for k, v := range t.Meta {
		out[k] = v
	}
	return out
}

// cleanName replaces characters that are not valid in a variable name.
func cleanName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, s)
}

// allocIndex parses the index from an alloc name "job.group[3]".
func allocIndex(name string) int {
	open := strings.LastIndexByte(name, '[')
	if open < 0 || !strings.HasSuffix(name, "]") {
		return 0
	}
	n, err := strconv.Atoi(name[open+1 : len(name)-1])
	if err != nil {
		return 0
	}
	return n
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
