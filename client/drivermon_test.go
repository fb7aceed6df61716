package client

import (
	"testing"

	"github.com/hashicorp/nomad/api"
)

func TestDriversEqual(t *testing.T) {
	healthy := func() map[string]*api.DriverInfo {
		return map[string]*api.DriverInfo{"raw_exec": {Detected: true, Healthy: true, Attributes: map[string]string{"driver.raw_exec": "1"}}}
	}
	cases := []struct {
		name   string
		change func(m map[string]*api.DriverInfo)
		equal  bool
	}{
		{"same", func(map[string]*api.DriverInfo) {}, true},
		{"turned unhealthy", func(m map[string]*api.DriverInfo) { m["raw_exec"].Healthy = false }, false},
		{"attribute changed", func(m map[string]*api.DriverInfo) { m["raw_exec"].Attributes["driver.raw_exec"] = "0" }, false},
		{"driver added", func(m map[string]*api.DriverInfo) { m["docker"] = &api.DriverInfo{} }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := healthy()
			tc.change(b)
			if got := driversEqual(healthy(), b); got != tc.equal {
				t.Fatalf("driversEqual = %v, want %v", got, tc.equal)
			}
		})
	}
}
