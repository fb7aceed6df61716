package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// regionServerBlock is the configuration of the lone server of region,
// joining join (an address, or none), replicating from east.
func regionServerBlock(region, join string) string {
	joinBlock := ""
	if join != "" {
		joinBlock = fmt.Sprintf("  server_join {\n    retry_join     = [%q]\n    retry_interval = \"1s\"\n  }\n", join)
	}
	return fmt.Sprintf(`region     = %q
datacenter = "%s-1"
server {
  enabled              = true
  bootstrap_expect     = 1
  authoritative_region = "east"
%s}
`, region, region, joinBlock)
}

// TestPartitionRegionsWANCutAndHealed cuts the link between two regions:
// each keeps taking writes, forwarding to the other says it is
// unreachable, and once healed forwarding and replication resume with
// nothing lost on either side.
func TestPartitionRegionsWANCutAndHealed(t *testing.T) {
	dc := newDockerCluster(t)
	east := dc.start(t, "east", regionServerBlock("east", ""))
	west := dc.start(t, "west", regionServerBlock("west", east.clusterIP))
	eastToWest := *east.api
	eastToWest.SetRegion("west")
	waitUntil(t, 60*time.Second, "east forwarding to west", func() bool {
		leader, err := eastToWest.Status().Leader()
		return err == nil && strings.HasPrefix(leader, west.clusterIP+":")
	})
	for _, w := range []struct {
		a  *containerAgent
		id string
	}{{east, "east-before"}, {west, "west-before"}} {
		if _, _, err := w.a.api.Jobs().Register(sleeperJob(w.id, 1), nil); err != nil {
			t.Fatalf("register %s: %v", w.id, err)
		}
	}

	t.Logf("cutting west off")
	dc.disconnect(t, west)
	if _, _, err := east.api.Jobs().Register(sleeperJob("east-during", 1), nil); err != nil {
		t.Fatalf("east during the cut: %v", err)
	}
	if _, err := east.api.Namespaces().Register(&api.Namespace{Name: "during", Description: "written in the cut"}, nil); err != nil {
		t.Fatalf("a namespace in east during the cut: %v", err)
	}
	if _, _, err := west.api.Jobs().Register(sleeperJob("west-during", 1), nil); err != nil {
		t.Fatalf("west during the cut: %v", err)
	}
	if _, _, err := eastToWest.Jobs().List(nil); err == nil || !strings.Contains(err.Error(), `region "west"`) {
		t.Fatalf("west's jobs through east during the cut: %v, want an error naming west", err)
	}

	t.Logf("healing")
	dc.connect(t, west)
	waitUntil(t, 120*time.Second, "west's jobs through east again", func() bool {
		jobs, _, err := eastToWest.Jobs().List(nil)
		return err == nil && len(jobs) == 2
	})
	waitUntil(t, 120*time.Second, "the namespace written in the cut replicated to west", func() bool {
		ns, _, err := west.api.Namespaces().Info("during", nil)
		return err == nil && ns.Description == "written in the cut"
	})
	for _, c := range []struct {
		a    *containerAgent
		want []string
	}{{east, []string{"east-before", "east-during"}}, {west, []string{"west-before", "west-during"}}} {
		ids, err := staleJobIDs(c.a)
		if err != nil || len(ids) != 2 || !ids[c.want[0]] || !ids[c.want[1]] {
			t.Fatalf("%s's jobs after healing: %v, %v; want %v", c.a.name, ids, err, c.want)
		}
	}
}
