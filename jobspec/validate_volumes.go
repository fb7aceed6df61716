package jobspec

import (
	"github.com/hashicorp/nomad/api"
)

// Volume types a group's `volume` block may name, and the propagation
// modes of a `volume_mount`.
var (
	volumeTypes      = map[string]bool{"host": true, "csi": true}
	propagationModes = map[string]bool{"": true, api.VolumeMountPropagationPrivate: true,
		api.VolumeMountPropagationHostToTask: true, api.VolumeMountPropagationBidirectional: true}
)

// validateVolumes checks the group's `volume` blocks and that every task's
// `volume_mount` names one of them, as Nomad's messages say it.
func validateVolumes(p problems, tg *api.TaskGroup) {
	for name, v := range tg.Volumes {
		if v == nil {
			continue
		}
		vp := p.under("Volume " + name)
		if !volumeTypes[v.Type] {
			vp.addf("volume has unrecognized type %q", v.Type)
		}
		if v.Source == "" {
			vp.addf("volume has an empty source")
		}
	}
	for _, t := range tg.Tasks {
		for i, vm := range t.VolumeMounts {
			if vm == nil {
				continue
			}
			name := deref(vm.Volume)
			if _, ok := tg.Volumes[name]; !ok {
				p.addf("Task %s: Volume Mount (%d) references undefined volume %q", t.Name, i, name)
			}
			if deref(vm.Destination) == "" {
				p.addf("Task %s: Volume Mount (%d) has an empty destination", t.Name, i)
			}
			if !propagationModes[deref(vm.PropagationMode)] {
				p.addf("Task %s: Volume Mount (%d) has an invalid propagation mode %q", t.Name, i, deref(vm.PropagationMode))
			}
		}
	}
}
