//go:build browser && linux

package ui_test

import (
	"fmt"
	"testing"
	"time"
)

// TestBrowserRegions federates two dev agents, east and west: the header's
// region switcher shows both, and picking west shows west's clients, its
// datacenters, and its topology grouped by datacenter.
func TestBrowserRegions(t *testing.T) {
	east := startAgentWith(t, "name = \"node-east\"\nregion = \"east\"\ndatacenter = \"east-1\"\n")
	west := startAgentWith(t, "name = \"node-west\"\nregion = \"west\"\ndatacenter = \"west-1\"\n")
	self, err := east.client.Agent().Self()
	if err != nil {
		t.Fatal(err)
	}
	serf := self.Config["Ports"].(map[string]any)["Serf"]
	if _, err := west.client.Agent().Join(fmt.Sprintf("127.0.0.1:%v", serf)); err != nil {
		t.Fatalf("join west to east: %v", err)
	}
	waitUntil(t, 30*time.Second, "east knows west", func() error {
		regions, err := east.client.Regions().List()
		if err == nil && len(regions) != 2 {
			err = fmt.Errorf("regions %v", regions)
		}
		return err
	})

	b := newBrowser(t, east.url)
	b.open(t, "/ui/clients")
	b.waitFor(t, "the switcher offers east and west, east's clients shown",
		`!document.getElementById('region-label').hidden && [...document.getElementById('region').options].map(o => o.value).join() === 'east,west' && `+
			`document.getElementById('region').value === 'east' && document.getElementById('dcs').textContent === 'Datacenters: east-1' && `+mainHas("node-east"))
	eval[bool](t, b, `(() => { const s = document.getElementById('region'); s.value = 'west'; s.dispatchEvent(new Event('change')); return true; })()`)
	b.waitFor(t, "west's clients and datacenters",
		`document.getElementById('dcs').textContent === 'Datacenters: west-1' && `+mainHas("node-west")+` && !`+mainHas("node-east"))
	b.screenshot(t, "regions-west-clients")
	b.open(t, "/ui/topology")
	b.waitFor(t, "west's topology grouped by datacenter, west still chosen",
		`document.getElementById('region').value === 'west' && [...document.querySelectorAll('.topo-dc')].map(e => e.innerText).join() === 'Datacenter west-1 · 1 clients' && `+mainHas("node-west"))
}
