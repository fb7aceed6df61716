package devices

import (
	"strings"

	"github.com/hashicorp/nomad/api"
)

// Name is a device request's name split into its parts: "gpu" gives only
// a type, "nvidia/gpu" a vendor and type, "nvidia/gpu/Tesla T4" all three.
type Name struct {
	Vendor, Type, Model string
}

// ParseName splits a request name. ok is false for a name of none or more
// than three parts, or with an empty part.
func ParseName(s string) (n Name, ok bool) {
	parts := strings.SplitN(s, "/", 3)
	for _, p := range parts {
		if p == "" {
			return Name{}, false
		}
	}
	switch len(parts) {
	case 1:
		return Name{Type: parts[0]}, true
	case 2:
		return Name{Vendor: parts[0], Type: parts[1]}, true
	default:
		return Name{Vendor: parts[0], Type: parts[1], Model: parts[2]}, true
	}
}

// Matches reports whether the device group answers to the name: every
// part the name gives equals the group's.
func (n Name) Matches(g *api.NodeDeviceResource) bool {
	return (n.Vendor == "" || n.Vendor == g.Vendor) &&
		n.Type == g.Type &&
		(n.Model == "" || n.Model == g.Name)
}

// GroupID is a device group's full name, "vendor/type/model", as Nomad
// prints it.
func GroupID(g *api.NodeDeviceResource) string {
	return g.Vendor + "/" + g.Type + "/" + g.Name
}

// AllocatedID is the full name of an allocated device group.
func AllocatedID(d *api.AllocatedDeviceResource) string {
	return d.Vendor + "/" + d.Type + "/" + d.Name
}
