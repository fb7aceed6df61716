//go:build browser && linux

package ui_test

import (
	"fmt"
	"testing"

	"github.com/hashicorp/nomad/api"
)

// TestBrowserStorage checks the Storage view lists a client's host
// volumes and the allocation that mounts one, and the client page lists
// them too.
func TestBrowserStorage(t *testing.T) {
	dir := t.TempDir()
	agent := startAgentWith(t, fmt.Sprintf("client {\n  host_volume \"ui-data\" {\n    path = %q\n  }\n  host_volume \"ui-certs\" {\n    path = %q\n    read_only = true\n  }\n}\n", dir, dir))
	c := agent.client
	job := loopJob("ui-volume", 1, "mounted")
	job.TaskGroups[0].Volumes = map[string]*api.VolumeRequest{"data": {Name: "data", Type: "host", Source: "ui-data"}}
	job.TaskGroups[0].Tasks[0].VolumeMounts = []*api.VolumeMount{{Volume: ptr("data"), Destination: ptr("/data")}}
	if _, _, err := c.Jobs().Register(job, nil); err != nil {
		t.Fatalf("register: %v", err)
	}
	allocs := runningAllocs(t, c, "ui-volume", 1)
	b := newBrowser(t, agent.url)
	b.open(t, "/ui/storage")
	b.waitFor(t, "the storage view lists both volumes and the mounting allocation",
		mainHas("ui-data", "ui-certs", "read-only", "read-write", dir)+
			fmt.Sprintf(` && !!document.querySelector('main a[href="/ui/allocations/%s"]')`, allocs[0].ID))
	b.screenshot(t, "storage")
	b.open(t, "/ui/clients/"+allocs[0].NodeID)
	b.waitFor(t, "the client page lists its host volumes and devices", mainHas("Host volumes", "ui-certs", "Devices", "No devices fingerprinted."))
}
