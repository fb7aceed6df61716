package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// federation is two regions, east and west, of one server and one client
// each, on loopback; west joined east's gossip.
type federation struct {
	east, west             *agentProc
	eastClient, westClient *agentProc
	// token is the management token when ACLs are on, bootstrapped in
	// east (the authoritative region).
	token string
}

// bootstrapSecret is the management token of federations with ACLs.
const bootstrapSecret = "2b778dd9-f5f1-6f29-b4b4-9a5fa948757a"

// federationOptions choose what a federation runs with.
type federationOptions struct {
	// acls turns ACLs on, east bootstrapped with bootstrapSecret.
	acls bool
	// certs, when set, is a directory of certificates made by `roam tls`
	// for both regions (see makeRegionCerts): mutual TLS on HTTP and RPC.
	certs string
}

// startFederation starts the two regions as o says.
func startFederation(t testing.TB, o federationOptions) *federation {
	t.Helper()
	f := &federation{}
	extra := func(p *agentProc, region, role string) string {
		conf := ""
		if o.acls {
			conf += "acl {\n  enabled = true\n}\n"
		}
		if o.certs != "" {
			ca := filepath.Join(o.certs, "nomad-agent-ca.pem")
			prefix := filepath.Join(o.certs, region+"-"+role+"-nomad")
			conf += tlsBlock(ca, prefix+".pem", prefix+"-key.pem")
			p.httpURL = strings.Replace(p.httpURL, "http://", "https://", 1)
			p.tls = &api.TLSConfig{CACert: ca, ClientCert: filepath.Join(o.certs, region+"-cli-nomad.pem"),
				ClientKey: filepath.Join(o.certs, region+"-cli-nomad-key.pem")}
		}
		return conf
	}
	if o.acls {
		f.token = bootstrapSecret
	}
	server := func(region, join string) *agentProc {
		p := newAgentProc(t, "server-"+region, "")
		p.conf += fmt.Sprintf(`region = %q
datacenter = "%s-1"
%s
server {
  enabled          = true
  bootstrap_expect = 1
  encrypt          = %q
  authoritative_region = "east"
%s
}
`, region, region, extra(p, region, "server"), testGossipKey, join)
		return p
	}
	f.east = server("east", "")
	f.west = server("west", fmt.Sprintf("  server_join {\n    retry_join = [%q]\n    retry_interval = \"1s\"\n  }", f.east.serfAddr()))
	client := func(region string, srv *agentProc) *agentProc {
		p := newAgentProc(t, "client-"+region, "")
		p.conf += fmt.Sprintf(`region = %q
datacenter = "%s-1"
%s
client {
  enabled = true
  servers = [%q]
  network_interface = "lo"
}
plugin "raw_exec" {
  config {
    enabled = true
  }
}
`, region, region, extra(p, region, "client"), srv.rpcAddr())
		return p
	}
	f.eastClient, f.westClient = client("east", f.east), client("west", f.west)
	all := []*agentProc{f.east, f.west, f.eastClient, f.westClient}
	for _, p := range all {
		p.start(t)
	}
	t.Cleanup(func() {
		f.stopJobs(t, f.east)
		f.stopJobs(t, f.west)
		for _, p := range all {
			p.stop()
			if t.Failed() {
				out, _ := os.ReadFile(filepath.Join(p.dir, "agent.log"))
				t.Logf("%s log:\n%s", p.name, tail(string(out), 40))
			}
		}
	})
	if o.acls {
		c := f.east.client(t)
		waitUntil(t, 30*time.Second, "east's leader", func() bool {
			leader, err := c.Status().Leader()
			return err == nil && leader != ""
		})
		if _, _, err := c.ACLTokens().BootstrapOpts(bootstrapSecret, nil); err != nil {
			t.Fatalf("bootstrap east: %v", err)
		}
	}
	for _, pair := range [][2]*agentProc{{f.east, f.eastClient}, {f.west, f.westClient}} {
		c := f.api(t, pair[0])
		waitUntil(t, 60*time.Second, "a ready node in "+pair[0].name, func() bool {
			nodes, _, err := c.Nodes().List(nil)
			return err == nil && len(nodes) == 1 && nodes[0].Status == "ready"
		})
	}
	eastAPI := f.api(t, f.east)
	waitUntil(t, 30*time.Second, "both regions known in east", func() bool {
		regions, err := eastAPI.Regions().List()
		return err == nil && slices.Equal(regions, []string{"east", "west"})
	})
	return f
}

