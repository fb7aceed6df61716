package scheduler

import (
	"bytes"
	"encoding/json"

	"github.com/hashicorp/nomad/api"
)

// deref returns *p, or the zero value when p is nil.
func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// jobType is the job's type, "service" when unset.
func jobType(job *api.Job) string {
	if job == nil || job.Type == nil || *job.Type == "" {
		return "service"
	}
	return *job.Type
}

// jobChanged reports whether an allocation's job is an older (or other)
// version than the current job.
func jobChanged(old, current *api.Job) bool {
	if old == nil || old == current {
		return false
	}
	return deref(old.Version) != deref(current.Version) ||
		deref(old.JobModifyIndex) != deref(current.JobModifyIndex)
}

// findGroup returns the named group of job, or nil.
func findGroup(job *api.Job, name string) *api.TaskGroup {
	if job == nil {
		return nil
	}
	for _, tg := range job.TaskGroups {
		if deref(tg.Name) == name {
			return tg
		}
	}
	return nil
}

// destructiveChange reports whether the group's allocations must be
// replaced to run the current job: a task's driver, user, config,
// environment, artifacts, templates, identities, resources, volumes or
// lifecycle changed, a task was added or removed, or the group's network or
// ephemeral disk changed. Changes to meta, count, update and the like are
// applied in place.
func destructiveChange(old, current *api.Job, group string) bool {
	a, b := findGroup(old, group), findGroup(current, group)
	if a == nil || b == nil {
		return true
	}
	if !sameJSON(a.Networks, b.Networks) ||
		!sameJSON(a.EphemeralDisk, b.EphemeralDisk) ||
		!sameJSON(a.Volumes, b.Volumes) ||
		len(a.Tasks) != len(b.Tasks) {
		return true
	}
	for i, at := range a.Tasks {
		if taskChanged(at, b.Tasks[i]) {
			return true
		}
	}
	return false
}

func taskChanged(a, b *api.Task) bool {
	return a.Name != b.Name ||
		a.Driver != b.Driver ||
		a.User != b.User ||
		!sameJSON(a.Config, b.Config) ||
		!sameJSON(a.Env, b.Env) ||
		!sameJSON(a.Artifacts, b.Artifacts) ||
		!sameJSON(a.Templates, b.Templates) ||
		!sameJSON(a.Lifecycle, b.Lifecycle) ||
		!sameJSON(a.VolumeMounts, b.VolumeMounts) ||
		!sameJSON(a.Vault, b.Vault) ||
		!sameJSON(a.DispatchPayload, b.DispatchPayload) ||
		!sameJSON(a.Identity, b.Identity) ||
		!sameJSON(a.Identities, b.Identities) ||
		resourcesChanged(a.Resources, b.Resources)
}

func resourcesChanged(a, b *api.Resources) bool {
	if a == nil || b == nil {
		return a != b
	}
	return deref(a.CPU) != deref(b.CPU) ||
		deref(a.Cores) != deref(b.Cores) ||
		deref(a.MemoryMB) != deref(b.MemoryMB) ||
		deref(a.MemoryMaxMB) != deref(b.MemoryMaxMB) ||
		deref(a.DiskMB) != deref(b.DiskMB) ||
		!sameJSON(a.Networks, b.Networks) ||
		!sameJSON(a.Devices, b.Devices)
}

// sameJSON compares two values by their JSON form, so that a job decoded
// from storage (integers) and one decoded from HTTP (floats) compare equal
// when they say the same.
func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}
