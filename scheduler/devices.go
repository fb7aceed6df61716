package scheduler

import (
	"fmt"
	"math"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/devices"
	"github.com/roam-project/roam/structs"
)

// filterMissingDevices is the reason recorded for nodes that have too few
// matching devices at all, as Nomad records it.
const filterMissingDevices = "missing devices"

// deviceAsk is one `device` block of a task.
type deviceAsk struct {
	req   *api.RequestedDevice
	name  devices.Name
	count int
	// verdicts caches whether a node's device group meets the ask's
	// constraints, for the evaluation the ask is compiled for.
	verdicts map[*api.NodeDeviceResource]bool
}

func newDeviceAsks(t *api.Task) []deviceAsk {
	if t.Resources == nil {
		return nil
	}
	var out []deviceAsk
	for _, d := range t.Resources.Devices {
		if d == nil {
			continue
		}
		n, _ := devices.ParseName(d.Name) // validated with the job
		count := 1
		if d.Count != nil {
			count = int(*d.Count)
		}
		out = append(out, deviceAsk{req: d, name: n, count: count, verdicts: map[*api.NodeDeviceResource]bool{}})
	}
	return out
}

// candidates are the node's device groups that answer to the ask's name
// and meet its constraints.
func (d deviceAsk) candidates(node *api.Node, m *constraintMatcher) []*api.NodeDeviceResource {
	if node.NodeResources == nil {
		return nil
	}
	var out []*api.NodeDeviceResource
	for _, g := range node.NodeResources.Devices {
		if g != nil && d.name.Matches(g) && d.meets(g, m) {
			out = append(out, g)
		}
	}
	return out
}

// meets reports whether the group meets every constraint of the ask.
func (d deviceAsk) meets(g *api.NodeDeviceResource, m *constraintMatcher) bool {
	ok, cached := d.verdicts[g]
	if cached {
		return ok
	}
	ok = true
	for _, c := range d.req.Constraints {
		if c != nil && !deviceMeets(c, g, m) {
			ok = false
			break
		}
	}
	d.verdicts[g] = ok
	return ok
}

// devicesReason says why the node can never give the tasks their devices:
// no group it has offers enough healthy instances.
func devicesReason(ask *groupAsk, node *api.Node, m *constraintMatcher) string {
	for _, t := range ask.tasks {
		for _, d := range t.devices {
			enough := false
			for _, g := range d.candidates(node, m) {
				if healthyCount(g) >= d.count {
					enough = true
					break
				}
			}
			if !enough {
				return filterMissingDevices
			}
		}
	}
	return ""
}

func healthyCount(g *api.NodeDeviceResource) int {
	n := 0
	for _, inst := range g.Instances {
		if inst != nil && inst.Healthy {
			n++
		}
	}
	return n
}

// pickDevices gives each task's device asks free healthy instances, all of
// one group per ask, preferring the group its affinities favour. When an
// ask cannot be met it names it.
func (u *nodeUsage) pickDevices(ask *groupAsk, o *offer, m *constraintMatcher) string {
	taken := map[string]bool{}
	var scoreSum, weight float64
	for _, t := range ask.tasks {
		for _, d := range t.devices {
			var best *api.AllocatedDeviceResource
			bestScore := math.Inf(-1)
			for _, g := range d.candidates(u.node, m) {
				ids := u.freeInstances(g, d.count, taken)
				if ids == nil {
					continue
				}
				if s := deviceAffinity(d.req.Affinities, g, m); best == nil || s > bestScore {
					best, bestScore = &api.AllocatedDeviceResource{Vendor: g.Vendor, Type: g.Type, Name: g.Name, DeviceIDs: ids}, s
				}
			}
			if best == nil {
				return fmt.Sprintf("devices: %s", d.req.Name)
			}
			for _, id := range best.DeviceIDs {
				taken[structs.DeviceKey(best.Vendor, best.Type, best.Name, id)] = true
			}
			if o.taskDevices == nil {
				o.taskDevices = map[string][]*api.AllocatedDeviceResource{}
			}
			o.taskDevices[t.name] = append(o.taskDevices[t.name], best)
			if len(d.req.Affinities) > 0 {
				scoreSum += bestScore
				weight++
			}
		}
	}
	if weight > 0 {
		o.deviceScore = scoreSum / weight
	}
	return ""
}

