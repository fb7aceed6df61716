package scheduler

import (
	"github.com/hashicorp/nomad/api"
)

// filterHostVolumes is the reason recorded for nodes lacking a group's
// host volume, as Nomad records it.
const filterHostVolumes = "missing compatible host volumes"

// hostVolumeAsk is one `volume` block of type "host".
type hostVolumeAsk struct {
	source   string
	readOnly bool
}

func newHostVolumeAsks(tg *api.TaskGroup) []hostVolumeAsk {
	var out []hostVolumeAsk
	for _, v := range tg.Volumes {
		if v != nil && v.Type == "host" {
			out = append(out, hostVolumeAsk{source: v.Source, readOnly: v.ReadOnly})
		}
	}
	return out
}

// hostVolumesReason says why the node cannot give the group its host
// volumes: one is missing, or read-only where the group writes.
func hostVolumesReason(asks []hostVolumeAsk, node *api.Node) string {
	for _, a := range asks {
		hv, ok := node.HostVolumes[a.source]
		if !ok || hv == nil || (hv.ReadOnly && !a.readOnly) {
			return filterHostVolumes
		}
	}
	return ""
}
