package agent

import (
	"bytes"
	"errors"
	"flag"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roam-project/roam/tlsutil"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		want       func(c *Config) // edits the expected base config
		dev        bool            // the expected base is DevConfig, not DefaultConfig
		wantStderr string
	}{
		{
			name: "config file over the defaults",
			args: []string{"-config", "testdata/server.hcl"},
			want: func(c *Config) {
				c.DataDir, c.BindAddr = "/opt/nomad/data", "0.0.0.0"
				c.Server.Enabled, c.Server.BootstrapExpect = true, 3
				c.Client.Enabled, c.Client.Servers = true, []string{"127.0.0.1"}
				c.Files = []string{"testdata/server.hcl"}
			},
		},
		{
			name: "flags override config files",
			args: []string{"-config=testdata/client.hcl", "-servers", "10.9.9.9:4647, 10.9.9.10:4647",
				"-dc", "west", "-region", "us", "-node", "n1", "-bind", "10.1.1.1", "-log-level", "WARN",
				"-data-dir", "/data", "-node-class", "batch", "-network-interface", "eth1",
				"-meta", "rack=r1", "-meta", "zone=a=b"},
			want: func(c *Config) {
				c.Datacenter, c.Region, c.Name, c.BindAddr, c.LogLevel = "west", "us", "n1", "10.1.1.1", "WARN"
				c.DataDir = "/data"
				c.Client.Enabled = true
				c.Client.Servers = []string{"10.9.9.9:4647", "10.9.9.10:4647"}
				c.Client.NodeClass, c.Client.NetworkInterface = "batch", "eth1"
				c.Client.Meta = map[string]string{"rack": "r1", "zone": "a=b"}
				c.Files = []string{"testdata/client.hcl"}
			},
		},
		{
			name: "config files merge in order given",
			args: []string{"-config", "testdata/confdir/20-override.json", "-config", "testdata/confdir/10-base.hcl"},
			want: func(c *Config) {
				c.DataDir, c.Datacenter = "/srv/roam", "dc-base"
				c.Client.Enabled = true
				c.Client.Servers = []string{"10.0.0.1:4647"}
				c.Client.Meta = map[string]string{"rack": "r1", "zone": "a"}
				c.Files = []string{"testdata/confdir/20-override.json", "testdata/confdir/10-base.hcl"}
			},
		},
		{
			name: "dev mode",
			args: []string{"-dev"},
			dev:  true,
			want: func(c *Config) {},
		},
		{
			name: "config file over dev mode",
			args: []string{"-dev", "-config", "testdata/client.hcl"},
			dev:  true,
			want: func(c *Config) {
				c.DataDir, c.BindAddr = "/opt/nomad/data", "0.0.0.0"
				c.Client.Servers = []string{"10.0.0.10:4647"}
				c.Files = []string{"testdata/client.hcl"}
			},
		},
		{
			name: "server flags and repeated retry-join",
			args: []string{"-server", "-bootstrap-expect", "3", "-data-dir", "/d",
				"-retry-join", "10.0.0.1", "-retry-join", "10.0.0.2", "-encrypt", "cg8StVXbQJ0gPvMd9o7yrg=="},
			want: func(c *Config) {
				c.DataDir = "/d"
				c.Server.Enabled, c.Server.BootstrapExpect, c.Server.EncryptKey = true, 3, "cg8StVXbQJ0gPvMd9o7yrg=="
				c.Server.ServerJoin = &ServerJoin{RetryJoin: []string{"10.0.0.1", "10.0.0.2"}, RetryInterval: 30 * time.Second}
			},
		},
		{
			name:       "plugin-dir is ignored with a warning",
			args:       []string{"-dev", "-plugin-dir", "/opt/plugins"},
			dev:        true,
			want:       func(c *Config) {},
			wantStderr: "-plugin-dir is ignored",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := DefaultConfig()
			if tc.dev {
				want = DevConfig()
			}
			tc.want(want)
			var stderr bytes.Buffer
			got, err := ParseFlags(tc.args, &stderr)
			if err != nil {
				t.Fatalf("ParseFlags(%q): %v", tc.args, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ParseFlags(%q) mismatch (-want +got):\n%s", tc.args, diff)
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tc.wantStderr)
			}
		})
	}
}

