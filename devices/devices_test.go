package devices

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"
)

func TestParseName(t *testing.T) {
	gpu := &api.NodeDeviceResource{Vendor: "nvidia", Type: "gpu", Name: "H100 80GB HBM3"}
	cases := []struct {
		name    string
		in      string
		ok      bool
		matches bool
	}{
		{"type", "gpu", true, true},
		{"vendor and type", "nvidia/gpu", true, true},
		{"full", "nvidia/gpu/H100 80GB HBM3", true, true},
		{"other model", "nvidia/gpu/T4", true, false},
		{"other vendor", "amd/gpu", true, false},
		{"other type", "fpga", true, false},
		{"empty part", "nvidia//x", false, false},
		{"empty", "", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, ok := ParseName(tc.in)
			if ok != tc.ok {
				t.Fatalf("ParseName(%q) ok = %v, want %v", tc.in, ok, tc.ok)
			}
			if ok && n.Matches(gpu) != tc.matches {
				t.Fatalf("%q matches = %v, want %v", tc.in, !tc.matches, tc.matches)
			}
		})
	}
}

func TestCompareAttributes(t *testing.T) {
	mib := int64(40960)
	memory := &api.Attribute{IntVal: &mib, Unit: "MiB"}
	cases := []struct {
		name  string
		value string
		cmp   int
		ok    bool
	}{
		{"same in GiB", "40 GiB", 0, true},
		{"larger ask", "80GiB", -1, true},
		{"smaller ask in MB", "1000 MB", 1, true},
		{"no unit", "40960", 0, true},
		{"other family", "250 W", 0, false},
		{"string", "lots", 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmp, ok := CompareAttributes(memory, ParseAttribute(tc.value))
			if ok != tc.ok || (ok && cmp != tc.cmp) {
				t.Fatalf("compare 40960 MiB with %q = %d, %v; want %d, %v", tc.value, cmp, ok, tc.cmp, tc.ok)
			}
		})
	}
	if got := FormatAttribute(memory); got != "40960 MiB" {
		t.Fatalf("FormatAttribute = %q", got)
	}
}

// fixturePlugin reports fixed devices, for tests of the manager above any
// vendor library.
type fixturePlugin struct {
	name   string
	groups []*api.NodeDeviceResource
	err    error
}

func (p *fixturePlugin) Name() string { return p.name }

func (p *fixturePlugin) Fingerprint(context.Context) ([]*api.NodeDeviceResource, error) {
	return p.groups, p.err
}

func (p *fixturePlugin) Stats(context.Context) ([]*api.DeviceGroupStats, error) { return nil, p.err }

func (p *fixturePlugin) Reserve(ids []string) (*Reservation, error) {
	return &Reservation{Env: map[string]string{"FIXTURE_DEVICES": strings.Join(ids, ",")}}, nil
}

func TestManager(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ok := &fixturePlugin{name: "acme", groups: []*api.NodeDeviceResource{{Vendor: "acme", Type: "fpga", Name: "F1",
		Instances: []*api.NodeDevice{{ID: "f-0", Healthy: true}, {ID: "f-1", Healthy: true}}}}}
	broken := &fixturePlugin{name: "broken", err: errors.New("library not found")}
	m := NewManager(logger, ok, broken)
	groups := m.Fingerprint(context.Background())
	if len(groups) != 1 || GroupID(groups[0]) != "acme/fpga/F1" {
		t.Fatalf("groups = %+v", groups)
	}
	if !strings.Contains(logs.String(), "library not found") {
		t.Fatalf("the failing plugin's reason was not logged:\n%s", logs.String())
	}
	m.Fingerprint(context.Background())
	if n := strings.Count(logs.String(), "library not found"); n != 1 {
		t.Fatalf("reason logged %d times, want once", n)
	}
	r, err := m.Reserve([]*api.AllocatedDeviceResource{{Vendor: "acme", Type: "fpga", Name: "F1", DeviceIDs: []string{"f-1"}}})
	if err != nil || r.Env["FIXTURE_DEVICES"] != "f-1" {
		t.Fatalf("Reserve = %+v, %v", r, err)
	}
	if _, err := m.Reserve([]*api.AllocatedDeviceResource{{Vendor: "acme", Type: "gpu", Name: "X", DeviceIDs: []string{"x"}}}); err == nil {
		t.Fatal("Reserve of a group no plugin reports succeeded")
	}
}

func TestStatsFor(t *testing.T) {
	stats := []*api.DeviceGroupStats{{Vendor: "nvidia", Type: "gpu", Name: "T4", InstanceStats: map[string]*api.DeviceStats{
		"GPU-a": {}, "GPU-b": {},
	}}}
	got := StatsFor(stats, []*api.AllocatedDeviceResource{{Vendor: "nvidia", Type: "gpu", Name: "T4", DeviceIDs: []string{"GPU-b"}}})
	if len(got) != 1 || len(got[0].InstanceStats) != 1 || got[0].InstanceStats["GPU-b"] == nil {
		t.Fatalf("StatsFor = %+v, want GPU-b alone", got)
	}
	if got := StatsFor(stats, []*api.AllocatedDeviceResource{{Vendor: "nvidia", Type: "gpu", Name: "A100", DeviceIDs: []string{"GPU-a"}}}); len(got) != 0 {
		t.Fatalf("StatsFor of another model = %+v", got)
	}
}
