package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/miekg/dns"
)

// dbJob runs count instances of a "db" service whose tcp check passes
// while the instance listens; an instance stops listening (its check
// fails, the task keeps running) once the file down-<alloc index> exists
// in dir.
func dbJob(dir string) string {
	return fmt.Sprintf(`
job "db" {
  group "db" {
    count = 2
    network {
      port "db" {}
    }
    service {
      name     = "db"
      provider = "nomad"
      port     = "db"
      check {
        type     = "tcp"
        interval = "500ms"
        timeout  = "500ms"
      }
    }
    task "db" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args = ["-c", <<EOS
perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalAddr => $ENV{NOMAD_ADDR_db}, Listen => 5, ReuseAddr => 1) or die; while ($c = $s->accept) { close $c }' &
while [ ! -f %s/down-$NOMAD_ALLOC_INDEX ]; do sleep 0.1; done
kill $!
exec sleep 600
EOS
        ]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`, dir)
}

// appJob's task renders db's instances and a password into local/app.conf
// (change_mode signal: the task logs the file on SIGUSR1) and a release
// number into local/release (change_mode restart).
const appJob = `
job "app" {
  group "app" {
    task "app" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args = ["-c", <<EOS
trap 'echo "signal: $(cat local/app.conf | tr "\n" " ")" >> local/log' USR1
echo "start release=$(cat local/release)" >> local/log
while true; do sleep 0.1; done
EOS
        ]
      }
      template {
        data          = <<EOT
password={{ with nomadVar "nomad/jobs/app" }}{{ .password }}{{ end }}
{{ range nomadService "db" }}db={{ .Address }}:{{ .Port }}
{{ end }}
EOT
        destination   = "local/app.conf"
        change_mode   = "signal"
        change_signal = "SIGUSR1"
      }
      template {
        data        = "{{ with nomadVar \"nomad/jobs/app/release\" }}{{ .number }}{{ end }}"
        destination = "local/release"
        change_mode = "restart"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

func TestTemplateLiveDiscovery(t *testing.T) {
	dnsAddr := fmt.Sprintf("127.0.0.1:%d", freePorts(t, 1)[0])
	a := startDevAgent(t, fmt.Sprintf("client {\n  service_dns {\n    address = %q\n  }\n}\n", dnsAddr))
	dir := t.TempDir()
	a.runJobFile(t, dbJob(dir))
	a.runJobFile(t, appJob)

	app := a.firstAlloc(t, "app")
	waitUntil(t, 30*time.Second, "the app task waiting for its variables", func() bool {
		return a.hasEvent(t, app.ID, "app", "Template", "nomad.var.block(nomad/jobs/app@default)")
	})
	if st := a.taskState(t, app.ID, "app"); st.State != "pending" {
		t.Fatalf("app task is %s while its template waits", st.State)
	}
	a.putVar(t, "nomad/jobs/app", "password=one")
	a.putVar(t, "nomad/jobs/app/release", "number=1")
	a.waitAllocStatus(t, app.ID, "running", 30*time.Second)

	conf := func() string { return catFile(t, a, app, "app/local/app.conf") }
	dbAddrs := a.serviceAddrs(t, "db", 2)
	waitUntil(t, 30*time.Second, "both db instances in the file", func() bool {
		c := conf()
		return strings.Contains(c, "password=one") && strings.Contains(c, "db="+dbAddrs[0]) && strings.Contains(c, "db="+dbAddrs[1])
	})

	t.Run("DNS answers A and SRV for the service", func(t *testing.T) {
		var ips []string
		for _, addr := range dbAddrs {
			ips = append(ips, addr[:strings.LastIndex(addr, ":")])
		}
		a4 := dnsQuery(t, dnsAddr, "db.service.default.roam.", dns.TypeA)
		if len(a4.Answer) != 2 {
			t.Fatalf("A answers: %v", a4.Answer)
		}
		srv := dnsQuery(t, dnsAddr, "db.service.default.roam.", dns.TypeSRV)
		var got []string
		for _, rr := range srv.Answer {
			got = append(got, strconv.Itoa(int(rr.(*dns.SRV).Port)))
		}
		for _, addr := range dbAddrs {
			if !slices.Contains(got, addr[strings.LastIndex(addr, ":")+1:]) {
				t.Fatalf("SRV ports %v lack %s", got, addr)
			}
		}
		if len(srv.Extra) != 2 || !slices.Contains(ips, srv.Extra[0].(*dns.A).A.String()) {
			t.Fatalf("SRV extra: %v", srv.Extra)
		}
	})

	t.Run("a changed variable re-renders and signals", func(t *testing.T) {
		start := time.Now()
		a.putVar(t, "nomad/jobs/app", "password=two")
		waitUntil(t, 10*time.Second, "the new password in the file", func() bool { return strings.Contains(conf(), "password=two") })
		t.Logf("var put to re-rendered file: %v (through the CLI and the fs API)", time.Since(start))
		waitUntil(t, 10*time.Second, "the task to log the signal", func() bool {
			return strings.Contains(catFile(t, a, app, "app/local/log"), "signal: password=two")
		})
		if st := a.taskState(t, app.ID, "app"); st.Restarts != 0 {
			t.Fatalf("change_mode signal restarted the task (%d restarts)", st.Restarts)
		}
	})

	t.Run("a failing instance drops out", func(t *testing.T) {
		regs, _, err := a.client.Services().Get("db", nil)
		if err != nil || len(regs) != 2 {
			t.Fatalf("db registrations: %v, %v", regs, err)
		}
		var down *api.ServiceRegistration
		for _, r := range regs {
			alloc, _, err := a.client.Allocations().Info(r.AllocID, nil)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(alloc.Name, "[0]") {
				down = r
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "down-0"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		gone := fmt.Sprintf("db=%s:%d", down.Address, down.Port)
		waitUntil(t, 20*time.Second, "the failing instance to leave the file", func() bool {
			c := conf()
			return !strings.Contains(c, gone) && strings.Count(c, "db=") == 1
		})
		waitUntil(t, 10*time.Second, "the failing instance to leave DNS", func() bool {
			return len(dnsQuery(t, dnsAddr, "db.service.default.roam.", dns.TypeA).Answer) == 1
		})
	})

	t.Run("scaling up adds an instance", func(t *testing.T) {
		if _, _, err := a.client.Jobs().Scale("db", "db", ptr(3), "test", false, nil, nil); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 30*time.Second, "two healthy instances in the file", func() bool { return strings.Count(conf(), "db=") == 2 })
	})

	t.Run("change_mode restart restarts the task", func(t *testing.T) {
		a.putVar(t, "nomad/jobs/app/release", "number=2")
		waitUntil(t, 20*time.Second, "the task to start again", func() bool {
			return strings.Contains(catFile(t, a, app, "app/local/log"), "start release=2")
		})
		waitUntil(t, 10*time.Second, "the restart event", func() bool {
			return a.hasEvent(t, app.ID, "app", api.TaskRestartSignal, "Template with change_mode restart re-rendered")
		})
	})
}

// putVar writes a variable through the CLI.
func (a *devAgent) putVar(t *testing.T, path string, items ...string) {
	t.Helper()
	if out, code := a.roam(t, append([]string{"var", "put", "-force", path}, items...)...); code != 0 {
		t.Fatalf("var put %s: exit %d:\n%s", path, code, out)
	}
}

// taskState is a task's state in an allocation.
func (a *devAgent) taskState(t *testing.T, allocID, task string) *api.TaskState {
	t.Helper()
	alloc, _, err := a.client.Allocations().Info(allocID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := alloc.TaskStates[task]; st != nil {
		return st
	}
	return &api.TaskState{}
}

// hasEvent reports whether a task has an event of typ whose message holds
// text.
func (a *devAgent) hasEvent(t *testing.T, allocID, task, typ, text string) bool {
	t.Helper()
	for _, e := range a.taskState(t, allocID, task).Events {
		if e.Type == typ && strings.Contains(e.DisplayMessage, text) {
			return true
		}
	}
	return false
}

// serviceAddrs waits for n registrations of a service and returns their
// addresses.
func (a *devAgent) serviceAddrs(t *testing.T, name string, n int) []string {
	t.Helper()
	var out []string
	waitUntil(t, 30*time.Second, fmt.Sprintf("%d instances of %s", n, name), func() bool {
		regs, _, err := a.client.Services().Get(name, nil)
		out = out[:0]
		for _, r := range regs {
			out = append(out, fmt.Sprintf("%s:%d", r.Address, r.Port))
		}
		return err == nil && len(regs) == n
	})
	return out
}

// dnsQuery asks the agent's service DNS.
func dnsQuery(t *testing.T, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, addr)
	if err != nil {
		t.Fatalf("DNS %s: %v", name, err)
	}
	return r
}

// TestTemplateLookupsActWithTheTaskIdentity runs, with ACLs on, a task
// whose template reads its own job's variable (its workload identity may)
// and one whose template reads another job's (refused: the task never
// starts and its event says why). The first task also reads its variable
// with the CLI through the Task API socket, with no token of its own.
func TestTemplateLookupsActWithTheTaskIdentity(t *testing.T) {
	// A short allocation root: a unix socket's path must fit in 108 bytes.
	allocRoot, err := os.MkdirTemp("", "ta")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(allocRoot) })
	a := launchDevAgent(t, "acl {\n  enabled = true\n}\nclient {\n  alloc_dir = \""+allocRoot+"\"\n}\n")
	waitUntil(t, 30*time.Second, "the HTTP API", func() bool { _, err := a.client.Status().Leader(); return err == nil })
	boot, _, err := a.client.ACLTokens().Bootstrap(nil)
	if err != nil {
		t.Fatal(err)
	}
	a.client = a.tokenClient(t, boot.SecretID)
	a.waitReady(t)
	if _, _, err := a.client.Variables().Create(&api.Variable{Path: "nomad/jobs/owner", Items: api.VariableItems{"secret": "mine"}}, nil); err != nil {
		t.Fatal(err)
	}
	script := `NOMAD_ADDR="unix://$NOMAD_SECRETS_DIR/api.sock" ` + roamBin + ` var get -item secret nomad/jobs/owner > "$NOMAD_ALLOC_DIR/sock.out" 2>&1
