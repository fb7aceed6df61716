package command_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// e2eCluster is a dev agent started from the built roam binary.
type e2eCluster struct {
	bin  string
	addr string
	dir  string
	// token, when set, is sent as NOMAD_TOKEN.
	token string
}

// run runs the CLI against the agent from the test's work directory and
// returns its exit code and combined output.
func (c *e2eCluster) run(t *testing.T, args ...string) (int, string) {
	t.Helper()
	return c.runEnv(t, nil, args...)
}

// runEnv runs the CLI as run does, with env added to its environment.
func (c *e2eCluster) runEnv(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Dir = c.dir
	cmd.Env = append(append(os.Environ(), "NOMAD_ADDR="+c.addr, "NOMAD_TOKEN="+c.token), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if exitErr, ok := err.(*exec.ExitError); ok {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("roam %s: %v", strings.Join(args, " "), err)
	}
	return code, out.String()
}

// mustRun runs the CLI and fails the test unless it exits with want.
func (c *e2eCluster) mustRun(t *testing.T, want int, args ...string) string {
	t.Helper()
	code, out := c.run(t, args...)
	if code != want {
		t.Fatalf("roam %s: exit code %d, want %d; output:\n%s", strings.Join(args, " "), code, want, out)
	}
	return out
}

// eventually retries cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for time.Now().Before(deadline) {
		ok, detail := cond()
		if ok {
			return
		}
		last = detail
		<-tick.C
	}
	t.Fatalf("timed out waiting for %s; last output:\n%s", what, last)
}

// freePorts returns n TCP ports that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		defer l.Close()
	}
	return ports
}

// startCluster builds roam and starts `roam agent -dev` on free ports; the
// agent is interrupted when the test ends.
func startCluster(t *testing.T) *e2eCluster {
	t.Helper()
	c := startAgent(t, "")
	c.waitReady(t)
	return c
}

// waitReady waits for the dev node to be ready.
func (c *e2eCluster) waitReady(t *testing.T) {
	t.Helper()
	eventually(t, "the dev node to be ready", func() (bool, string) {
		code, out := c.run(t, "node", "status")
		return code == 0 && strings.Contains(out, "ready"), out
	})
}

// startAgent builds roam and starts `roam agent -dev` on free ports with
// extra configuration; the agent is interrupted when the test ends.
func startAgent(t *testing.T, extra string) *e2eCluster {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "roam")
	build := exec.Command("go", "build", "-o", bin, "../cmd/roam")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build roam: %v\n%s", err, out)
	}
	ports := freePorts(t, 3)
	cfg := filepath.Join(dir, "ports.hcl")
	conf := fmt.Sprintf("ports {\n  http = %d\n  rpc  = %d\n  serf = %d\n}\n", ports[0], ports[1], ports[2]) + extra
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	agent := exec.Command(bin, "agent", "-dev", "-config", cfg)
	var log bytes.Buffer
	agent.Stdout, agent.Stderr = &log, &log
	if err := agent.Start(); err != nil {
		t.Fatalf("start agent: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = agent.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = agent.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = agent.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", log.String())
		}
	})
	return &e2eCluster{bin: bin, addr: fmt.Sprintf("http://127.0.0.1:%d", ports[0]), dir: dir}
}

// rawExecJob is a service job the dev agent can run without Docker.
const rawExecJob = `job "web" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo hello from roam; exec sleep 600"]
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`