// api is an API client of p, with the federation's token.
func (f *federation) api(t testing.TB, p *agentProc) *api.Client {
	c := p.client(t)
	c.SetSecretID(f.token)
	return c
}

// stopJobs stops the jobs of srv's region, unless srv is down, and waits
// for their tasks to stop.
func (f *federation) stopJobs(t testing.TB, srv *agentProc) {
	if srv.cmd.ProcessState != nil {
		return
	}
	c := f.api(t, srv)
	jobs, _, _ := c.Jobs().List(nil)
	for _, j := range jobs {
		_, _, _ = c.Jobs().Deregister(j.ID, true, nil)
	}
	waitUntil(t, 30*time.Second, "tasks stopped in "+srv.name, func() bool {
		allocs, _, err := c.Allocations().List(nil)
		return err != nil || countStatus(allocs, "running")+countStatus(allocs, "pending") == 0
	})
}

// roamAt runs the CLI against the agent p; it returns the output and the
// exit code.
func roamAt(t *testing.T, p *agentProc, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(roamBin, args...)
	cmd.Env = append(append(os.Environ(), "NOMAD_ADDR="+p.httpURL, "NOMAD_REGION=", "ROAM_REGION="), env...)
	out, err := cmd.CombinedOutput()
	if exitErr, ok := err.(*exec.ExitError); ok {
		return string(out), exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("run roam %v: %v", args, err)
	}
	return string(out), 0
}

