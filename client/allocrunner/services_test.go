package allocrunner

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/clienttest"
	"github.com/roam-project/roam/client/state"
	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/drivers/rawexec"
)

// serviceNames lists the published service names, sorted.
func serviceNames(s *clienttest.Servers) string {
	var out []string
	for _, r := range s.Services() {
		out = append(out, r.ServiceName)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func TestServicesFollowTasks(t *testing.T) {
	main := clienttest.ShellTask("main", "sleep 600")
	main.Services = []*api.Service{{Name: "api", PortLabel: "http", Provider: "nomad"}}
	short := clienttest.ShellTask("short", "sleep 2")
	short.Services = []*api.Service{{Name: "short-lived", Provider: "nomad"}, {Name: "consul-only", Provider: "consul"}}
	alloc := clienttest.Alloc("n1", "service", main, short)
	alloc.Job.TaskGroups[0].Services = []*api.Service{{Name: "web", PortLabel: "http", Provider: "nomad"}}

	d := rawexec.New()
	if err := d.SetConfig(map[string]any{"enabled": true}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	db, err := state.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	servers := clienttest.NewServers()
	ar, err := New(Config{
		Alloc: alloc, Node: &api.Node{ID: "n1", Datacenter: "dc1", Attributes: map[string]string{"unique.network.ip-address": "127.0.0.1"}},
		Drivers: map[string]drivers.Driver{"raw_exec": d}, AllocRoot: filepath.Join(dir, "alloc"), State: db,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Services: servers,
	})
	if err != nil {
		t.Fatal(err)
	}
	go ar.Run()

	steps := []struct {
		name string
		act  func()
		want string
	}{
		{"running tasks publish group and task services", func() {}, "api,short-lived,web"},
		{"a finished task withdraws its own services", func() {}, "api,web"},
		{"stopping the allocation withdraws the rest", func() {
			stopped := *ar.Alloc()
			stopped.DesiredStatus = "stop"
			ar.Update(&stopped)
		}, ""},
	}
	for _, step := range steps {
		step.act()
		waitFor(t, step.name, func() bool { return serviceNames(servers) == step.want })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := ar.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
}