// TestCLIAgainstDevAgent drives the seed's commands through the built
// binary against a real dev agent.
func TestCLIAgainstDevAgent(t *testing.T) {
	c := startCluster(t)

	out := c.mustRun(t, 0, "job", "init")
	if !strings.Contains(out, "Example job file written to example.nomad.hcl") {
		t.Fatalf("job init output:\n%s", out)
	}
	c.mustRun(t, 0, "job", "validate", "example.nomad.hcl")
	c.mustRun(t, 0, "fmt", "-check", "example.nomad.hcl")

	out = c.mustRun(t, 0, "server", "members")
	if !regexp.MustCompile(`alive\s+true`).MatchString(out) {
		t.Errorf("server members shows no alive leader:\n%s", out)
	}
	out = c.mustRun(t, 0, "node", "status", "-self")
	if strings.Contains(out, "docker") {
		// Detached: the redis image may not be pullable here, and only the
		// registration and placement are under test.
		out = c.mustRun(t, 0, "job", "run", "-detach", "example.nomad.hcl")
		if !strings.Contains(out, "Job registration successful\nEvaluation ID: ") {
			t.Errorf("job run -detach output:\n%s", out)
		}
		c.mustRun(t, 0, "job", "stop", "-purge", "-detach", "example")
	} else {
		t.Log("docker driver not available: running a raw_exec job instead of example.nomad.hcl")
	}

	job := filepath.Join(c.dir, "web.nomad.hcl")
	if err := os.WriteFile(job, []byte(rawExecJob), 0o644); err != nil {
		t.Fatal(err)
	}
	out = c.mustRun(t, 0, "job", "run", "web.nomad.hcl")
	created := regexp.MustCompile(`Allocation "([0-9a-f]{8})" created: node "[0-9a-f]{8}", group "g"`).FindStringSubmatch(out)
	if created == nil || !strings.Contains(out, `finished with status "complete"`) {
		t.Fatalf("job run output lacks the monitor lines:\n%s", out)
	}
	t.Cleanup(func() { c.run(t, "job", "stop", "-purge", "web") })
	alloc := created[1]

	eventually(t, "the task to run", func() (bool, string) {
		_, out := c.run(t, "alloc", "status", alloc)
		return strings.Contains(out, `Task "t" is "running"`), out
	})
	out = c.mustRun(t, 0, "job", "status", "web")
	for _, want := range []string{"ID            = web", "Summary", "Allocations", alloc} {
		if !strings.Contains(out, want) {
			t.Errorf("job status lacks %q:\n%s", want, out)
		}
	}
	eventually(t, "the task's log", func() (bool, string) {
		_, out := c.run(t, "alloc", "logs", alloc)
		return strings.Contains(out, "hello from roam"), out
	})
	out = c.mustRun(t, 0, "job", "stop", "web")
	if !strings.Contains(out, "Monitoring evaluation") {
		t.Errorf("job stop did not monitor:\n%s", out)
	}
	out = c.mustRun(t, 0, "job", "status")
	if !strings.Contains(out, "(stopped)") {
		t.Errorf("job list does not show the stopped job:\n%s", out)
	}
}

// qaNamespaceSpec is a namespace specification file in Nomad's HCL form.
const qaNamespaceSpec = `name        = "qa"
description = "Quality assurance"
capabilities {
  enabled_task_drivers  = ["raw_exec", "exec"]
  disabled_task_drivers = ["docker"]
}
meta {
  owner = "qa-team"
}
`

