package agent

import (
	"net/http/httptest"
	"testing"
	"time"
)

func TestRegionRouted(t *testing.T) {
	cases := []struct {
		path string
		want bool
	}{
		{"/v1/jobs", true},
		{"/v1/job/web/allocations", true},
		{"/v1/status/leader", true},
		{"/v1/acl/policies", true},
		{"/v1/agent/self", false},
		{"/v1/client/fs/logs/x", false},
		{"/v1/regions", false},
		{"/ui/jobs", false},
		{"/", false},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			if got := regionRouted(tc.path); got != tc.want {
				t.Fatalf("regionRouted(%q) = %v, want %v", tc.path, got, tc.want)
			}
		})
	}
}

func TestRegionHeaderWait(t *testing.T) {
	cases := []struct {
		name, url string
		want      time.Duration
	}{
		{"a plain read", "/v1/jobs", regionAnswerWait},
		{"a blocking query", "/v1/jobs?index=5&wait=32s", 32*time.Second + 2*time.Second + regionAnswerWait},
		{"a blocking query with the default wait", "/v1/jobs?index=5", 5*time.Minute + 5*time.Minute/16 + regionAnswerWait},
		{"a wait past the cap", "/v1/jobs?index=5&wait=1h", 10*time.Minute + 10*time.Minute/16 + regionAnswerWait},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := regionHeaderWait(httptest.NewRequest("GET", tc.url, nil)); got != tc.want {
				t.Fatalf("regionHeaderWait(%s) = %s, want %s", tc.url, got, tc.want)
			}
		})
	}
}