func TestParseFlagsErrors(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		want       string // substring of the error
		wantStderr string
	}{
		{
			name:       "unknown flag",
			args:       []string{"-dev", "-bogus"},
			want:       "flag provided but not defined: -bogus",
			wantStderr: "flag provided but not defined: -bogus",
		},
		{
			name: "bad number",
			args: []string{"-bootstrap-expect", "three"},
			want: `invalid value "three" for flag -bootstrap-expect`,
		},
		{
			name: "meta without a value",
			args: []string{"-dev", "-meta", "rack"},
			want: `-meta "rack": want key=value`,
		},
		{
			name: "positional argument",
			args: []string{"-dev", "extra"},
			want: "takes no arguments",
		},
		{
			name: "missing config file",
			args: []string{"-config", "testdata/absent.hcl"},
			want: "testdata/absent.hcl",
		},
		{
			name: "client without servers",
			args: []string{"-client", "-data-dir", "/d"},
			want: "client.servers must be set when server is disabled",
		},
		{
			name: "nothing enabled",
			args: []string{"-data-dir", "/d"},
			want: "neither server nor client is enabled",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			_, err := ParseFlags(tc.args, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseFlags(%q) error = %v; want one containing %q", tc.args, err, tc.want)
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tc.wantStderr)
			}
		})
	}
}

func TestParseFlagsHelp(t *testing.T) {
	var stderr bytes.Buffer
	_, err := ParseFlags([]string{"-h"}, &stderr)
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr.String(), "-retry-join") {
		t.Fatalf("ParseFlags(-h) = %v, usage %q; want flag.ErrHelp and the usage", err, stderr.String())
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *Config) // applied to a valid server and client config
		want string          // substring of the error; empty for none
	}{
		{name: "valid", edit: func(c *Config) {}},
		{name: "dev config", edit: func(c *Config) { *c = *DevConfig() }},
		{name: "client only with servers", edit: func(c *Config) { c.Server = ServerConfig{} }},
		{
			name: "client only with server_join",
			edit: func(c *Config) {
				c.Server, c.Client.Servers = ServerConfig{}, nil
				c.Client.ServerJoin = &ServerJoin{RetryJoin: []string{"10.0.0.1"}}
			},
		},
		{
			name: "client only without servers",
			edit: func(c *Config) { c.Server, c.Client.Servers = ServerConfig{}, nil },
			want: "client.servers must be set when server is disabled",
		},
		{
			name: "neither server nor client",
			edit: func(c *Config) { c.Server.Enabled, c.Client.Enabled = false, false },
			want: "neither server nor client is enabled",
		},
		{
			name: "bootstrap_expect without server mode",
			edit: func(c *Config) { c.Server.Enabled = false },
			want: "server.bootstrap_expect is set but server mode is not enabled",
		},
		{
			name: "negative bootstrap_expect",
			edit: func(c *Config) { c.Server.BootstrapExpect = -1 },
			want: "must not be negative",
		},
		{name: "no data dir", edit: func(c *Config) { c.DataDir = "" }, want: "data_dir must be set"},
		{name: "bad log level", edit: func(c *Config) { c.LogLevel = "LOUD" }, want: `log_level "LOUD"`},
		{name: "bad port", edit: func(c *Config) { c.Ports.RPC = 70000 }, want: "ports.rpc: port 70000"},
		{name: "gossip key not base64", edit: func(c *Config) { c.Server.EncryptKey = "not base64!" }, want: "server.encrypt: not base64"},
		{name: "gossip key of a wrong size", edit: func(c *Config) { c.Server.EncryptKey = "c2hvcnQ=" }, want: "server.encrypt: key is 5 bytes"},
		{name: "valid gossip key", edit: func(c *Config) { c.Server.EncryptKey = "cg8StVXbQJ0gPvMd9o7yrg==" }},
		{name: "tls without files", edit: func(c *Config) { c.TLS.RPC = true }, want: "tls.ca_file must be set"},
		{
			name: "tls files that do not exist",
			edit: func(c *Config) {
				c.TLS = tlsutil.Config{HTTP: true, CAFile: "/nonexistent/ca.pem", CertFile: "/nonexistent/c.pem", KeyFile: "/nonexistent/k.pem"}
			},
			want: "tls: tls.ca_file: stat /nonexistent/ca.pem: no such file or directory",
		},
		{
			name: "inverted dynamic ports",
			edit: func(c *Config) { c.Client.MinDynamicPort, c.Client.MaxDynamicPort = 30000, 20000 },
			want: "min_dynamic_port 30000 is above max_dynamic_port 20000",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.DataDir = "/d"
			c.Server.Enabled, c.Server.BootstrapExpect = true, 1
			c.Client.Enabled, c.Client.Servers = true, []string{"127.0.0.1:4647"}
			tc.edit(c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate error = %v; want one containing %q", err, tc.want)
			}
		})
	}
}