// TestCLINamespaces drives the namespace verbs and namespaced job commands
// through the built binary against a real dev agent.
func TestCLINamespaces(t *testing.T) {
	c := startCluster(t)
	if err := os.WriteFile(filepath.Join(c.dir, "qa.hcl"), []byte(qaNamespaceSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.dir, "ops.json"), []byte(`{"Name":"ops","Description":"From JSON"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.dir, "web.nomad.hcl"), []byte(rawExecJob), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.run(t, "job", "stop", "-purge", "-namespace", "prod", "web")
		c.run(t, "job", "stop", "-purge", "-namespace", "qa", "web")
	})
	steps := []struct {
		name string
		env  []string
		args []string
		code int
		// want are regular expressions the output must match.
		want []string
	}{
		{"apply by name", nil, []string{"namespace", "apply", "-description", "Production", "prod"}, 0,
			[]string{`^Successfully applied namespace "prod"!\n$`}},
		{"apply a spec file", nil, []string{"namespace", "apply", "qa.hcl"}, 0, []string{`Successfully applied namespace "qa"!`}},
		{"apply a JSON spec", nil, []string{"namespace", "apply", "-json", "ops.json"}, 0, []string{`Successfully applied namespace "ops"!`}},
		{"apply an invalid name", nil, []string{"namespace", "apply", "no_underscores"}, 1,
			[]string{`Error applying namespace specification: .*invalid name "no_underscores"`}},
		{"list", nil, []string{"namespace", "list"}, 0, []string{
			`(?m)^Name\s+Description$`, `(?m)^default\s+Default shared namespace$`, `(?m)^ops\s+From JSON$`,
			`(?m)^prod\s+Production$`, `(?m)^qa\s+Quality assurance$`}},
		{"list as JSON", nil, []string{"namespace", "list", "-json"}, 0, []string{`"Name": "qa"`}},
		{"list through a template", nil, []string{"namespace", "list", "-t", "{{range .}}{{.Name}};{{end}}"}, 0,
			[]string{`^default;ops;prod;qa;\n$`}},
		{"status", nil, []string{"namespace", "status", "qa"}, 0, []string{
			`(?m)^Name\s+= qa$`, `(?m)^Description\s+= Quality assurance$`, `(?m)^EnabledDrivers\s+= raw_exec,exec$`,
			`(?m)^DisabledDrivers\s+= docker$`, `(?m)^Metadata\nowner = qa-team$`}},
		{"status by prefix", nil, []string{"namespace", "status", "pr"}, 0, []string{`(?m)^Name\s+= prod$`}},
		{"status of an unknown namespace", nil, []string{"namespace", "status", "nope"}, 1, []string{`Namespace "nope" matched no namespaces`}},
		{"status as JSON", nil, []string{"namespace", "status", "-json", "prod"}, 0, []string{`"Description": "Production"`}},
		{"inspect", nil, []string{"namespace", "inspect", "qa"}, 0, []string{`"EnabledTaskDrivers": \[\s+"raw_exec",\s+"exec"`}},
		{"inspect through a template", nil, []string{"namespace", "inspect", "-t", "{{.Meta.owner}}", "qa"}, 0, []string{`^qa-team\n$`}},

		{"run in an unknown namespace", nil, []string{"job", "run", "-namespace", "nope", "web.nomad.hcl"}, 1,
			[]string{`Error submitting job: .*job "web" is in nonexistent namespace "nope"`}},
		{"run in prod by flag", nil, []string{"job", "run", "-namespace", "prod", "web.nomad.hcl"}, 0,
			[]string{`finished with status "complete"`}},
		{"run the same job in qa by environment", []string{"ROAM_NAMESPACE=qa"}, []string{"job", "run", "web.nomad.hcl"}, 0,
			[]string{`finished with status "complete"`}},
		{"default holds no job", nil, []string{"job", "status"}, 0, []string{`^No running jobs\n$`}},
		{"every namespace", nil, []string{"job", "status", "-namespace", "*"}, 0, []string{
			`(?m)^ID\s+Namespace\s+Type\s+Priority\s+Status\s+Submit Date$`,
			`(?m)^web\s+prod\s+service\s+50\s+running`, `(?m)^web\s+qa\s+service\s+50\s+running`}},
		{"one ID in two namespaces is ambiguous", nil, []string{"job", "status", "-namespace", "*", "web"}, 1, []string{
			`Prefix matched multiple jobs`, `(?m)^web\s+prod\s+service`, `(?m)^web\s+qa\s+service`}},
		{"one namespace's job", []string{"NOMAD_NAMESPACE=qa"}, []string{"job", "status", "web"}, 0,
			[]string{`(?m)^Namespace\s+= qa$`}},
		{"delete refused while a job runs", nil, []string{"namespace", "delete", "prod"}, 1,
			[]string{`Error deleting namespace: .*namespace "prod" contains non-terminal job "web"`}},
		{"delete default refused", nil, []string{"namespace", "delete", "default"}, 1,
			[]string{`the default namespace can not be deleted`}},
		{"purge prod's job", nil, []string{"job", "stop", "-purge", "-namespace", "prod", "web"}, 0, nil},
		{"qa's job still runs", nil, []string{"job", "status", "-namespace", "qa", "web"}, 0, []string{`(?m)^Status\s+= running$`}},
		{"delete an empty namespace", nil, []string{"namespace", "delete", "ops"}, 0, []string{`^Successfully deleted namespace "ops"!\n$`}},
	}
	for _, st := range steps {
		code, out := c.runEnv(t, st.env, st.args...)
		if code != st.code {
			t.Fatalf("%s: roam %s: exit code %d, want %d; output:\n%s", st.name, strings.Join(st.args, " "), code, st.code, out)
		}
		for _, w := range st.want {
			if !regexp.MustCompile(w).MatchString(out) {
				t.Fatalf("%s: roam %s: output does not match %q:\n%s", st.name, strings.Join(st.args, " "), w, out)
			}
		}
	}
	// Once its allocations have stopped, the purged job's namespace can go.
	eventually(t, "prod to be deletable", func() (bool, string) {
		code, out := c.run(t, "namespace", "delete", "prod")
		return code == 0 && strings.Contains(out, `Successfully deleted namespace "prod"!`), out
	})
	out := c.mustRun(t, 0, "namespace", "list")
	if strings.Contains(out, "prod") || !strings.Contains(out, "qa") {
		t.Fatalf("namespace list after deleting prod:\n%s", out)
	}
}

// TestCLIACL drives the acl verbs against a dev agent with ACLs on: the
// bootstrap token, policies, tokens and roles, and the token every
// command sends.
func TestCLIACL(t *testing.T) {
	c := startAgent(t, "acl {\n  enabled = true\n}\n")
	eventually(t, "the agent to answer", func() (bool, string) {
		code, out := c.run(t, "status")
		return code != 0 && strings.Contains(out, "Permission denied"), out
	})
	out := c.mustRun(t, 0, "acl", "bootstrap")
	for _, field := range []string{"Accessor ID", "Secret ID", "Name         = Bootstrap Token", "Type         = management",
		"Global       = true", "Create Time", "Expiry Time  = <none>", "Create Index", "Modify Index", "Policies     = n/a", "Roles        = n/a"} {
		if !strings.Contains(out, field) {
			t.Errorf("bootstrap output lacks %q:\n%s", field, out)
		}
	}
	secret := regexp.MustCompile(`Secret ID\s+= (\S+)`).FindStringSubmatch(out)
	if secret == nil {
		t.Fatalf("no secret in:\n%s", out)
	}
	if code, out := c.run(t, "acl", "bootstrap"); code == 0 || !strings.Contains(out, "ACL bootstrap already done") {
		t.Errorf("second bootstrap: exit %d:\n%s", code, out)
	}
	if code, out := c.run(t, "node", "status"); code == 0 || !strings.Contains(out, "Permission denied") {
		t.Errorf("anonymous node status: exit %d:\n%s", code, out)
	}
	c.token = secret[1]
	c.waitReady(t)

	rules := filepath.Join(c.dir, "readonly.hcl")
	if err := os.WriteFile(rules, []byte("namespace \"default\" {\n  policy = \"read\"\n}\nnode {\n  policy = \"read\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = c.mustRun(t, 0, "acl", "policy", "apply", "-description", "Read only", "readonly", rules)
	if !strings.Contains(out, `Successfully wrote "readonly" ACL policy!`) {
		t.Errorf("policy apply:\n%s", out)
	}
	bad := filepath.Join(c.dir, "bad.hcl")
	if err := os.WriteFile(bad, []byte("namespace \"default\" {\n  policy = \"sudo\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := c.run(t, "acl", "policy", "apply", "bad", bad); code == 0 || !strings.Contains(out, "policy.hcl:2") {
		t.Errorf("bad policy: exit %d:\n%s", code, out)
	}
	if out := c.mustRun(t, 0, "acl", "policy", "list"); !strings.Contains(out, "readonly  Read only") {
		t.Errorf("policy list:\n%s", out)
	}
	if out := c.mustRun(t, 0, "acl", "policy", "info", "readonly"); !strings.Contains(out, `policy = "read"`) {
		t.Errorf("policy info:\n%s", out)
	}

	out = c.mustRun(t, 0, "acl", "role", "create", "-name", "readers", "-policy", "readonly")
	roleID := regexp.MustCompile(`ID\s+= (\S+)`).FindStringSubmatch(out)
	if roleID == nil {
		t.Fatalf("role create:\n%s", out)
	}
	if out := c.mustRun(t, 0, "acl", "role", "list"); !strings.Contains(out, "readers") {
		t.Errorf("role list:\n%s", out)
	}
	if out := c.mustRun(t, 0, "acl", "role", "info", "-by-name", "readers"); !strings.Contains(out, roleID[1]) {
		t.Errorf("role info:\n%s", out)
	}
	c.mustRun(t, 0, "acl", "role", "update", "-description", "people who read", roleID[1])

	out = c.mustRun(t, 0, "acl", "token", "create", "-name", "reader", "-role-name", "readers", "-ttl", "1h")
	accessor := regexp.MustCompile(`Accessor ID\s+= (\S+)`).FindStringSubmatch(out)
	readerSecret := regexp.MustCompile(`Secret ID\s+= (\S+)`).FindStringSubmatch(out)
	if accessor == nil || readerSecret == nil || !strings.Contains(out, "Roles        = [readers]") || strings.Contains(out, "Expiry Time  = <none>") {
		t.Fatalf("token create:\n%s", out)
	}
	if out := c.mustRun(t, 0, "acl", "token", "list"); !strings.Contains(out, accessor[1]) || !strings.Contains(out, "Bootstrap Token") {
		t.Errorf("token list:\n%s", out)
	}
	if out := c.mustRun(t, 0, "acl", "token", "info", accessor[1]); !strings.Contains(out, "Name         = reader") {
		t.Errorf("token info:\n%s", out)
	}
	c.mustRun(t, 0, "acl", "token", "update", "-name", "reader2", "-policy", "readonly", accessor[1])

	reader := *c
	reader.token = readerSecret[1]
	if out := reader.mustRun(t, 0, "acl", "token", "self"); !strings.Contains(out, "Name         = reader2") {
		t.Errorf("token self:\n%s", out)
	}
	reader.mustRun(t, 0, "node", "status")
	reader.mustRun(t, 0, "job", "status")
	job := filepath.Join(c.dir, "web.nomad.hcl")
	if err := os.WriteFile(job, []byte(rawExecJob), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := reader.run(t, "job", "run", "-detach", job); code == 0 || !strings.Contains(out, "Permission denied") {
		t.Errorf("read-only job run: exit %d:\n%s", code, out)
	}
	if code, out := c.run(t, "acl", "token", "list", "-token", readerSecret[1]); code == 0 || !strings.Contains(out, "Permission denied") {
		t.Errorf("-token flag not sent: exit %d:\n%s", code, out)
	}

	c.mustRun(t, 0, "acl", "token", "delete", accessor[1])
	if code, out := reader.run(t, "job", "status"); code == 0 || !strings.Contains(out, "ACL token not found") {
		t.Errorf("deleted token still works: exit %d:\n%s", code, out)
	}
	c.mustRun(t, 0, "acl", "role", "delete", roleID[1])
	c.mustRun(t, 0, "acl", "policy", "delete", "readonly")
	if out := c.mustRun(t, 0, "acl", "policy", "list"); !strings.Contains(out, "No policies found") {
		t.Errorf("policy list after delete:\n%s", out)
	}
	testCLISSO(t, c)
	testCLIUIAuthenticate(t, c)
}

// testCLIUIAuthenticate checks `ui -authenticate`: its URL carries a
// one-time token that trades, once, for the caller's token.
func testCLIUIAuthenticate(t *testing.T, c *e2eCluster) {
	out := c.mustRun(t, 0, "ui", "-authenticate", "-show-url")
	m := regexp.MustCompile(`/ui/\?ott=([0-9a-f-]{36})`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("ui -authenticate:\n%s", out)
	}
	exchange := func() (int, string) {
		resp, err := http.Post(c.addr+"/v1/acl/token/onetime/exchange", "application/json",
			strings.NewReader(`{"OneTimeSecretID": "`+m[1]+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct{ Token struct{ SecretID string } }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Token.SecretID
	}
	if code, secret := exchange(); code != http.StatusOK || secret != c.token {
		t.Fatalf("exchange: %d, secret %q; want 200 and the CLI's token", code, secret)
	}
	if code, _ := exchange(); code != http.StatusForbidden {
		t.Fatalf("second exchange: %d, want 403", code)
	}
}

// testCLISSO drives the auth method and binding rule verbs with a
// management token.
func testCLISSO(t *testing.T, c *e2eCluster) {
	config := filepath.Join(c.dir, "oidc.json")
	if err := os.WriteFile(config, []byte(`{"OIDCDiscoveryURL": "https://idp.example.com", "OIDCClientID": "roam", "BoundAudiences": ["roam"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := c.mustRun(t, 0, "acl", "auth-method", "create", "-name", "corp", "-type", "oidc", "-token-locality", "global",
		"-max-token-ttl", "1h", "-default", "-config", "@"+config)
	for _, kv := range [][2]string{{"Name", "corp"}, {"Type", "OIDC"}, {"Locality", "global"}, {"Max Token TTL", "1h0m0s"},
		{"Default", "true"}, {"OIDC Client ID", "roam"}} {
		if !hasKV(out, kv[0], kv[1]) {
			t.Errorf("auth-method create lacks %s = %s:\n%s", kv[0], kv[1], out)
		}
	}
	if code, out := c.run(t, "acl", "auth-method", "create", "-name", "bad", "-type", "ldap", "-token-locality", "local",
		"-max-token-ttl", "1h", "-config", "{}"); code == 0 || !strings.Contains(out, "invalid type") {
		t.Errorf("bad auth method: exit %d:\n%s", code, out)
	}
	if out := c.mustRun(t, 0, "acl", "auth-method", "list"); !strings.Contains(out, "corp") || !strings.Contains(out, "OIDC") {
		t.Errorf("auth-method list:\n%s", out)
	}
	if out := c.mustRun(t, 0, "acl", "auth-method", "update", "-token-locality", "local", "corp"); !hasKV(out, "Locality", "local") {
		t.Errorf("auth-method update:\n%s", out)
	}
	out = c.mustRun(t, 0, "acl", "binding-rule", "create", "-auth-method", "corp", "-bind-type", "role", "-bind-name", "eng",
		"-selector", "engineering in list.groups", "-description", "engineers")
	ruleID := regexp.MustCompile(`ID\s+= (\S+)`).FindStringSubmatch(out)
	if ruleID == nil || !strings.Contains(out, `"engineering in list.groups"`) {
		t.Fatalf("binding-rule create:\n%s", out)
	}
	if out := c.mustRun(t, 0, "acl", "binding-rule", "list"); !strings.Contains(out, ruleID[1]) {
		t.Errorf("binding-rule list:\n%s", out)
	}
	if out := c.mustRun(t, 0, "acl", "binding-rule", "update", "-description", "all engineers", ruleID[1]); !strings.Contains(out, "all engineers") || !hasKV(out, "Bind Name", "eng") {
		t.Errorf("binding-rule update:\n%s", out)
	}
	if out := c.mustRun(t, 0, "acl", "binding-rule", "info", ruleID[1]); !hasKV(out, "Auth Method", "corp") {
		t.Errorf("binding-rule info:\n%s", out)
	}
	c.mustRun(t, 0, "acl", "binding-rule", "delete", ruleID[1])
	c.mustRun(t, 0, "acl", "auth-method", "delete", "corp")
	if out := c.mustRun(t, 0, "acl", "auth-method", "list"); !strings.Contains(out, "No ACL auth methods found") {
		t.Errorf("auth-method list after delete:\n%s", out)
	}
}

// hasKV reports whether out has the line `key = value` of a key-value
// listing, whatever its alignment.
func hasKV(out, key, value string) bool {
	return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + `\s+= ` + regexp.QuoteMeta(value) + `$`).MatchString(out)
}

// TestCLINodeMetaAndIdentity sets and reads dynamic node metadata, reads
// and renews the node's identity, and makes an introduction token.
func TestCLINodeMetaAndIdentity(t *testing.T) {
	c := startCluster(t)
	c.mustRun(t, 0, "node", "meta", "apply", "-unset", "connect.log_level", "rack=r7")
	out := c.mustRun(t, 0, "node", "meta", "read")
	all, _, _ := strings.Cut(out, "Dynamic Meta")
	if !strings.Contains(all, "rack") || !strings.Contains(all, "r7") || strings.Contains(all, "connect.log_level") {
		t.Errorf("meta read, all:\n%s", out)
	}
	if !strings.Contains(out, "<unset>") {
		t.Errorf("meta read lacks the unset key:\n%s", out)
	}
	if code, out := c.run(t, "node", "meta", "apply", "novalue"); code == 0 || !strings.Contains(out, "key=value") {
		t.Errorf("bad meta apply: exit %d:\n%s", code, out)
	}
	nodeID := regexp.MustCompile(`(?m)^([0-9a-f]{8})\s`).FindStringSubmatch(c.mustRun(t, 0, "node", "status"))
	if nodeID == nil {
		t.Fatal("no node in node status")
	}
	out = c.mustRun(t, 0, "node", "identity", "get", nodeID[1])
	for _, claim := range []string{"nomad_node_id", "nomad_node_pool", "nomad_node_datacenter", "aud", "nomadproject.io", "sub", "node:global:default:"} {
		if !strings.Contains(out, claim) {
			t.Errorf("identity get lacks %q:\n%s", claim, out)
		}
	}
	c.mustRun(t, 0, "node", "identity", "renew", nodeID[1])
	out = c.mustRun(t, 0, "node", "intro", "create", "-node-name", "web-1", "-ttl", "10m")
	if !strings.Contains(out, "Successfully generated client introduction token") || strings.Count(out, ".") < 2 {
		t.Errorf("intro create:\n%s", out)
	}
}
