package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// requireNetns skips unless the test may create network namespaces,
// bridges and iptables rules.
func requireNetns(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("bridge networking needs root (network namespaces, bridges, iptables)")
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("iptables not installed")
	}
}

// bridgeAgentConfig gives the test's client a bridge and subnet of its own.
const bridgeAgentConfig = `client {
  bridge_network_name   = "roame2e0"
  bridge_network_subnet = "10.199.8.0/24"
}
`

// TestBridgeNetworkJob runs a bridge-mode group of a docker task and a
// raw_exec task: the host reaches the docker task through the mapped port
// and through the allocation's address, the raw_exec task reaches it on
// localhost (one namespace), the dns block and hostname reach the
// container, and stopping the job removes namespace, port mapping and
// pause container.
func TestBridgeNetworkJob(t *testing.T) {
	requireNetns(t)
	requireDocker(t)
	a := startDevAgent(t, dockerAgentConfig+bridgeAgentConfig)
	port := freePorts(t, 1)[0]
	a.runJobFile(t, fmt.Sprintf(`job "bridged" {
  group "web" {
    network {
      mode     = "bridge"
      hostname = "web-box"
      port "http" {
        static = %d
        to     = 8080
      }
      dns {
        servers  = ["10.0.0.53"]
        searches = ["roam.test"]
      }
    }
    task "web" {
      driver = "docker"
      config {
        image = %q
        ports = ["http"]
      }
      env { PORT = "8080" }
    }
    task "probe" {
      driver = "raw_exec"
      config {
        command = "/bin/bash"
        args = ["-c", "cat /proc/net/dev; until exec 3<>/dev/tcp/127.0.0.1/8080; do sleep 0.2; done; printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3; echo; echo alloc-ip=$NOMAD_ALLOC_IP_http; sleep 600"]
      }
    }
  }
}
`, port, webappImage))
	alloc := a.firstAlloc(t, "bridged")
	alloc = a.waitAllocStatus(t, alloc.ID, "running", 60*time.Second)
	if alloc.NetworkStatus == nil || !strings.HasPrefix(alloc.NetworkStatus.Address, "10.199.8.") {
		t.Fatalf("alloc network status = %+v, want an address of 10.199.8.0/24", alloc.NetworkStatus)
	}
	addr := alloc.NetworkStatus.Address
	cases := []struct {
		name string
		ok   func() (bool, string)
	}{
		{"host reaches the mapped port", func() (bool, string) {
			b := httpBody(fmt.Sprintf("http://127.0.0.1:%d/", port))
			return strings.Contains(b, "hello from webapp"), b
		}},
		{"host reaches the allocation address", func() (bool, string) {
			b := httpBody("http://" + net.JoinHostPort(addr, "8080") + "/")
			return strings.Contains(b, "hello from webapp"), b
		}},
		{"raw_exec task shares the docker task's namespace", func() (bool, string) {
			out, _ := a.roam(t, "alloc", "logs", alloc.ID, "probe")
			return strings.Contains(out, "hello from webapp") && strings.Contains(out, "alloc-ip="+addr) &&
				!strings.Contains(out, "docker0"), out
		}},
		{"container gets the dns block", func() (bool, string) {
			out, _ := dockerCLI("exec", containersOf(t, alloc.ID)[0], "/webapp", "cat", "/etc/resolv.conf")
			return strings.Contains(out, "nameserver 10.0.0.53") && strings.Contains(out, "roam.test"), out
		}},
		{"container gets the hostname", func() (bool, string) {
			out, _ := dockerCLI("exec", containersOf(t, alloc.ID)[0], "/webapp", "cat", "/etc/hostname")
			return strings.TrimSpace(out) == "web-box", out
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var last string
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("last observation:\n%s", last)
				}
			})
			waitUntil(t, 20*time.Second, tc.name, func() bool {
				ok, out := tc.ok()
				last = out
				return ok
			})
		})
	}
	if out, code := a.roam(t, "job", "stop", "-detach", "bridged"); code != 0 {
		t.Fatalf("job stop: exit %d:\n%s", code, out)
	}
	waitUntil(t, 30*time.Second, "namespace, port mapping and pause container removed", func() bool {
		rules, _ := exec.Command("iptables", "-t", "nat", "-S", "ROAM-PORTMAP").Output()
		pause, _ := dockerCLI("ps", "-aq", "--filter", "name=roam_init_"+alloc.ID)
		return !strings.Contains(string(rules), alloc.ID) && strings.TrimSpace(pause) == "" &&
			httpBody(fmt.Sprintf("http://127.0.0.1:%d/", port)) == ""
	})
}

// TestBridgeNetworkExecTask runs an exec task (chroot and namespaces) in a
// bridge-mode group: it sees only the allocation's interfaces, the group's
// hostname and the dns block's resolv.conf.
func TestBridgeNetworkExecTask(t *testing.T) {
	requireNetns(t)
	a := startDevAgent(t, bridgeAgentConfig)
	nodes, _, err := a.client.Nodes().List(nil)
	if err != nil || len(nodes) != 1 {
		t.Fatalf("nodes = %v, %v", nodes, err)
	}
	node, _, err := a.client.Nodes().Info(nodes[0].ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := node.Drivers["exec"]; d == nil || !d.Healthy {
		t.Skip("exec driver unavailable on this machine")
	}
	a.runJobFile(t, `job "isolated" {
  type = "batch"
  group "g" {
    network {
      mode     = "bridge"
      hostname = "exec-box"
      dns {
        servers = ["10.0.0.53"]
        options = ["ndots:3"]
      }
    }
    task "probe" {
      driver = "exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "cat /proc/net/dev; echo host=$(cat /proc/sys/kernel/hostname); cat /etc/resolv.conf"]
      }
    }
  }
}
`)
	alloc := a.firstAlloc(t, "isolated")
	a.waitAllocStatus(t, alloc.ID, "complete", 60*time.Second)
	out, _ := a.roam(t, "alloc", "logs", alloc.ID, "probe")
	cases := []struct{ name, want string }{
		{"the allocation's interface", "eth0"},
		{"the group's hostname", "host=exec-box"},
		{"the dns block", "nameserver 10.0.0.53"},
		{"the dns options", "options ndots:3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(out, tc.want) {
				t.Fatalf("task output lacks %q:\n%s", tc.want, out)
			}
		})
	}
	if strings.Contains(out, "docker0") || strings.Contains(out, "roame2e0") {
		t.Errorf("task sees the host's interfaces:\n%s", out)
	}
}
