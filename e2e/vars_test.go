package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// TestVariablesWithAPIClient drives /v1/var and /v1/vars with the official
// client: create, read, list by prefix, check-and-set conflicts, delete.
func TestVariablesWithAPIClient(t *testing.T) {
	a := startDevAgent(t, "")
	vars := a.client.Variables()

	created, _, err := vars.Create(&api.Variable{Path: "app/db", Items: api.VariableItems{"user": "dba", "pass": "hunter2"}}, nil)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.Namespace != "default" || created.CreateIndex == 0 || created.CreateIndex != created.ModifyIndex || created.CreateTime == 0 {
		t.Fatalf("created variable metadata = %+v", created)
	}
	for _, p := range []string{"app/web", "other/x"} {
		if _, _, err := vars.Create(&api.Variable{Path: p, Items: api.VariableItems{"k": "v"}}, nil); err != nil {
			t.Fatalf("create %s: %v", p, err)
		}
	}

	read, _, err := vars.Read("app/db", nil)
	if err != nil || read.Items["pass"] != "hunter2" || read.ModifyIndex != created.ModifyIndex {
		t.Fatalf("read = %+v, %v", read, err)
	}
	if _, _, err := vars.Read("app/missing", nil); !errors.Is(err, api.ErrVariablePathNotFound) {
		t.Fatalf("read of a missing variable: %v", err)
	}
	if v, _, err := vars.Peek("app/missing", nil); v != nil || err != nil {
		t.Fatalf("peek of a missing variable = %+v, %v", v, err)
	}

	list, _, err := vars.PrefixList("app/", nil)
	if err != nil || len(list) != 2 || list[0].Path != "app/db" || list[1].Path != "app/web" {
		t.Fatalf("prefix list = %+v, %v", list, err)
	}
	if all, _, err := vars.List(nil); err != nil || len(all) != 3 {
		t.Fatalf("list = %+v, %v", all, err)
	}

	stale := read.Copy()
	stale.Items["pass"] = "new"
	updated, _, err := vars.CheckedUpdate(stale, nil)
	if err != nil || updated.Items["pass"] != "new" || updated.ModifyIndex <= read.ModifyIndex {
		t.Fatalf("checked update = %+v, %v", updated, err)
	}
	// stale still carries the old ModifyIndex: the server answers 409 with
	// the current variable.
	_, _, err = vars.CheckedUpdate(stale, nil)
	var conflict api.ErrCASConflict
	if !errors.As(err, &conflict) || conflict.Conflict.ModifyIndex != updated.ModifyIndex || conflict.Conflict.Items["pass"] != "new" {
		t.Fatalf("stale checked update: %v", err)
	}
	if _, _, err := vars.CheckedCreate(&api.Variable{Path: "app/db", Items: api.VariableItems{"a": "b"}}, nil); !errors.As(err, &conflict) {
		t.Fatalf("checked create of an existing variable: %v", err)
	}
	if _, err := vars.CheckedDelete("app/db", read.ModifyIndex, nil); !errors.As(err, &conflict) {
		t.Fatalf("stale checked delete: %v", err)
	}
	if _, err := vars.CheckedDelete("app/db", updated.ModifyIndex, nil); err != nil {
		t.Fatalf("checked delete: %v", err)
	}
	if _, err := vars.Delete("app/web", nil); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if list, _, err := vars.PrefixList("app/", nil); err != nil || len(list) != 0 {
		t.Fatalf("list after delete = %+v, %v", list, err)
	}
	if _, _, err := vars.Create(&api.Variable{Path: "nomad/secret", Items: api.VariableItems{"k": "v"}}, nil); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("write under the reserved nomad/ tree: %v", err)
	}
}

