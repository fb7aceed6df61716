package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/ingress"
	"github.com/roam-project/roam/server"
	"github.com/roam-project/roam/structs"
	"github.com/roam-project/roam/tlsutil"
)

// ingressFixture is an in-memory server with its HTTP API, a placed job
// whose allocations can register services, and an ingress (proxy and
// watchers) reading that API as an agent's does.
type ingressFixture struct {
	srv    *server.Server
	client *api.Client
	allocs []*api.Allocation
	proxy  *ingress.Proxy
	front  *httptest.Server
	certs  *ingress.Certs
}

func newIngressFixture(t *testing.T, count int) *ingressFixture {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := testServer(t, logger)
	a := &Agent{config: DefaultConfig(), logger: logger, server: srv}
	ts := httptest.NewServer(a.routes())
	t.Cleanup(ts.Close)
	client, err := api.NewClient(&api.Config{Address: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	node := &api.Node{ID: "8d2b5a7e-0000-4000-8000-00000000000b", Name: "n", Datacenter: "dc1", Status: structs.NodeStatusReady,
		NodePool: "default", SchedulingEligibility: structs.NodeSchedulingEligible,
		Attributes: map[string]string{"kernel.name": "linux", "driver.raw_exec": "1"},
		Drivers:    map[string]*api.DriverInfo{"raw_exec": {Detected: true, Healthy: true}},
		NodeResources: &api.NodeResources{Cpu: api.NodeCpuResources{CpuShares: 4000, TotalCpuCores: 4},
			Memory: api.NodeMemoryResources{MemoryMB: 4096}, Disk: api.NodeDiskResources{DiskMB: 10000}}}
	if _, err := srv.RegisterNode(node); err != nil {
		t.Fatal(err)
	}
	f := &ingressFixture{srv: srv, client: client, certs: ingress.NewCerts(nil)}
	f.allocs = f.runJob(t, "web", count)
	f.proxy = ingress.NewProxy()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go ingress.NewWatcher(client, f.proxy, logger).Run(ctx)
	go f.certs.Watch(ctx, client, logger)
	f.front = httptest.NewServer(f.proxy)
	t.Cleanup(f.front.Close)
	return f
}

// runJob registers job id with count allocations, whose group has the
// ingress service id, and waits for them to be placed.
func (f *ingressFixture) runJob(t *testing.T, id string, count int) []*api.Allocation {
	t.Helper()
	job := api.NewServiceJob(id, id, "global", 50)
	group := api.NewTaskGroup("g", count).AddTask(api.NewTask("t", "raw_exec").SetConfig("command", "/bin/true"))
	group.Services = []*api.Service{{Name: id, Provider: "nomad", Tags: []string{ingress.HostTag + "${NOMAD_JOB_NAME}.test"}}}
	job.AddTaskGroup(group)
	job.Canonicalize()
	if _, err := f.srv.RegisterJob(&structs.JobRegisterArgs{Job: job}); err != nil {
		t.Fatal(err)
	}
	var allocs []*api.Allocation
	waitFor(t, 15*time.Second, "placement", func() bool {
		allocs, _ = f.srv.State().Snapshot().AllocsByJob("default", id)
		return len(allocs) == count
	})
	return allocs
}

// register publishes alloc i's instance of service web at addr, as its
// client does once the instance's checks pass.
func (f *ingressFixture) register(t *testing.T, i int, addr string, tags ...string) {
	t.Helper()
	f.publish(t, f.allocs[i], "web", addr, tags...)
}

// publish registers alloc's instance of service at addr.
func (f *ingressFixture) publish(t *testing.T, a *api.Allocation, service, addr string, tags ...string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	err := f.srv.UpsertServiceRegistrations([]*api.ServiceRegistration{{ID: "reg-" + a.ID, ServiceName: service, Namespace: "default",
		NodeID: a.NodeID, JobID: a.JobID, AllocID: a.ID, Address: host, Port: p, Tags: tags}})
	if err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// instance is an upstream that names itself.
func instance(t *testing.T, name string) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) }))
	t.Cleanup(s.Close)
	return s
}