func TestNormalizeAddrs(t *testing.T) {
	tests := []struct {
		name          string
		edit          func(c *Config)
		wantAddresses Addresses
		wantAdvertise Addresses // a "private" entry means any private IP of the machine
		wantErr       string
	}{
		{
			name:          "loopback bind is bound and advertised",
			edit:          func(c *Config) { c.BindAddr = "127.0.0.1" },
			wantAddresses: Addresses{HTTP: "127.0.0.1", RPC: "127.0.0.1", Serf: "127.0.0.1"},
			wantAdvertise: Addresses{HTTP: "127.0.0.1", RPC: "127.0.0.1", Serf: "127.0.0.1"},
		},
		{
			name: "explicit addresses and advertise win",
			edit: func(c *Config) {
				c.BindAddr = "127.0.0.1"
				c.Addresses.HTTP = "127.0.0.2"
				c.Advertise = Addresses{RPC: "10.0.0.1", Serf: "10.0.0.1:4648"}
			},
			wantAddresses: Addresses{HTTP: "127.0.0.2", RPC: "127.0.0.1", Serf: "127.0.0.1"},
			wantAdvertise: Addresses{HTTP: "127.0.0.2", RPC: "10.0.0.1", Serf: "10.0.0.1"},
		},
		{
			name:          "IPv6 advertise with its port",
			edit:          func(c *Config) { c.BindAddr = "::1"; c.Advertise.HTTP = "[::1]:4646" },
			wantAddresses: Addresses{HTTP: "::1", RPC: "::1", Serf: "::1"},
			wantAdvertise: Addresses{HTTP: "::1", RPC: "::1", Serf: "::1"},
		},
		{
			name:          "any-address bind advertises a private IP",
			edit:          func(c *Config) {},
			wantAddresses: Addresses{HTTP: "0.0.0.0", RPC: "0.0.0.0", Serf: "0.0.0.0"},
			wantAdvertise: Addresses{HTTP: "private", RPC: "private", Serf: "private"},
		},
		{
			name:    "advertised port differs from the agent's",
			edit:    func(c *Config) { c.BindAddr = "127.0.0.1"; c.Advertise.Serf = "10.0.0.1:5648" },
			wantErr: `advertise.serf: "10.0.0.1:5648": the advertised port must be the agent's port 4648`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(c)
			err := c.NormalizeAddrs()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("NormalizeAddrs error = %v; want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NormalizeAddrs: %v", err)
			}
			if c.Addresses != tc.wantAddresses {
				t.Errorf("Addresses = %+v; want %+v", c.Addresses, tc.wantAddresses)
			}
			for i, got := range []string{c.Advertise.HTTP, c.Advertise.RPC, c.Advertise.Serf} {
				want := []string{tc.wantAdvertise.HTTP, tc.wantAdvertise.RPC, tc.wantAdvertise.Serf}[i]
				if want == "private" {
					if ip := net.ParseIP(got); ip == nil || !ip.IsPrivate() {
						t.Errorf("advertised %q; want a private IP", got)
					}
				} else if got != want {
					t.Errorf("advertised %q; want %q", got, want)
				}
			}
		})
	}
}