// TestVariablesWithCLI drives `roam var put/get/list/purge`.
func TestVariablesWithCLI(t *testing.T) {
	a := startDevAgent(t, "")
	out, code := a.roam(t, "var", "put", "secret/creds", "passcode=my-long-passcode", "user=dba")
	if code != 0 || !strings.Contains(out, `Created variable "secret/creds" with modify index`) {
		t.Fatalf("var put: exit %d\n%s", code, out)
	}
	out, code = a.roam(t, "var", "get", "-out", "table", "secret/creds")
	if code != 0 || !strings.Contains(out, "Path        = secret/creds") || !strings.Contains(out, "passcode = my-long-passcode") {
		t.Fatalf("var get -out table: exit %d\n%s", code, out)
	}
	out, code = a.roam(t, "var", "get", "secret/creds")
	var got api.Variable
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got.Items["user"] != "dba" {
		t.Fatalf("var get (json when redirected): exit %d\n%s", code, out)
	}
	out, code = a.roam(t, "var", "get", "-item", "user", "secret/creds")
	if code != 0 || out != "dba" {
		t.Fatalf("var get -item: exit %d %q", code, out)
	}

	out, code = a.roam(t, "var", "put", "-check-index", "1", "secret/creds", "passcode=x")
	if code != 1 || !strings.Contains(out, "Check-and-Set conflict") {
		t.Fatalf("var put with a stale -check-index: exit %d\n%s", code, out)
	}
	out, code = a.roam(t, "var", "put", "-check-index", "1", "-force", "secret/creds", "passcode=x")
	if code != 0 || !strings.Contains(out, `Updated variable "secret/creds"`) {
		t.Fatalf("var put -force: exit %d\n%s", code, out)
	}

	out, code = a.roam(t, "var", "list", "-out", "table", "secret/")
	if code != 0 || !strings.Contains(out, "Namespace  Path          Last Updated") || !strings.Contains(out, "default    secret/creds") {
		t.Fatalf("var list: exit %d\n%s", code, out)
	}
	out, code = a.roam(t, "var", "purge", "secret/creds")
	if code != 0 || !strings.Contains(out, `Successfully purged variable "secret/creds"!`) {
		t.Fatalf("var purge: exit %d\n%s", code, out)
	}
	out, code = a.roam(t, "var", "list", "-out", "table", "secret/")
	if code != 0 || !strings.Contains(out, "No matching variables found") {
		t.Fatalf("var list after purge: exit %d\n%s", code, out)
	}
	out, code = a.roam(t, "var", "get", "secret/creds")
	if code != 1 || !strings.Contains(out, "variable not found") {
		t.Fatalf("var get after purge: exit %d\n%s", code, out)
	}
}

// TestVariablesReadableOnEveryServer writes a variable through the leader
// and reads it from each server's own state (stale reads): a follower
// fetches the key that sealed it from its peers, which needs servers that
// authenticate each other (here by the gossip key's cluster secret). After
// the leader dies, the new leader still opens it.
func TestVariablesReadableOnEveryServer(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	c := startClusterWith(t, clusterOptions{serverBlock: `  encrypt = "` + testGossipKey + `"`})
	leader := c.leader(t, c.servers[0])
	if _, _, err := leader.client(t).Variables().Create(&api.Variable{Path: "app/db", Items: api.VariableItems{"pass": "hunter2"}}, nil); err != nil {
		t.Fatalf("create through the leader: %v", err)
	}
	for _, s := range c.servers {
		client := s.client(t)
		waitUntil(t, 30*time.Second, s.name+" to open the variable", func() bool {
			v, _, err := client.Variables().Read("app/db", &api.QueryOptions{AllowStale: true})
			if err != nil && !errors.Is(err, api.ErrVariablePathNotFound) {
				t.Logf("%s: %v", s.name, err)
			}
			return err == nil && v.Items["pass"] == "hunter2"
		})
	}
	leader.kill()
	survivor := c.other(leader)
	c.leader(t, survivor)
	v, _, err := survivor.client(t).Variables().Read("app/db", nil)
	if err != nil || v.Items["pass"] != "hunter2" {
		t.Fatalf("read after the leader died = %+v, %v", v, err)
	}
}

// TestVariableLocks drives Nomad's variable locks through the Go client:
// one holder at a time, renewals, writes only with the lock's ID, and a
// release that leaves the items.
func TestVariableLocks(t *testing.T) {
	a := startDevAgent(t, "")
	vars := a.client.Variables()
	v := &api.Variable{Path: "locks/leader", Items: api.VariableItems{"holder": "a"}}
	held, _, err := vars.AcquireLock(v, nil)
	if err != nil || held.Lock == nil || held.Lock.ID == "" || held.Lock.TTL != "15s" {
		t.Fatalf("acquire: %+v, %v", held, err)
	}
	steps := []struct {
		name string
		run  func() error
		want string // "" for success, else a substring of the error
	}{
		{"a second holder is refused", func() error {
			_, _, err := vars.AcquireLock(&api.Variable{Path: "locks/leader"}, nil)
			return err
		}, "409"},
		{"a write without the lock ID is refused", func() error {
			_, _, err := vars.Create(&api.Variable{Path: "locks/leader", Items: api.VariableItems{"holder": "b"}}, nil)
			return err
		}, "409"},
		{"the holder renews", func() error {
			m, _, err := vars.RenewLock(held, nil)
			if err == nil && (m.Lock == nil || m.Lock.ID != held.Lock.ID) {
				return fmt.Errorf("renewal answered %+v", m)
			}
			return err
		}, ""},
		{"the holder writes", func() error {
			w := *held
			w.Items = api.VariableItems{"holder": "a", "term": "2"}
			_, _, err := vars.Update(&w, nil)
			return err
		}, ""},
		{"the holder releases", func() error {
			_, _, err := vars.ReleaseLock(held, nil)
			return err
		}, ""},
		{"the items stay, unlocked", func() error {
			got, _, err := vars.Read("locks/leader", nil)
			if err == nil && (got.Lock != nil || got.Items["term"] != "2") {
				return fmt.Errorf("after release: lock %+v, items %v", got.Lock, got.Items)
			}
			return err
		}, ""},
	}
	for _, st := range steps {
		err := st.run()
		switch {
		case st.want == "" && err != nil:
			t.Fatalf("%s: %v", st.name, err)
		case st.want != "" && (err == nil || !strings.Contains(err.Error(), st.want)):
			t.Fatalf("%s: %v, want an error with %q", st.name, err, st.want)
		}
	}
}

