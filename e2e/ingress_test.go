package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/ingress"
)

// ingressJob runs count web instances behind the ingress at 2048.localhost;
// each serves its task dir, whose whoami holds its alloc index, and only
// instances whose index is not 1 have the file their check asks for.
func ingressJob(webapp string, count int) *api.Job {
	job := api.NewServiceJob("web2048", "web2048", "global", 50)
	task := api.NewTask("web", "raw_exec").SetConfig("command", "/bin/sh").SetConfig("args", []string{"-c",
		`cd "$NOMAD_TASK_DIR" && printf %s "$NOMAD_ALLOC_INDEX" > whoami && { [ "$NOMAD_ALLOC_INDEX" = 1 ] || touch healthy; } && PORT=$NOMAD_PORT_http WEBAPP_ROOT=. exec ` + webapp}).
		Require(&api.Resources{CPU: ptr(100), MemoryMB: ptr(64)})
	group := api.NewTaskGroup("web", count).AddTask(task)
	group.Networks = []*api.NetworkResource{{DynamicPorts: []api.Port{{Label: "http"}}}}
	group.Services = []*api.Service{{Name: "web2048", PortLabel: "http", Provider: "nomad", Tags: []string{"ingress.host=2048.localhost"},
		Checks: []api.ServiceCheck{{Name: "ready", Type: "http", Path: "/healthy", Interval: time.Second, Timeout: time.Second}}}}
	job.AddTaskGroup(group)
	return job
}

