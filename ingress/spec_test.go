package ingress

import (
	"strings"
	"testing"
)

func TestValidateTags(t *testing.T) {
	cases := []struct {
		name    string
		tags    []string
		wantErr string // "" for valid
	}{
		{"no ingress tags", []string{"http", "v1"}, ""},
		{"host only", []string{"ingress.host=app.example.com"}, ""},
		{"host and path", []string{"ingress.host=App-1.example.com", "ingress.path=/api/v1"}, ""},
		{"interpolated host left to the client", []string{"ingress.host=${NOMAD_JOB_NAME}.example.com"}, ""},
		{"host with a port", []string{"ingress.host=app.example.com:8080"}, "no port or scheme"},
		{"host with a scheme", []string{"ingress.host=https://app.example.com"}, "no port or scheme"},
		{"empty host", []string{"ingress.host="}, "must not be empty"},
		{"empty label", []string{"ingress.host=app..example.com"}, "1 to 63 characters"},
		{"label starting with a hyphen", []string{"ingress.host=-app.example.com"}, "hyphen"},
		{"wildcard host", []string{"ingress.host=*.example.com"}, "not allowed"},
		{"two hosts", []string{"ingress.host=a.test", "ingress.host=b.test"}, "more than one ingress.host="},
		{"two paths", []string{"ingress.host=a.test", "ingress.path=/a", "ingress.path=/b"}, "more than one ingress.path="},
		{"path without host", []string{"ingress.path=/api"}, "needs an ingress.host= tag"},
		{"relative path", []string{"ingress.host=a.test", "ingress.path=api"}, "must start with /"},
		{"path with a query", []string{"ingress.host=a.test", "ingress.path=/api?x=1"}, "no query"},
		{"path with a space", []string{"ingress.host=a.test", "ingress.path=/a b"}, "no query, fragment or spaces"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateTags(tc.tags)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateTags(%q) = %v, want valid", tc.tags, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("ValidateTags(%q) = %v, want an error with %q", tc.tags, err, tc.wantErr)
			}
		})
	}
}

func TestTagsRoundTrip(t *testing.T) {
	cases := []struct {
		name, host, path string
		wantHost         string
		wantPath         string
	}{
		{"root path", "App.Example.com", "", "app.example.com", "/"},
		{"explicit root", "a.test", "/", "a.test", "/"},
		{"prefix", "a.test", "/api", "a.test", "/api"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			host, path := RouteOf(Tags(tc.host, tc.path))
			if host != tc.wantHost || path != tc.wantPath {
				t.Fatalf("RouteOf(Tags(%q, %q)) = %q, %q; want %q, %q", tc.host, tc.path, host, path, tc.wantHost, tc.wantPath)
			}
		})
	}
}