func TestRegionsForwardRequestsAndJobs(t *testing.T) {
	f := startFederation(t, federationOptions{})
	east := f.east.client(t)
	westViaEast := f.east.client(t)
	westViaEast.SetRegion("west")

	// Any route, asked of east for region west, is answered by west.
	nodes, _, err := westViaEast.Nodes().List(nil)
	if err != nil || len(nodes) != 1 || nodes[0].Datacenter != "west-1" {
		t.Fatalf("west's nodes through east: %+v, %v", nodes, err)
	}
	leader, err := westViaEast.Status().Leader()
	if err != nil || leader != f.west.rpcAddr() {
		t.Fatalf("west's leader through east: %q, %v (want %s)", leader, err, f.west.rpcAddr())
	}

	// A job naming region west, sent to east, runs in west.
	job := shellJob("in-west", "service", 1, "sleep 300")
	job.Region = ptr("west")
	if _, _, err := east.Jobs().Register(job, nil); err != nil {
		t.Fatalf("register a west job at east: %v", err)
	}
	waitRunning(t, f.west.client(t), "in-west", 1)
	if jobs, _, err := east.Jobs().List(nil); err != nil || len(jobs) != 0 {
		t.Fatalf("east's own jobs: %+v, %v (want none)", jobs, err)
	}
	// The job file's region does the same through the CLI.
	dir := t.TempDir()
	spec := `job "cli-west" {
  region = "west"
  group "app" {
    task "main" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "sleep 300"]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "cli-west.hcl"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := roamAt(t, f.east, nil, "job", "run", filepath.Join(dir, "cli-west.hcl")); code != 0 {
		t.Fatalf("job run of a west job at east: exit %d\n%s", code, out)
	}
	waitRunning(t, f.west.client(t), "cli-west", 1)

	// -region and NOMAD_REGION on the CLI.
	out, code := roamAt(t, f.east, nil, "job", "status", "-region", "west", "in-west")
	if code != 0 || !strings.Contains(out, "in-west") || !strings.Contains(out, "running") {
		t.Fatalf("job status -region west at east: exit %d\n%s", code, out)
	}
	out, code = roamAt(t, f.east, []string{"NOMAD_REGION=west"}, "node", "status")
	if code != 0 || !strings.Contains(out, "west-1") || strings.Contains(out, "east-1") {
		t.Fatalf("node status with NOMAD_REGION=west at east: exit %d\n%s", code, out)
	}
	// Every region's servers in server members.
	out, code = roamAt(t, f.east, nil, "server", "members")
	if code != 0 || !strings.Contains(out, "server-east.east") || !strings.Contains(out, "server-west.west") {
		t.Fatalf("server members at east: exit %d\n%s", code, out)
	}

	// An unknown region is refused, listing the known ones; nothing stored.
	out, code = roamAt(t, f.east, nil, "job", "status", "-region", "north")
	if code == 0 || !strings.Contains(out, `No path to region "north"`) || !strings.Contains(out, "east, west") {
		t.Fatalf("job status -region north: exit %d\n%s", code, out)
	}
	nowhere := shellJob("nowhere", "service", 1, "sleep 300")
	nowhere.Region = ptr("north")
	if _, _, err := east.Jobs().Register(nowhere, nil); err == nil || !strings.Contains(err.Error(), "No path to region") {
		t.Fatalf("register a job for region north: %v", err)
	}

	// West down: east keeps serving, and west's requests say it is gone.
	// (West's jobs stop first: its client keeps tasks running without it.)
	f.stopJobs(t, f.west)
	f.west.kill()
	if _, _, err := east.Jobs().List(nil); err != nil {
		t.Fatalf("east with west down: %v", err)
	}
	_, _, err = westViaEast.Jobs().List(nil)
	if err == nil || !strings.Contains(err.Error(), `region "west"`) {
		t.Fatalf("west's jobs with west down: %v", err)
	}
	out, code = roamAt(t, f.east, nil, "job", "status", "-region", "west")
	if code == 0 || !strings.Contains(out, `region "west"`) {
		t.Fatalf("job status -region west with west down: exit %d\n%s", code, out)
	}
}

func TestRegionsReplicateACLsAndNamespaces(t *testing.T) {
	f := startFederation(t, federationOptions{acls: true})
	east, west := f.api(t, f.east), f.api(t, f.west)

	// The bootstrap token, a policy and a namespace written in east are
	// west's too (west resolved the token to answer startFederation).
	policy := &api.ACLPolicy{Name: "readers", Description: "read jobs", Rules: `namespace "*" { policy = "read" }`}
	if _, err := east.ACLPolicies().Upsert(policy, nil); err != nil {
		t.Fatalf("write a policy in east: %v", err)
	}
	if _, err := east.Namespaces().Register(&api.Namespace{Name: "prod", Description: "production"}, nil); err != nil {
		t.Fatalf("write a namespace in east: %v", err)
	}
	// A node pool written in west goes to east, and comes back.
	if _, err := west.NodePools().Register(&api.NodePool{Name: "batch", Description: "batch work"}, nil); err != nil {
		t.Fatalf("write a node pool in west: %v", err)
	}
	if pool, _, err := east.NodePools().Info("batch", nil); err != nil || pool.Description != "batch work" {
		t.Fatalf("a node pool written in west, in east: %+v, %v", pool, err)
	}
	waitUntil(t, 30*time.Second, "the policy, the namespace and the node pool in west", func() bool {
		p, _, err := west.ACLPolicies().Info("readers", nil)
		ns, _, nsErr := west.Namespaces().Info("prod", nil)
		pool, _, poolErr := west.NodePools().Info("batch", nil)
		return err == nil && p.Rules == policy.Rules && nsErr == nil && ns.Description == "production" && poolErr == nil && pool.Description == "batch work"
	})

	// A policy written in west goes to east, and comes back.
	if _, err := west.ACLPolicies().Upsert(&api.ACLPolicy{Name: "from-west", Rules: `node { policy = "read" }`}, nil); err != nil {
		t.Fatalf("write a policy in west: %v", err)
	}
	if _, _, err := east.ACLPolicies().Info("from-west", nil); err != nil {
		t.Fatalf("a policy written in west, in east: %v", err)
	}
	waitUntil(t, 30*time.Second, "the west policy replicated back to west", func() bool {
		_, _, err := west.ACLPolicies().Info("from-west", nil)
		return err == nil
	})

	// An auth method and its binding rule written in west go to east, and
	// come back.
	method := &api.ACLAuthMethod{Name: "corp", Type: "OIDC", TokenLocality: "global", MaxTokenTTL: time.Hour,
		Config: &api.ACLAuthMethodConfig{OIDCDiscoveryURL: "https://idp.example.com", OIDCClientID: "roam"}}
	if _, _, err := west.ACLAuthMethods().Create(method, nil); err != nil {
		t.Fatalf("write an auth method in west: %v", err)
	}
	rule, _, err := west.ACLBindingRules().Create(&api.ACLBindingRule{AuthMethod: "corp", BindType: "policy", BindName: "readers"}, nil)
	if err != nil {
		t.Fatalf("write a binding rule in west: %v", err)
	}
	if _, _, err := east.ACLBindingRules().Get(rule.ID, nil); err != nil {
		t.Fatalf("a binding rule written in west, in east: %v", err)
	}
	waitUntil(t, 30*time.Second, "the auth method and binding rule replicated back to west", func() bool {
		m, _, mErr := west.ACLAuthMethods().Get("corp", nil)
		r, _, rErr := west.ACLBindingRules().Get(rule.ID, nil)
		return mErr == nil && m.Config.OIDCClientID == "roam" && rErr == nil && r.BindName == "readers"
	})

	// A global token made in east works in west; a deletion follows.
	token, _, err := east.ACLTokens().Create(&api.ACLToken{Name: "reader", Type: "client", Policies: []string{"readers"}, Global: true}, nil)
	if err != nil {
		t.Fatalf("create a global token in east: %v", err)
	}
	reader := f.west.client(t)
	reader.SetSecretID(token.SecretID)
	waitUntil(t, 30*time.Second, "the global token usable in west", func() bool {
		_, _, err := reader.Jobs().List(nil)
		return err == nil
	})
	// Deleting the global token in west deletes it in east.
	if _, err := west.ACLTokens().Delete(token.AccessorID, nil); err != nil {
		t.Fatalf("delete the global token in west: %v", err)
	}
	if _, _, err := east.ACLTokens().Info(token.AccessorID, nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("the global token deleted in west, in east: %v", err)
	}
	if _, err := east.ACLPolicies().Delete("from-west", nil); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "the deleted policy gone from west", func() bool {
		_, _, err := west.ACLPolicies().Info("from-west", nil)
		return err != nil && strings.Contains(err.Error(), "404")
	})

	// agent-info in west reports replication.
	out, code := roamAt(t, f.west, []string{"NOMAD_TOKEN=" + f.token}, "agent-info")
	if code != 0 || !strings.Contains(out, "replication") || !strings.Contains(out, "authoritative_region = east") {
		t.Fatalf("agent-info in west: exit %d\n%s", code, out)
	}
}

// BenchmarkRegionForwarding measures what forwarding adds to GET /v1/jobs:
// asked of west itself, and of east for region west (through east's
// tunnel to west's RPC port).
func BenchmarkRegionForwarding(b *testing.B) {
	f := startFederation(b, federationOptions{})
	west := f.west.client(b)
	viaEast := f.east.client(b)
	viaEast.SetRegion("west")
	for i := range 20 {
		job := shellJob(fmt.Sprintf("bench-%d", i), "batch", 0, "true")
		if _, _, err := west.Jobs().Register(job, nil); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name   string
		client *api.Client
	}{{"west-direct", west}, {"east-to-west", viaEast}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				jobs, _, err := bc.client.Jobs().List(nil)
				if err != nil || len(jobs) != 20 {
					b.Fatalf("list: %d jobs, %v", len(jobs), err)
				}
			}
		})
	}
}

// TestRegionsThreeServersTwoDatacenters federates east, three servers
// with clients in two datacenters, and west, one server that joins with
// `server join`: requests for west from any east server, for east from
// west (to any of its servers, followers included), a job spread over
// east's datacenters, and east unharmed when west dies.
func TestRegionsThreeServersTwoDatacenters(t *testing.T) {
	c := startClusterWith(t, clusterOptions{
		serverBlock: `  encrypt = "` + testGossipKey + `"`,
		agentConf: func(p *agentProc) string {
			dc := "east-1"
			if p.name == "client1" {
				dc = "east-2"
			}
			return fmt.Sprintf("region = \"east\"\ndatacenter = %q\n", dc)
		},
	})
	west := newAgentProc(t, "server-west", fmt.Sprintf("region = \"west\"\ndatacenter = \"west-1\"\nserver {\n  enabled = true\n  bootstrap_expect = 1\n  encrypt = %q\n}\n", testGossipKey))
	west.start(t)
	t.Cleanup(west.stop)
	waitUntil(t, 30*time.Second, "west's leader", func() bool {
		leader, err := west.client(t).Status().Leader()
		return err == nil && leader != ""
	})
	if out, code := roamAt(t, west, nil, "server", "join", c.servers[1].serfAddr()); code != 0 {
		t.Fatalf("server join east from west: exit %d\n%s", code, out)
	}
	for _, s := range append(slices.Clone(c.servers), west) {
		cl := s.client(t)
		waitUntil(t, 30*time.Second, "both regions known to "+s.name, func() bool {
			regions, err := cl.Regions().List()
			return err == nil && slices.Equal(regions, []string{"east", "west"})
		})
	}
	out, code := roamAt(t, c.servers[0], nil, "server", "members")
	if code != 0 || strings.Count(out, ".east") != 3 || !strings.Contains(out, "server-west.west") {
		t.Fatalf("server members: exit %d\n%s", code, out)
	}

	// West's leader, asked of every east server; east's nodes, asked of
	// west (which may land on any east server).
	for _, s := range c.servers {
		viaEast := s.client(t)
		viaEast.SetRegion("west")
		if leader, err := viaEast.Status().Leader(); err != nil || leader != west.rpcAddr() {
			t.Fatalf("west's leader through %s: %q, %v", s.name, leader, err)
		}
	}
	eastViaWest := west.client(t)
	eastViaWest.SetRegion("east")
	for range 6 {
		nodes, _, err := eastViaWest.Nodes().List(nil)
		if err != nil || len(nodes) != 2 {
			t.Fatalf("east's nodes through west: %+v, %v", nodes, err)
		}
	}

	// A job spread over east's datacenters, sent through west.
	job := shellJob("spread", "service", 2, "sleep 300")
	job.Region = ptr("east")
	job.Datacenters = []string{"east-*"}
	job.Spreads = []*api.Spread{{Attribute: "${node.datacenter}", Weight: ptr(int8(100))}}
	if _, _, err := west.client(t).Jobs().Register(job, nil); err != nil {
		t.Fatalf("register an east job through west: %v", err)
	}
	allocs := waitRunning(t, c.servers[0].client(t), "spread", 2)
	dcs := map[string]bool{}
	for _, a := range allocs {
		node, _, err := c.servers[0].client(t).Nodes().Info(a.NodeID, nil)
		if err != nil {
			t.Fatal(err)
		}
		dcs[node.Datacenter] = true
	}
	if !dcs["east-1"] || !dcs["east-2"] {
		t.Fatalf("spread allocations in datacenters %v, want east-1 and east-2", dcs)
	}
	out, code = roamAt(t, c.servers[2], nil, "node", "status")
	if code != 0 || !strings.Contains(out, "east-1") || !strings.Contains(out, "east-2") {
		t.Fatalf("node status: exit %d\n%s", code, out)
	}

	// West dies: east serves on, and says west is gone.
	west.kill()
	east := c.servers[0].client(t)
	if _, _, err := east.Jobs().List(nil); err != nil {
		t.Fatalf("east with west down: %v", err)
	}
	east.SetRegion("west")
	if _, _, err := east.Jobs().List(nil); err == nil || !strings.Contains(err.Error(), `region "west"`) {
		t.Fatalf("west's jobs with west down: %v", err)
	}
}

// makeRegionCerts makes, in a new directory, a CA and the server, client
// and CLI certificates of regions east and west.
func makeRegionCerts(t *testing.T) string {
	dir := t.TempDir()
	runRoam(t, dir, nil, "tls", "ca", "create")
	for _, region := range []string{"east", "west"} {
		for _, role := range []string{"-server", "-client", "-cli"} {
			runRoam(t, dir, nil, "tls", "cert", "create", role, "-region", region)
		}
	}
	return dir
}

// TestRegionsOverMutualTLS federates two regions whose servers hold
// server.east.nomad and server.west.nomad certificates of one CA: east
// forwards to west, checking west's name, and west replicates from east
// as a server of another region.
func TestRegionsOverMutualTLS(t *testing.T) {
	f := startFederation(t, federationOptions{certs: makeRegionCerts(t)})
	east, west := f.east.client(t), f.west.client(t)
	westViaEast := f.east.client(t)
	westViaEast.SetRegion("west")
	if nodes, _, err := westViaEast.Nodes().List(nil); err != nil || len(nodes) != 1 || nodes[0].Datacenter != "west-1" {
		t.Fatalf("west's nodes through east over TLS: %+v, %v", nodes, err)
	}
	if _, err := east.Namespaces().Register(&api.Namespace{Name: "tls-ns"}, nil); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "east's namespace replicated to west over TLS", func() bool {
		_, _, err := west.Namespaces().Info("tls-ns", nil)
		return err == nil
	})
	job := shellJob("tls-west", "service", 1, "sleep 300")
	job.Region = ptr("west")
	if _, _, err := east.Jobs().Register(job, nil); err != nil {
		t.Fatalf("a west job sent to east over TLS: %v", err)
	}
	waitRunning(t, west, "tls-west", 1)
}
