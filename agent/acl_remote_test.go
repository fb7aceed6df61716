package agent

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/acl"
	"github.com/roam-project/roam/client/rpcservers"
	"github.com/roam-project/roam/rpc"
	"github.com/roam-project/roam/server"
	"github.com/roam-project/roam/structs"
)

// TestRemoteResolver resolves tokens the way a client-only agent does:
// through the servers' ACL.ResolveToken RPC, cached for token_ttl.
func TestRemoteResolver(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	srv, err := server.New(server.Config{NodeName: "remote.global", Region: "global", Datacenter: "dc1",
		RPCAddr: addr, NumSchedulers: 1, ACLEnabled: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	deadline := time.Now().Add(15 * time.Second)
	for !srv.IsLeader() {
		if time.Now().After(deadline) {
			t.Fatal("no leader")
		}
		time.Sleep(10 * time.Millisecond)
	}
	mgmt, err := srv.BootstrapACL(&structs.ACLBootstrapArgs{})
	if err != nil {
		t.Fatal(err)
	}
	clientSecret := clientToken(t, srv, "fs", `namespace "default" { capabilities = ["read-fs"] }`)
	workload := placedIdentity(t, srv)
	servers, err := rpcservers.New([]string{addr}, rpc.DialConfig{Role: rpc.RoleClient})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(servers.Close)
	r := newRemoteResolver(servers, ACLConfig{TokenTTL: 100 * time.Millisecond})

	cases := []struct {
		name    string
		secret  string
		wantErr error
		check   func(*acl.ACL) bool
	}{
		{"management", mgmt.SecretID, nil, (*acl.ACL).IsManagement},
		{"client policy", clientSecret, nil, func(a *acl.ACL) bool {
			return a.AllowNamespaceOperation("default", acl.NamespaceCapabilityReadFS) && !a.AllowNamespaceOperation("default", acl.NamespaceCapabilityReadLogs)
		}},
		{"anonymous", "", nil, func(a *acl.ACL) bool { return !a.AllowNodeRead() }},
		{"unknown", "5b0a7d0c-0000-4000-8000-000000000000", server.ErrTokenNotFound, nil},
		{"workload identity", workload, nil, func(a *acl.ACL) bool {
			return a.AllowVariableOperation("default", "nomad/jobs/wi", acl.VariablesCapabilityRead) &&
				!a.AllowVariableOperation("default", "nomad/jobs/other", acl.VariablesCapabilityRead) &&
				!a.AllowNamespaceOperation("default", acl.NamespaceCapabilityReadFS)
		}},
		{"forged workload identity", workload[:len(workload)-8] + "AAAAAAAA", server.ErrTokenInvalid, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, _, err := r.ResolveToken(tc.secret)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || !tc.check(a) {
				t.Fatalf("resolve: %v, check failed", err)
			}
		})
	}

	t.Run("a deleted token lasts no longer than token_ttl", func(t *testing.T) {
		if _, _, err := r.ResolveToken(clientSecret); err != nil {
			t.Fatal(err)
		}
		tokens, _ := srv.State().Snapshot().ACLTokens()
		var accessor string
		for _, tk := range tokens {
			if tk.SecretID == clientSecret {
				accessor = tk.AccessorID
			}
		}
		if _, err := srv.DeleteACLTokens(&structs.ACLTokenDeleteArgs{AccessorIDs: []string{accessor}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(150 * time.Millisecond)
		if _, _, err := r.ResolveToken(clientSecret); !errors.Is(err, server.ErrTokenNotFound) {
			t.Fatalf("deleted token after token_ttl: %v", err)
		}
	})
}

// placedIdentity places job "wi" on a node of srv and returns its task's
// default workload identity.
func placedIdentity(t *testing.T, srv *server.Server) string {
	t.Helper()
	node := &api.Node{ID: "8d2b5a7e-0000-4000-8000-00000000000a", Name: "n", Datacenter: "dc1", Status: structs.NodeStatusReady,
		NodePool: "default", SchedulingEligibility: structs.NodeSchedulingEligible,
		Attributes: map[string]string{"kernel.name": "linux", "driver.raw_exec": "1"},
		Drivers:    map[string]*api.DriverInfo{"raw_exec": {Detected: true, Healthy: true}},
		NodeResources: &api.NodeResources{Cpu: api.NodeCpuResources{CpuShares: 4000, TotalCpuCores: 4},
			Memory: api.NodeMemoryResources{MemoryMB: 4096}, Disk: api.NodeDiskResources{DiskMB: 10000}}}
	if _, err := srv.RegisterNode(node); err != nil {
		t.Fatal(err)
	}
	job := api.NewServiceJob("wi", "wi", "global", 50)
	job.AddTaskGroup(api.NewTaskGroup("g", 1).AddTask(api.NewTask("t", "raw_exec").SetConfig("command", "/bin/true")))
	job.Canonicalize()
	if _, err := srv.RegisterJob(&structs.JobRegisterArgs{Job: job}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		allocs, _ := srv.State().Snapshot().AllocsByJob("default", "wi")
		if len(allocs) == 1 {
			ids, err := srv.SignIdentities(&structs.AllocSignIdentitiesArgs{AllocID: allocs[0].ID, TaskName: "t"})
			if err != nil {
				t.Fatal(err)
			}
			return ids[0].JWT
		}
		if time.Now().After(deadline) {
			t.Fatal("job wi was not placed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