// TestIngressRoutesToHealthyInstances runs three instances behind the
// agent's ingress, one of them with a failing check: requests by Host
// reach the two healthy ones only, round-robin; while a load loop runs, an
// instance is added and one is stopped, and no request fails; HTTPS serves
// the configured certificate, then one written to a variable (with
// `roam var put key=@file`); a job file's `service { ingress {} }` block
// routes as the tags do.
func TestIngressRoutesToHealthyInstances(t *testing.T) {
	ports := freePorts(t, 2)
	port := ports[0]
	certFile, keyFile := selfSignedCert(t, "2048.localhost")
	a := startDevAgent(t, fmt.Sprintf(`client {
  ingress {
    enabled    = true
    http_port  = %d
    https_port = %d
    cert_file  = %q
    key_file   = %q
  }
}
`, port, ports[1], certFile, keyFile))
	webapp := buildWebapp(t)
	if _, _, err := a.client.Jobs().Register(ingressJob(webapp, 3), nil); err != nil {
		t.Fatal(err)
	}
	front := fmt.Sprintf("http://127.0.0.1:%d/whoami", port)
	routes := func() []ingress.RouteView {
		var out []ingress.RouteView
		_, _ = a.client.Raw().Query("/v1/ingress/routes", &out, nil)
		return out
	}
	healthy := func(r ingress.RouteView) int { return len(r.Instances) }
	// The instance whose check fails is not in the catalogue: the client
	// registers services once their checks pass.
	waitUntil(t, 30*time.Second, "a route to the two healthy instances", func() bool {
		rs := routes()
		return len(rs) == 1 && healthy(rs[0]) == 2
	})
	client := &http.Client{Timeout: 5 * time.Second}
	fetch := func() (string, error) {
		req, _ := http.NewRequest("GET", front, nil)
		req.Host = "2048.localhost"
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return "", fmt.Errorf("status %d: %s", resp.StatusCode, b)
		}
		return string(b), nil
	}

	t.Run("only healthy instances take traffic, round-robin", func(t *testing.T) {
		seen := map[string]int{}
		for range 40 {
			body, err := fetch()
			if err != nil {
				t.Fatal(err)
			}
			seen[body]++
		}
		if seen["1"] > 0 || seen["0"] < 10 || seen["2"] < 10 {
			t.Fatalf("answers by instance = %v, want 0 and 2 only, both used", seen)
		}
	})

	t.Run("instances added and stopped under load: no failed request", func(t *testing.T) {
		var failures, requests atomic.Int64
		var lastErr atomic.Value
		seen := sync.Map{}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					body, err := fetch()
					requests.Add(1)
					if err != nil {
						failures.Add(1)
						lastErr.Store(err.Error())
						continue
					}
					seen.LoadOrStore(body, time.Now())
				}
			})
		}
		// When the new instance's registration reaches the catalogue, as a
		// blocking query (woken at once) sees it.
		before, meta, err := a.client.Services().Get("web2048", nil)
		if err != nil {
			t.Fatal(err)
		}
		known := map[string]bool{}
		for _, r := range before {
			known[r.AllocID] = true
		}
		registered := make(chan time.Time, 1)
		go func() {
			index := meta.LastIndex
			for {
				regs, m, err := a.client.Services().Get("web2048", &api.QueryOptions{WaitIndex: index, WaitTime: 30 * time.Second})
				if err != nil {
					return
				}
				index = m.LastIndex
				for _, r := range regs {
					if !known[r.AllocID] {
						registered <- time.Now()
						return
					}
				}
			}
		}()
		added := time.Now()
		job := ingressJob(webapp, 4)
		if _, _, err := a.client.Jobs().Register(job, nil); err != nil {
			t.Fatal(err)
		}
		// When the new instance's check first passes, as its client reports.
		var passed time.Time
		waitUntil(t, 30*time.Second, "the new instance's check passing", func() bool {
			for _, s := range a.allocsOf(t, "web2048") {
				if !strings.HasSuffix(s.Name, "[3]") {
					continue
				}
				checks, err := a.client.Allocations().Checks(s.ID, nil)
				for _, c := range checks {
					if err == nil && c.Status == "success" {
						passed = time.Now()
						return true
					}
				}
			}
			return false
		})
		var first any
		waitUntil(t, 30*time.Second, "the new instance taking traffic", func() bool {
			var ok bool
			first, ok = seen.Load("3")
			return ok
		})
		var reg time.Time
		select {
		case reg = <-registered:
		case <-time.After(10 * time.Second):
			t.Fatal("the new registration was not seen by a blocking query")
		}
		took := first.(time.Time).Sub(reg)
		t.Logf("new instance took traffic %s after it was submitted, %s after its registration reached the catalogue, %s after the test saw its check pass (polled every 50ms; negative: sooner than the poll)",
			first.(time.Time).Sub(added).Round(time.Millisecond), took.Round(100*time.Microsecond), first.(time.Time).Sub(passed).Round(time.Millisecond))
		if took > time.Second {
			t.Errorf("the new instance took %s after its registration to take traffic, want under 1s", took)
		}
		var victim string
		waitUntil(t, 10*time.Second, "a running instance [0] to stop", func() bool {
			for _, s := range a.allocsOf(t, "web2048") {
				if s.ClientStatus == "running" && s.DesiredStatus == "run" && strings.HasSuffix(s.Name, "[0]") {
					victim = s.ID
				}
			}
			return victim != ""
		})
		if _, err := a.client.Allocations().Stop(&api.Allocation{ID: victim}, nil); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 30*time.Second, "the stopped instance replaced", func() bool {
			rs := routes()
			if len(rs) != 1 || healthy(rs[0]) != 3 {
				return false
			}
			for _, in := range rs[0].Instances {
				if in.AllocID == victim {
					return false
				}
			}
			return true
		})
		close(stop)
		wg.Wait()
		if n := failures.Load(); n > 0 {
			t.Fatalf("%d of %d requests failed (last: %v)", n, requests.Load(), lastErr.Load())
		}
		t.Logf("%d requests, none failed", requests.Load())
	})

	t.Run("HTTPS with the configured certificate", func(t *testing.T) {
		tc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			InsecureSkipVerify: true, ServerName: "2048.localhost"}}}
		req, _ := http.NewRequest("GET", fmt.Sprintf("https://127.0.0.1:%d/whoami", ports[1]), nil)
		req.Host = "2048.localhost"
		resp, err := tc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.PeerCertificates[0].Subject.CommonName != "2048.localhost" {
			t.Fatalf("status %d, TLS %v", resp.StatusCode, resp.TLS != nil)
		}
	})

	t.Run("HTTPS certificate from a variable, chosen by SNI, replaces the file's", func(t *testing.T) {
		varCert, varKey := selfSignedCert(t, "2048.localhost")
		if out, code := a.roam(t, "var", "put", "nomad/ingress/certs/web2048", "cert=@"+varCert, "key=@"+varKey); code != 0 {
			t.Fatalf("var put: exit %d:\n%s", code, out)
		}
		want, err := tls.LoadX509KeyPair(varCert, varKey)
		if err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 10*time.Second, "the variable's certificate served", func() bool {
			conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ports[1]), &tls.Config{InsecureSkipVerify: true, ServerName: "2048.localhost"})
			if err != nil {
				return false
			}
			defer conn.Close()
			return bytes.Equal(conn.ConnectionState().PeerCertificates[0].Raw, want.Certificate[0])
		})
		for _, r := range routes() {
			if r.Host == "2048.localhost" && r.Certificate != "nomad/ingress/certs/web2048" {
				t.Errorf("route %s reports its certificate from %q, want the variable", r.Host, r.Certificate)
			}
		}
	})

	t.Run("a job file's ingress block routes like the tags", func(t *testing.T) {
		script := `cd "$NOMAD_TASK_DIR" && printf hcl > whoami && PORT=$NOMAD_PORT_http WEBAPP_ROOT=. exec ` + webapp
		file := filepath.Join(t.TempDir(), "hcl.nomad.hcl")
		mustNet(t, os.WriteFile(file, []byte(fmt.Sprintf(`job "hclweb" {
  group "web" {
    network {
      port "http" {}
    }
    service {
      name     = "hclweb"
      port     = "http"
      provider = "nomad"
      ingress {
        host = "hcl.localhost"
        path = "/whoami"
      }
    }
    task "web" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", %q]
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`, script)), 0o600))
		if out, code := a.roam(t, "job", "run", "-detach", file); code != 0 {
			t.Fatalf("job run: exit %d:\n%s", code, out)
		}
		waitUntil(t, 30*time.Second, "the job file's route answering", func() bool {
			req, _ := http.NewRequest("GET", front, nil)
			req.Host = "hcl.localhost"
			resp, err := client.Do(req)
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode == 200 && string(b) == "hcl"
		})
		for _, r := range routes() {
			if r.Host == "hcl.localhost" && r.Path != "/whoami" {
				t.Fatalf("route %+v, want path /whoami", r)
			}
		}
	})

	t.Run("roam ingress list shows the route", func(t *testing.T) {
		out, code := a.roam(t, "ingress", "list")
		if code != 0 || !strings.Contains(out, "2048.localhost") || !strings.Contains(out, "default/web2048") {
			t.Fatalf("ingress list: exit %d:\n%s", code, out)
		}
		rs := routes()
		var active string
		for _, r := range rs {
			if r.Host == "2048.localhost" && len(r.Instances) > 0 {
				active = r.Instances[0].AllocID
			}
		}
		out, code = a.roam(t, "alloc", "status", active)
		if code != 0 || !strings.Contains(out, "Ingress Routes") || !regexp.MustCompile(`web2048 +\S+ +2048\.localhost +/ +active`).MatchString(out) {
			t.Fatalf("alloc status: exit %d:\n%s", code, out)
		}
		out, code = a.roam(t, "service", "info", "web2048")
		if code != 0 || !regexp.MustCompile(active[:8]+` +- +2048\.localhost/ +active`).MatchString(out) {
			t.Fatalf("service info: exit %d:\n%s", code, out)
		}
	})
}

// selfSignedCert writes a self-signed certificate for name and its key.
func selfSignedCert(t *testing.T, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	mustNet(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	mustNet(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certFile, keyFile
}