// freeInstances returns count healthy instances of g that no allocation
// holds, or nil when there are not that many.
func (u *nodeUsage) freeInstances(g *api.NodeDeviceResource, count int, taken map[string]bool) []string {
	var ids []string
	for _, inst := range g.Instances {
		if len(ids) == count {
			break
		}
		key := structs.DeviceKey(g.Vendor, g.Type, g.Name, inst.ID)
		if inst.Healthy && u.deviceHolders(key) == 0 && !taken[key] {
			ids = append(ids, inst.ID)
		}
	}
	if len(ids) < count {
		return nil
	}
	return ids
}

// deviceAffinity is the weighted share of affinities g meets, in [-1, 1].
func deviceAffinity(affinities []*api.Affinity, g *api.NodeDeviceResource, m *constraintMatcher) float64 {
	var sum, total float64
	for _, a := range affinities {
		if a == nil {
			continue
		}
		w := 50.0
		if a.Weight != nil {
			w = float64(*a.Weight)
		}
		total += math.Abs(w)
		if deviceMeets(&api.Constraint{LTarget: a.LTarget, RTarget: a.RTarget, Operand: a.Operand}, g, m) {
			sum += w
		}
	}
	if total == 0 {
		return 0
	}
	return sum / total
}

// deviceTarget resolves a device constraint's target against a group:
// ${device.vendor}, ${device.type}, ${device.model} and
// ${device.attr.<name>}; anything else is a literal value.
func deviceTarget(target string, g *api.NodeDeviceResource) (*api.Attribute, bool) {
	if !strings.HasPrefix(target, "${") || !strings.HasSuffix(target, "}") {
		return devices.ParseAttribute(target), true
	}
	str := func(s string) (*api.Attribute, bool) { return &api.Attribute{StringVal: &s}, true }
	switch key := target[2 : len(target)-1]; key {
	case "device.vendor":
		return str(g.Vendor)
	case "device.type":
		return str(g.Type)
	case "device.model":
		return str(g.Name)
	default:
		name, ok := strings.CutPrefix(key, "device.attr.")
		if !ok {
			return nil, false
		}
		a, found := g.Attributes[name]
		return a, found && a != nil
	}
}

// deviceMeets reports whether the device group satisfies a device
// constraint; numbers compare across units ("40 GiB" with MiB).
func deviceMeets(c *api.Constraint, g *api.NodeDeviceResource, m *constraintMatcher) bool {
	l, lFound := deviceTarget(c.LTarget, g)
	r, rFound := deviceTarget(c.RTarget, g)
	switch c.Operand {
	case api.ConstraintAttributeIsSet:
		return lFound
	case api.ConstraintAttributeIsNotSet:
		return !lFound
	}
	if !lFound || !rFound {
		return c.Operand == "!=" || c.Operand == "not"
	}
	cmp, comparable := devices.CompareAttributes(l, r)
	switch c.Operand {
	case "", "=", "==", "is":
		return comparable && cmp == 0
	case "!=", "not":
		return !comparable || cmp != 0
	case "<":
		return comparable && cmp < 0
	case "<=":
		return comparable && cmp <= 0
	case ">":
		return comparable && cmp > 0
	case ">=":
		return comparable && cmp >= 0
	}
	plain := &api.Constraint{LTarget: attrText(l), RTarget: attrText(r), Operand: c.Operand}
	return m.meets(plain, &api.Node{}, "")
}

// attrText is an attribute's value as text, without its unit, for the
// string operators (regexp, version, set_contains).
func attrText(a *api.Attribute) string {
	b := *a
	b.Unit = ""
	return devices.FormatAttribute(&b)
}
