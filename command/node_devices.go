package command

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/devices"
)

// deviceInstanceName is how Nomad names one device instance:
// "vendor/type/model[ID]".
func deviceInstanceName(vendor, typ, name, id string) string {
	return fmt.Sprintf("%s/%s/%s[%s]", vendor, typ, name, id)
}

// formatDeviceUtilization lists each device instance with its summary
// statistic (a GPU's memory in use), as Nomad's "Device Resource
// Utilization".
func formatDeviceUtilization(stats []*api.DeviceGroupStats) string {
	var rows []string
	for _, g := range stats {
		for _, id := range sortedKeys(g.InstanceStats) {
			s := g.InstanceStats[id]
			rows = append(rows, deviceInstanceName(g.Vendor, g.Type, g.Name, id)+"|"+s.Summary.String())
		}
	}
	slices.Sort(rows)
	return formatList(rows)
}

// formatDeviceInstances lists the node's device instances with their
// health and PCI address.
func formatDeviceInstances(node *api.Node) string {
	rows := []string{"Device|Healthy|Health Description|PCI Bus ID"}
	for _, g := range node.NodeResources.Devices {
		for _, inst := range g.Instances {
			bus := ""
			if inst.Locality != nil {
				bus = inst.Locality.PciBusID
			}
			rows = append(rows, fmt.Sprintf("%s|%s|%s|%s", deviceInstanceName(g.Vendor, g.Type, g.Name, inst.ID),
				strconv.FormatBool(inst.Healthy), inst.HealthDescription, bus))
		}
	}
	return formatList(rows)
}

// formatDeviceAttributes renders each device group's attributes, as
// Nomad's "Device Group Attributes".
func formatDeviceAttributes(node *api.Node) string {
	out := ""
	for i, g := range node.NodeResources.Devices {
		rows := []string{"Device Group|" + devices.GroupID(g)}
		for _, k := range sortedKeys(g.Attributes) {
			rows = append(rows, k+"|"+devices.FormatAttribute(g.Attributes[k]))
		}
		if i > 0 {
			out += "\n\n"
		}
		out += formatKV(rows)
	}
	return out
}

// formatDeviceStats renders every statistic of every instance, for
// `node status -stats`.
func formatDeviceStats(stats []*api.DeviceGroupStats) string {
	out := ""
	for _, g := range stats {
		for _, id := range sortedKeys(g.InstanceStats) {
			s := g.InstanceStats[id]
			rows := []string{"Device|" + deviceInstanceName(g.Vendor, g.Type, g.Name, id)}
			if s.Stats != nil {
				for _, k := range sortedKeys(s.Stats.Attributes) {
					rows = append(rows, k+"|"+s.Stats.Attributes[k].String())
				}
			}
			if out != "" {
				out += "\n\n"
			}
			out += formatKV(rows)
		}
	}
	return out
}