// TestVariableSpecFiles writes a variable from var init's specification
// and reads it back in the hcl and go-template formats.
func TestVariableSpecFiles(t *testing.T) {
	a := startDevAgent(t, "")
	spec := filepath.Join(t.TempDir(), "spec.nv.hcl")
	if out, code := a.roam(t, "var", "init", spec); code != 0 || !strings.Contains(out, "Example variable specification written to") {
		t.Fatalf("var init: exit %d\n%s", code, out)
	}
	if out, code := a.roam(t, "var", "init", spec); code != 1 || !strings.Contains(out, "already exists") {
		t.Fatalf("var init over a file: exit %d\n%s", code, out)
	}
	if out, code := a.roam(t, "var", "put", "@"+spec, "key2=override"); code != 0 || !strings.Contains(out, `Created variable "path/to/variable"`) {
		t.Fatalf("var put @spec: exit %d\n%s", code, out)
	}
	out, code := a.roam(t, "var", "get", "-out", "hcl", "path/to/variable")
	if code != 0 || !strings.Contains(out, `key1 = "value 1"`) || !strings.Contains(out, `key2 = "override"`) || !strings.Contains(out, `path      = "path/to/variable"`) {
		t.Fatalf("var get -out hcl: exit %d\n%s", code, out)
	}
	out, code = a.roam(t, "var", "get", "-out", "go-template", "-template", "{{ .Path }}={{ .Items.key2 }}", "path/to/variable")
	if code != 0 || strings.TrimSpace(out) != "path/to/variable=override" {
		t.Fatalf("var get -out go-template: exit %d\n%s", code, out)
	}
}

// TestVariableLockWithCLI holds a variable's lock with `var lock` while a
// child command runs: a write without the lock is refused meanwhile, the
// lock is released when the child exits, and the child's exit code is
// var lock's.
func TestVariableLockWithCLI(t *testing.T) {
	a := startDevAgent(t, "")
	child := fmt.Sprintf(`NOMAD_ADDR=%s %s var put -force app/leader k=v; echo "put=$?"; exit 3`, a.addr, roamBin)
	out, code := a.roam(t, "var", "lock", "-ttl", "10s", "-shell", "app/leader", child)
	if code != 3 || !strings.Contains(out, "put=1") || !strings.Contains(out, "409") {
		t.Fatalf("var lock: exit %d\n%s", code, out)
	}
	sv, _, err := a.client.Variables().Read("app/leader", nil)
	if err != nil || sv.Lock != nil {
		t.Fatalf("after var lock: %+v, %v", sv, err)
	}
	if out, code := a.roam(t, "var", "put", "-force", "app/leader", "k=v"); code != 0 {
		t.Fatalf("var put after the lock: exit %d\n%s", code, out)
	}
	held, _, err := a.client.Variables().AcquireLock(&api.Variable{Path: "app/leader", Lock: &api.VariableLock{TTL: "1m"}}, nil)
	if err != nil || held.Lock == nil || held.Lock.ID == "" {
		t.Fatalf("acquire: %+v, %v", held, err)
	}
	if _, _, err := a.client.Variables().AcquireLock(&api.Variable{Path: "app/leader", Lock: &api.VariableLock{TTL: "1m"}}, nil); err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("a second acquisition: %v, want a 409", err)
	}
	if _, _, err := a.client.Variables().RenewLock(&api.Variable{Path: "app/leader", Lock: &api.VariableLock{ID: held.Lock.ID}}, nil); err != nil {
		t.Fatalf("renew: %v", err)
	}
	if _, _, err := a.client.Variables().ReleaseLock(&api.Variable{Path: "app/leader", Lock: &api.VariableLock{ID: held.Lock.ID}}, nil); err != nil {
		t.Fatalf("release: %v", err)
	}
}