// TestIngressNewInstanceTakesTraffic measures how soon an instance takes
// proxied traffic once its registration (made when its check passes)
// reaches the catalogue: the watcher's blocking query wakes at once.
func TestIngressNewInstanceTakesTraffic(t *testing.T) {
	f := newIngressFixture(t, 4)
	fetch := func() string {
		req, _ := http.NewRequest("GET", f.front.URL, nil)
		req.Host = "web.test"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	var worst time.Duration
	for i := range 4 {
		name := fmt.Sprintf("i%d", i)
		up := instance(t, name)
		start := time.Now()
		f.register(t, i, up.Listener.Addr().String(), ingress.HostTag+"web.test")
		waitFor(t, 5*time.Second, name+" taking traffic", func() bool {
			for range i + 1 { // round-robin: one of the next i+1 requests
				if fetch() == name {
					return true
				}
			}
			return false
		})
		took := time.Since(start)
		worst = max(worst, took)
		t.Logf("instance %d took traffic %s after its registration", i, took.Round(10*time.Microsecond))
	}
	if worst > time.Second {
		t.Fatalf("slowest instance took %s to take traffic, want under 1s", worst)
	}
}

// TestIngressCertificatesFromVariables serves HTTPS with certificates kept
// in variables under nomad/ingress/certs/, chosen by SNI, and follows a
// variable's rewrite (renewal) without a restart.
func TestIngressCertificatesFromVariables(t *testing.T) {
	f := newIngressFixture(t, 1)
	caPEM, caKey, err := tlsutil.GenerateCA(tlsutil.DefaultCAOptions())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	issue := func(region string, host string) map[string]string {
		cert, key, err := tlsutil.GenerateCert(tlsutil.CertOptions{Role: "server", Region: region, Domain: "nomad", Days: 1, DNSNames: []string{host}}, caPEM, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return map[string]string{"cert": string(cert), "key": string(key)}
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", f.certs.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	hs := &http.Server{Handler: http.NotFoundHandler(), ErrorLog: log.New(io.Discard, "", 0)}
	go hs.Serve(ln)
	// served returns the common name of the certificate the ingress
	// presents for host, verified against the CA, or the error.
	served := func(host string) (string, error) {
		conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{ServerName: host, RootCAs: roots})
		if err != nil {
			return "", err
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
	}
	put := func(path string, items map[string]string) {
		t.Helper()
		if _, _, err := f.client.Variables().Create(&api.Variable{Path: path, Items: items}, nil); err != nil {
			t.Fatal(err)
		}
	}
	put("nomad/ingress/certs/a_test", issue("a", "a.test"))
	put("nomad/ingress/certs/b_test", issue("b", "b.test"))
	put("nomad/ingress/certs/broken", map[string]string{"cert": "not a certificate", "key": "x"})
	waitFor(t, 5*time.Second, "certificates loaded", func() bool {
		return f.certs.Source("a.test") == "nomad/ingress/certs/a_test" && f.certs.Source("b.test") == "nomad/ingress/certs/b_test"
	})

	cases := []struct {
		name, host, wantCN string
	}{
		{"first host's certificate by SNI", "a.test", "server.a.nomad"},
		{"second host's certificate by SNI", "b.test", "server.b.nomad"},
		{"SNI is case-insensitive", "B.Test", "server.b.nomad"},
		{"no certificate for an unknown host", "c.test", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cn, err := served(tc.host)
			if tc.wantCN == "" {
				if err == nil {
					t.Fatalf("handshake for %s succeeded with %s, want it refused", tc.host, cn)
				}
				return
			}
			if err != nil || cn != tc.wantCN {
				t.Fatalf("certificate for %s = %q, %v; want %s", tc.host, cn, err, tc.wantCN)
			}
		})
	}

	t.Run("a rewritten variable is served without a restart", func(t *testing.T) {
		start := time.Now()
		put("nomad/ingress/certs/a_test", issue("renewed", "a.test"))
		waitFor(t, 5*time.Second, "the renewed certificate", func() bool {
			cn, _ := served("a.test")
			return cn == "server.renewed.nomad"
		})
		t.Logf("renewed certificate served %s after the write", time.Since(start).Round(10*time.Microsecond))
	})
}

// TestIngressOlderJobKeepsContestedRoute registers the newer job's
// instance first: the route still goes to the older job's service, and the
// newer one is reported as a conflict, through the real watcher.
func TestIngressOlderJobKeepsContestedRoute(t *testing.T) {
	f := newIngressFixture(t, 1)
	intruderAllocs := f.runJob(t, "intruder", 1)
	intruder, web := instance(t, "intruder"), instance(t, "web")
	f.publish(t, intruderAllocs[0], "intruder", intruder.Listener.Addr().String(), ingress.HostTag+"app.test")
	waitFor(t, 5*time.Second, "the intruder's route", func() bool { return len(f.proxy.Table().View()) == 1 })
	f.register(t, 0, web.Listener.Addr().String(), ingress.HostTag+"app.test")
	waitFor(t, 5*time.Second, "the older job's service owning the route", func() bool {
		v := f.proxy.Table().View()
		return len(v) == 1 && v[0].Service == "web" && len(v[0].Conflicts) == 1 && v[0].Conflicts[0] == "default/intruder"
	})
	req, _ := http.NewRequest("GET", f.front.URL, nil)
	req.Host = "app.test"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); string(b) != "web" {
		t.Fatalf("answered by %q, want web", b)
	}
}

// TestIngressRouteWithoutInstances: a route whose instances are all gone
// (withdrawn, as when their checks fail) answers 503 with Retry-After
// while its job still runs, an unknown host 404, and once the job is
// stopped the route goes (404).
func TestIngressRouteWithoutInstances(t *testing.T) {
	f := newIngressFixture(t, 1)
	web := instance(t, "web")
	f.register(t, 0, web.Listener.Addr().String(), ingress.HostTag+"web.test")
	status := func(host string) (int, string) {
		req, _ := http.NewRequest("GET", f.front.URL, nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	waitFor(t, 5*time.Second, "the route", func() bool { code, _ := status("web.test"); return code == 200 })
	if _, err := f.srv.DeleteServiceRegistrations("default", []string{"reg-" + f.allocs[0].ID}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "503 once no instance is left", func() bool { code, _ := status("web.test"); return code == 503 })
	cases := []struct {
		name, host     string
		wantCode       int
		wantRetryAfter bool
	}{
		{"route without instances", "web.test", http.StatusServiceUnavailable, true},
		{"unknown host", "nope.test", http.StatusNotFound, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, ra := status(tc.host)
			if code != tc.wantCode || (ra != "") != tc.wantRetryAfter {
				t.Fatalf("status %d Retry-After %q, want %d (Retry-After: %v)", code, ra, tc.wantCode, tc.wantRetryAfter)
			}
		})
	}
	if v := f.proxy.Table().View(); len(v) != 1 || len(v[0].Instances) != 0 {
		t.Fatalf("routes = %+v, want web.test listed with no instance", v)
	}
	t.Run("an instance back takes traffic again", func(t *testing.T) {
		f.register(t, 0, web.Listener.Addr().String(), ingress.HostTag+"web.test")
		waitFor(t, 5*time.Second, "200 again", func() bool { code, _ := status("web.test"); return code == 200 })
		if _, err := f.srv.DeleteServiceRegistrations("default", []string{"reg-" + f.allocs[0].ID}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "503 again", func() bool { code, _ := status("web.test"); return code == 503 })
	})
	t.Run("a stopped job's route goes", func(t *testing.T) {
		if _, _, err := f.srv.DeregisterJob("", "default", "web", false); err != nil {
			t.Fatal(err)
		}
		// The job's stop touches the catalogue only if it held a
		// registration; touch it so the watcher rebuilds.
		other := f.runJob(t, "other", 1)
		f.publish(t, other[0], "other", web.Listener.Addr().String(), "plain")
		waitFor(t, 5*time.Second, "404 once the job is stopped", func() bool { code, _ := status("web.test"); return code == 404 })
	})
}

// TestIngressCertFileReloadOnSIGHUP: the agent's reload (SIGHUP) reads the
// ingress's cert_file and key_file again; a pair that does not load is
// reported and the certificate in use stays.
func TestIngressCertFileReloadOnSIGHUP(t *testing.T) {
	caPEM, caKey, err := tlsutil.GenerateCA(tlsutil.DefaultCAOptions())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := IngressConfig{Enabled: true, HTTPSPort: 1, CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem")}
	writePair := func(region string) {
		cert, key, err := tlsutil.GenerateCert(tlsutil.CertOptions{Role: "server", Region: region, Domain: "nomad", Days: 1}, caPEM, caKey)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cfg.CertFile, cert, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cfg.KeyFile, key, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writePair("first")
	certs, err := ingressCerts(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := &Agent{config: DefaultConfig(), ingress: &ingressServer{certs: certs, cfg: cfg}}
	served := func() string {
		cert, err := certs.GetCertificate(&tls.ClientHelloInfo{ServerName: "any.test"})
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return leaf.Subject.CommonName
	}
	cases := []struct {
		name    string
		change  func()
		wantErr bool
		want    string
	}{
		{"renewed pair", func() { writePair("second") }, false, "server.second.nomad"},
		{"broken key keeps the one in use", func() { os.WriteFile(cfg.KeyFile, []byte("junk"), 0o600) }, true, "server.second.nomad"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.change()
			if err := a.ReloadTLS(); (err != nil) != tc.wantErr {
				t.Fatalf("ReloadTLS: %v, want error: %v", err, tc.wantErr)
			}
			if cn := served(); cn != tc.want {
				t.Fatalf("serving %s, want %s", cn, tc.want)
			}
		})
	}
}
