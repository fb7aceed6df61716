package rpc

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestHTTPTunnelServesServersOnly(t *testing.T) {
	m, _ := startMux(t)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "tunnelled "+r.URL.Path)
	})}
	go func() { _ = srv.Serve(m.HTTPTunnel()) }()
	t.Cleanup(func() { _ = srv.Close() })
	cases := []struct {
		name    string
		dial    DialConfig
		wantErr string
	}{
		{"server", serverDial, ""},
		{"client", DialConfig{Role: RoleClient}, "only servers may open HTTP tunnels"},
		{"server without the secret", DialConfig{Role: RoleServer}, "wrong cluster secret"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := &http.Client{Transport: &http.Transport{
				DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
					return DialHTTP(ctx, addr, tc.dial)
				},
			}}
			resp, err := client.Get("http://" + m.Addr().String() + "/v1/jobs")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("GET through a tunnel as %s: %v, want %q", tc.name, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if string(body) != "tunnelled /v1/jobs" {
				t.Fatalf("answer %q", body)
			}
		})
	}
}
