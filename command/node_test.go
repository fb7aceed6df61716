package command

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// TestNodeListColumnsMatchNomad checks the node list's columns for each
// flag, in the order Nomad's `node status` prints them.
func TestNodeListColumnsMatchNomad(t *testing.T) {
	nodes := []*api.NodeListStub{{ID: nodeUUID, NodePool: "default", Datacenter: "dc1", Name: "node1",
		Address: "10.0.0.1", Version: "1.9.0", SchedulingEligibility: "eligible", Status: "ready",
		Attributes: map[string]string{"os.name": "ubuntu"}}}
	id := nodeUUID[:8]
	cases := []struct {
		name string
		view nodeListView
		want string
	}{
		{"plain", nodeListView{},
			"ID        Node Pool  DC   Name   Class   Drain  Eligibility  Status\n" +
				id + "  default    dc1  node1  <none>  false  eligible     ready"},
		{"os", nodeListView{os: true},
			"ID        Node Pool  DC   Name   Class   OS      Drain  Eligibility  Status\n" +
				id + "  default    dc1  node1  <none>  ubuntu  false  eligible     ready"},
		{"allocs", nodeListView{allocs: true},
			"ID        Node Pool  DC   Name   Class   Drain  Eligibility  Status  Running Allocs\n" +
				id + "  default    dc1  node1  <none>  false  eligible     ready   3"},
		{"verbose", nodeListView{verbose: true},
			"ID                                    Node Pool  DC   Name   Class   Address   Version  Drain  Eligibility  Status\n" +
				nodeUUID + "  default    dc1  node1  <none>  10.0.0.1  1.9.0    false  eligible     ready"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := formatNodeListView(nodes, tc.view, map[string]int{nodeUUID: 3})
			if got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// TestNodeHeaderFullID checks that `node status <node>` shows the node's
// full ID, as Nomad's does.
func TestNodeHeaderFullID(t *testing.T) {
	rows := nodeHeader(&api.Node{ID: nodeUUID, Name: "node1"}, nil, false)
	if len(rows) == 0 || rows[0] != "ID|"+nodeUUID {
		t.Errorf("first row %q, want the full ID", strings.Join(rows[:1], ""))
	}
}

// TestFormatDrain checks the Drain row of `node status <node>`.
func TestFormatDrain(t *testing.T) {
	deadline := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		node *api.Node
		want string
	}{
		{"not draining", &api.Node{}, "false"},
		{"no deadline", &api.Node{Drain: true, DrainStrategy: &api.DrainStrategy{}}, "true; no deadline"},
		{"force", &api.Node{Drain: true, DrainStrategy: &api.DrainStrategy{DrainSpec: api.DrainSpec{Deadline: -1}}}, "true; force drain"},
		{"deadline, system jobs stay", &api.Node{Drain: true, DrainStrategy: &api.DrainStrategy{
			DrainSpec: api.DrainSpec{Deadline: time.Hour, IgnoreSystemJobs: true}, ForceDeadline: deadline}},
			"true; " + formatTime(deadline) + " deadline; ignoring system jobs"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatDrain(tc.node); got != tc.want {
				t.Errorf("drain = %q, want %q", got, tc.want)
			}
		})
	}
}
