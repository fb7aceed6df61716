// Package services publishes an allocation's Nomad-provider services
// (`service { provider = "nomad" }`) in the servers' catalogue while its
// tasks run, and withdraws them when the tasks stop.
package services

import (
	"fmt"
	"strconv"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/allocdir"
	"github.com/roam-project/roam/client/taskenv"
	"github.com/roam-project/roam/structs"
)

// idPrefix starts every registration ID, as in Nomad.
const idPrefix = "_nomad-task-"

// Source is what an allocation's registrations are built from.
type Source struct {
	Alloc    *api.Allocation
	Node     *api.Node
	Region   string
	AllocDir *allocdir.AllocDir
	// AllocAddress is the allocation's own address in bridge mode;
	// ClusterAddress says it is on the cluster network, where services
	// advertise it (and the port inside the namespace) by default.
	AllocAddress   string
	ClusterAddress bool
}

// Set is what an allocation's services call for: registrations to
// publish and health checks to run.
type Set struct {
	Registrations []*api.ServiceRegistration
	Checks        []Check
}

// GroupRegistrations builds the registrations and checks of the
// allocation's group `service` blocks whose provider is "nomad".
func GroupRegistrations(src Source) (Set, error) {
	if src.Alloc.Job == nil {
		return Set{}, fmt.Errorf("alloc %s has no job", src.Alloc.ID)
	}
	group := src.Alloc.Job.LookupTaskGroup(src.Alloc.TaskGroup)
	if group == nil {
		return Set{}, fmt.Errorf("alloc %s: job has no task group %q", src.Alloc.ID, src.Alloc.TaskGroup)
	}
	// Group services see the group's ports and no task's.
	return build(src, &api.Task{Name: ""}, "group-"+src.Alloc.TaskGroup, group.Services)
}

// TaskRegistrations builds the registrations and checks of a task's
// `service` blocks whose provider is "nomad".
func TaskRegistrations(src Source, task *api.Task) (Set, error) {
	return build(src, task, task.Name, task.Services)
}

func build(src Source, task *api.Task, owner string, blocks []*api.Service) (Set, error) {
	var env *taskenv.Env
	var out Set
	for _, svc := range blocks {
		if svc == nil || svc.Provider != structs.ServiceProviderNomad {
			continue
		}
		if env == nil {
			env = taskenv.Build(taskenv.Input{
				Alloc: src.Alloc, Task: task, Node: src.Node, Region: src.Region,
				AllocDir: src.AllocDir, TaskDir: src.AllocDir.TaskDir(task.Name),
			})
		}
		reg, err := registration(src, task, owner, svc, env)
		if err != nil {
			return Set{}, err
		}
		checks, err := serviceChecks(src, task, svc, reg, env)
		if err != nil {
			return Set{}, err
		}
		out.Registrations = append(out.Registrations, reg)
		out.Checks = append(out.Checks, checks...)
	}
	return out, nil
}

// registration builds one service's registration; names, tags and the
// port label may use ${...} runtime variables.
func registration(src Source, task *api.Task, owner string, svc *api.Service, env *taskenv.Env) (*api.ServiceRegistration, error) {
	a := src.Alloc
	name := env.Replace(svc.Name)
	if name == "" {
		return nil, fmt.Errorf("service in %s: a name is required", owner)
	}
	address, port, err := resolveAddress(src, task, env.Replace(svc.Address), svc.AddressMode, env.Replace(svc.PortLabel))
	if err != nil {
		return nil, fmt.Errorf("service %q: %w", name, err)
	}
	tags := svc.Tags
	if a.DeploymentStatus != nil && a.DeploymentStatus.Canary && len(svc.CanaryTags) > 0 {
		tags = svc.CanaryTags
	}
	reg := &api.ServiceRegistration{
		ID:          fmt.Sprintf("%s%s-%s-%s-%s", idPrefix, a.ID, owner, name, svc.PortLabel),
		ServiceName: name, Namespace: a.Namespace, JobID: a.JobID, AllocID: a.ID,
		Address: address, Port: port,
	}
	if reg.Namespace == "" {
		reg.Namespace = "default"
	}
	if src.Node != nil {
		reg.NodeID, reg.Datacenter = src.Node.ID, src.Node.Datacenter
	}
	for _, t := range tags {
		reg.Tags = append(reg.Tags, env.Replace(t))
	}
	return reg, nil
}

// resolveAddress finds the address and port a service advertises: its
// own address if set, else the allocated port its label names (a number
// is taken as the port itself), on the port's host IP or the node's.
func resolveAddress(src Source, task *api.Task, fixed, mode, label string) (string, int, error) {
	address := nodeAddress(src.Node)
	port := 0
	if label != "" {
		found := false
		for _, p := range taskenv.Ports(src.Alloc, task.Name) {
			if p.Label != label {
				continue
			}
			found, port = true, p.Value
			if mode == "alloc" && p.To > 0 {
				port = p.To
			}
			if p.HostIP != "" {
				address = p.HostIP
			}
			if src.AllocAddress != "" && (mode == "alloc" || src.ClusterAddress && (mode == "" || mode == "auto")) {
				address = src.AllocAddress
				if p.To > 0 {
					port = p.To
				}
			}
			break
		}
		if !found {
			n, err := strconv.Atoi(label)
			if err != nil || n <= 0 || n > 65535 {
				return "", 0, fmt.Errorf("port label %q is not in the allocation's network", label)
			}
			port = n
		}
	}
	if fixed != "" {
		address = fixed
	}
	if address == "" {
		return "", 0, fmt.Errorf("no address to advertise: the node has no IP address")
	}
	return address, port, nil
}

// nodeAddress is the node's fingerprinted IP address.
func nodeAddress(n *api.Node) string {
	if n == nil {
		return ""
	}
	if ip := n.Attributes["unique.network.ip-address"]; ip != "" {
		return ip
	}
	if n.NodeResources != nil {
		for _, nw := range n.NodeResources.Networks {
			if nw != nil && nw.IP != "" {
				return nw.IP
			}
		}
	}
	return ""
}