exec sleep 600`
	tmplJob := func(id string) *api.Job {
		job := shellJob(id, "service", 1, script)
		noRestarts(job.TaskGroups[0])
		job.TaskGroups[0].Tasks[0].Templates = []*api.Template{{
			EmbeddedTmpl: ptr(`secret={{ with nomadVar "nomad/jobs/owner" }}{{ .secret }}{{ end }}`),
			DestPath:     ptr("local/secret.txt"),
		}}
		return job
	}
	for _, id := range []string{"owner", "thief"} {
		if _, _, err := a.client.Jobs().Register(tmplJob(id), nil); err != nil {
			t.Fatal(err)
		}
	}
	owner := a.firstAlloc(t, "owner")
	a.waitAllocStatus(t, owner.ID, "running", 30*time.Second)
	got, err := os.ReadFile(filepath.Join(allocRoot, owner.ID, "main", "local", "secret.txt"))
	if err != nil || string(got) != "secret=mine" {
		t.Fatalf("the owner's template: %q, %v", got, err)
	}
	waitUntil(t, 20*time.Second, "the CLI's answer through the Task API", func() bool {
		b, _ := os.ReadFile(filepath.Join(allocRoot, owner.ID, "alloc", "sock.out"))
		return strings.TrimSpace(string(b)) == "mine"
	})
	thief := a.firstAlloc(t, "thief")
	waitUntil(t, 30*time.Second, "the thief's template to be refused", func() bool {
		return a.hasEvent(t, thief.ID, "main", api.TaskSetupFailure, "Permission denied")
	})
	if a.hasEvent(t, thief.ID, "main", api.TaskStarted, "") {
		t.Fatal("the thief's task started")
	}
	if _, err := os.Stat(filepath.Join(allocRoot, thief.ID, "main", "local", "secret.txt")); err == nil {
		t.Fatal("the thief's template was rendered")
	}
}
