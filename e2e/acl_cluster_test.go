package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// TestACLsAcrossACluster: with three servers and a client-only agent, a
// token is checked wherever a request lands: followers pass it on to the
// leader with the request, and the client agent resolves it through the
// servers. A task's workload identity, which the client agent gets from
// the servers over RPC, is honoured on every agent too.
func TestACLsAcrossACluster(t *testing.T) {
	var servers []*agentProc
	for i := 0; i < 3; i++ {
		servers = append(servers, newAgentProc(t, fmt.Sprintf("server%d", i), "acl {\n  enabled = true\n}\n"))
	}
	var serfAddrs, rpcAddrs []string
	for _, s := range servers {
		serfAddrs = append(serfAddrs, fmt.Sprintf("%q", s.serfAddr()))
		rpcAddrs = append(rpcAddrs, fmt.Sprintf("%q", s.rpcAddr()))
	}
	for _, s := range servers {
		s.conf += fmt.Sprintf("server {\n  enabled = true\n  bootstrap_expect = 3\n  server_join {\n    retry_join = [%s]\n    retry_interval = \"1s\"\n  }\n}\n", strings.Join(serfAddrs, ", "))
		s.start(t)
	}
	client := newAgentProc(t, "client0", fmt.Sprintf("acl {\n  enabled = true\n}\nclient {\n  enabled = true\n  servers = [%s]\n  network_interface = \"lo\"\n}\nplugin \"raw_exec\" {\n  config {\n    enabled = true\n  }\n}\n", strings.Join(rpcAddrs, ", ")))
	client.start(t)
	t.Cleanup(func() {
		for _, p := range append([]*agentProc{client}, servers...) {
			p.stop()
		}
	})
	anon := servers[0].client(t)
	waitUntil(t, 60*time.Second, "a leader", func() bool {
		leader, err := anon.Status().Leader()
		return err == nil && leader != ""
	})
	var boot *api.ACLToken
	waitUntil(t, 30*time.Second, "the ACL bootstrap", func() bool {
		var err error
		boot, _, err = anon.ACLTokens().Bootstrap(nil)
		return err == nil
	})
	as := func(p *agentProc, secret string) *api.Client {
		c, err := api.NewClient(&api.Config{Address: p.httpURL, SecretID: secret})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	mgmt := as(servers[0], boot.SecretID)
	if _, err := mgmt.ACLPolicies().Upsert(&api.ACLPolicy{Name: "readonly", Rules: `namespace "default" { policy = "read" }`}, nil); err != nil {
		t.Fatal(err)
	}
	reader, _, err := mgmt.ACLTokens().Create(&api.ACLToken{Type: "client", Policies: []string{"readonly"}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	for i, p := range append(append([]*agentProc{}, servers...), client) {
		t.Run(p.name, func(t *testing.T) {
			id := fmt.Sprintf("acl-%d", i)
			job := shellJob(id, "batch", 1, "true")
			job.Periodic = &api.PeriodicConfig{Spec: ptr("@daily"), SpecType: ptr("cron")}
			// Replication to this agent's server may lag the token's
			// creation by a moment.
			var err error
			waitUntil(t, 10*time.Second, "the reader's token to be known", func() bool {
				_, _, err = as(p, reader.SecretID).Jobs().List(nil)
				return err == nil
			})
			_, _, err = as(p, reader.SecretID).Jobs().Register(job, nil)
			if err == nil || !strings.Contains(err.Error(), "Permission denied") {
				t.Fatalf("read-only register through %s: %v", p.name, err)
			}
			if _, _, err := as(p, boot.SecretID).Jobs().Register(job, nil); err != nil {
				t.Fatalf("management register through %s: %v", p.name, err)
			}
			if _, _, err := as(p, reader.SecretID).Jobs().Info(id, nil); err != nil {
				t.Fatalf("reader reads the job through %s: %v", p.name, err)
			}
			if _, err := as(p, reader.SecretID).Agent().Self(); err == nil || !strings.Contains(err.Error(), "Permission denied") {
				t.Fatalf("agent self without agent:read on %s: %v", p.name, err)
			}
			if _, err := as(p, boot.SecretID).Agent().Self(); err != nil {
				t.Fatalf("agent self with management on %s: %v", p.name, err)
			}
		})
	}

	t.Run("workload identity", func(t *testing.T) {
		for path, secret := range map[string]string{"nomad/jobs/wi-cluster": "mine", "nomad/jobs/acl-0": "theirs"} {
			if _, _, err := mgmt.Variables().Create(&api.Variable{Path: path, Items: api.VariableItems{"secret": secret}}, nil); err != nil {
				t.Fatal(err)
			}
		}
		job := shellJob("wi-cluster", "service", 1, "exec sleep 600")
		job.TaskGroups[0].Tasks[0].Identity = &api.WorkloadIdentity{File: true}
		if _, _, err := mgmt.Jobs().Register(job, nil); err != nil {
			t.Fatal(err)
		}
		var token []byte
		waitUntil(t, 60*time.Second, "the task's identity file", func() bool {
			stubs, _, err := mgmt.Jobs().Allocations("wi-cluster", false, nil)
			if err != nil || len(stubs) == 0 {
				return false
			}
			token, err = os.ReadFile(filepath.Join(client.dir, "data", "alloc", stubs[0].ID, "main", "secrets", "nomad_token"))
			return err == nil && len(token) > 0
		})
		for _, p := range append(append([]*agentProc{}, servers...), client) {
			wi := as(p, string(token))
			v, _, err := wi.Variables().Read("nomad/jobs/wi-cluster", nil)
			if err != nil || v.Items["secret"] != "mine" {
				t.Fatalf("own variable through %s: %+v, %v", p.name, v, err)
			}
			if _, _, err := wi.Variables().Read("nomad/jobs/acl-0", nil); err == nil || !strings.Contains(err.Error(), "403") {
				t.Fatalf("another job's variable through %s: %v", p.name, err)
			}
		}
	})
}
