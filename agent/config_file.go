package agent

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/roam-project/roam/internal/telemetry"
	"github.com/roam-project/roam/tlsutil"
)

// LoadConfigFile reads an agent configuration file, HCL or JSON (told
// apart by content, as Nomad does: JSON starts with `{`). Given a directory it loads every *.hcl and *.json file in
// it, not recursing, in lexical order, each merged over the ones before.
// The result holds only what the files set: merge it over DefaultConfig.
// Errors name the file, line and column of the offending setting.
func LoadConfigFile(path string) (*Config, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load agent config: %w", err)
	}
	if !info.IsDir() {
		return loadConfigFile(path)
	}
	entries, err := os.ReadDir(path) // sorted by name
	if err != nil {
		return nil, fmt.Errorf("load agent config: %w", err)
	}
	merged := &Config{}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".hcl" && ext != ".json") {
			continue
		}
		c, err := loadConfigFile(filepath.Join(path, e.Name()))
		if err != nil {
			return nil, err
		}
		merged = merged.Merge(c)
	}
	return merged, nil
}

// loadConfigFile parses and decodes one file.
func loadConfigFile(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load agent config: %w", err)
	}
	parser := hclparse.NewParser()
	var file *hcl.File
	var diags hcl.Diagnostics
	if isJSON(src) {
		file, diags = parser.ParseJSON(src, path)
	} else {
		file, diags = parser.ParseHCL(src, path)
	}
	if diags.HasErrors() {
		return nil, diagnosticsError(hintQuotedNames(diags))
	}
	var root fileRoot
	if diags = gohcl.DecodeBody(file.Body, nil, &root); diags.HasErrors() {
		return nil, diagnosticsError(diags)
	}
	c, diags := root.config()
	if diags.HasErrors() {
		return nil, diagnosticsError(diags)
	}
	c.Files = []string{path}
	return c, nil
}

// isJSON reports whether a config file's content is JSON: its first
// non-space byte is `{`. An HCL file cannot start with a brace.
func isJSON(src []byte) bool {
	trimmed := bytes.TrimLeft(src, " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] == '{'
}

// diagnosticsError turns HCL error diagnostics into one error, a line
// each, in the form "file:line,col-col: Summary; Detail".
func diagnosticsError(diags hcl.Diagnostics) error {
	var errs []error
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errs = append(errs, d)
		}
	}
	return errors.Join(errs...)
}

// hintQuotedNames explains the one HCL 1 habit HCL 2 rejects in agent
// configs, quoted keys in a block (`meta { "a.b" = "c" }`), and its fix.
func hintQuotedNames(diags hcl.Diagnostics) hcl.Diagnostics {
	for _, d := range diags {
		if d.Summary == "Invalid argument name" && strings.Contains(d.Detail, "quoted") {
			d.Detail += ` For keys that need quotes, write the map as an argument: meta = { "a.b" = "c" }.`
		}
	}
	return diags
}

// fileRoot is the top level of an agent configuration file as written.
type fileRoot struct {
	Name               string         `hcl:"name,optional"`
	Region             string         `hcl:"region,optional"`
	Datacenter         string         `hcl:"datacenter,optional"`
	DataDir            string         `hcl:"data_dir,optional"`
	BindAddr           string         `hcl:"bind_addr,optional"`
	LogLevel           string         `hcl:"log_level,optional"`
	LogJSON            bool           `hcl:"log_json,optional"`
	LogFile            string         `hcl:"log_file,optional"`
	PluginDir          string         `hcl:"plugin_dir,optional"`
	LeaveOnInterrupt   bool           `hcl:"leave_on_interrupt,optional"`
	LeaveOnTerminate   bool           `hcl:"leave_on_terminate,optional"`
	EnableSyslog       bool           `hcl:"enable_syslog,optional"`
	DisableUpdateCheck bool           `hcl:"disable_update_check,optional"`
	EnableDebug        bool           `hcl:"enable_debug,optional"`
	Ports              *filePorts     `hcl:"ports,block"`
	Addresses          *fileAddresses `hcl:"addresses,block"`
	Advertise          *fileAddresses `hcl:"advertise,block"`
	Server             *fileServer    `hcl:"server,block"`
	Client             *fileClient    `hcl:"client,block"`
	Plugins            []filePlugin   `hcl:"plugin,block"`
	Keyrings           []fileKeyring  `hcl:"keyring,block"`
	Rest               hcl.Body       `hcl:",remain"`
}

// rootRest lists the top-level Nomad settings Roam accepts without acting
// on them; they land in Config.Extra.
var rootRest = restSchema{
	maps: []string{"http_api_response_headers"},
	attrs: []string{"syslog_facility", "disable_anonymous_signature", "log_rotate_bytes",
		"log_rotate_duration", "log_rotate_max_files", "log_include_location"},
	blocks: []hcl.BlockHeaderSchema{{Type: "acl"}, {Type: "ui"}, {Type: "tls"},
		{Type: "telemetry"}, {Type: "consul"}, {Type: "vault"}, {Type: "limits"},
		{Type: "autopilot"}, {Type: "audit"}, {Type: "sentinel"}, {Type: "reporting"},
		{Type: "eventlog"}},
}

type filePorts struct {
	HTTP int `hcl:"http,optional"`
	RPC  int `hcl:"rpc,optional"`
	Serf int `hcl:"serf,optional"`
}

type fileAddresses struct {
	HTTP string `hcl:"http,optional"`
	RPC  string `hcl:"rpc,optional"`
	Serf string `hcl:"serf,optional"`
}

type filePlugin struct {
	Name   string       `hcl:"name,label"`
	Args   []string     `hcl:"args,optional"`
	Config *fileGeneric `hcl:"config,block"`
	Body   hcl.Body     `hcl:",body"`
}

// fileGeneric is a block kept as generic values.
type fileGeneric struct {
	Body hcl.Body `hcl:",remain"`
}

// fileEnabled reads the `enabled` flag of a block kept otherwise generic.
type fileEnabled struct {
	Enabled bool     `hcl:"enabled,optional"`
	Rest    hcl.Body `hcl:",remain"`
}

// config converts the decoded file into a Config.
func (r *fileRoot) config() (*Config, hcl.Diagnostics) {
	c := &Config{
		Name: r.Name, Region: r.Region, Datacenter: r.Datacenter, DataDir: r.DataDir,
		BindAddr: r.BindAddr, LogLevel: r.LogLevel, LogJSON: r.LogJSON, LogFile: r.LogFile,
		PluginDir: r.PluginDir, LeaveOnInterrupt: r.LeaveOnInterrupt,
		LeaveOnTerminate: r.LeaveOnTerminate, EnableSyslog: r.EnableSyslog,
		DisableUpdateCheck: r.DisableUpdateCheck, EnableDebug: r.EnableDebug,
	}
	if r.Ports != nil {
		c.Ports = Ports(*r.Ports)
	}
	if r.Addresses != nil {
		c.Addresses = Addresses(*r.Addresses)
	}
	if r.Advertise != nil {
		c.Advertise = Addresses(*r.Advertise)
	}
	var diags hcl.Diagnostics
	if r.Server != nil {
		var d hcl.Diagnostics
		c.Server, d = r.Server.config()
		diags = append(diags, d...)
	}
	if r.Client != nil {
		var d hcl.Diagnostics
		c.Client, d = r.Client.config()
		diags = append(diags, d...)
	}
	var d hcl.Diagnostics
	c.Plugins, d = pluginConfigs(r.Plugins)
	diags = append(diags, d...)
	c.Keyrings, d = keyringConfigs(r.Keyrings)
	diags = append(diags, d...)
	rest, d := decodeRest(r.Rest, rootRest)
	diags = append(diags, d...)
	c.HTTPAPIResponseHeaders = rest.maps["http_api_response_headers"]
	c.Extra = rest.extra
	for _, b := range rest.blocks.OfType("acl") {
		c.ACL = c.ACL.merge(decodeACL(b, &diags))
	}
	for _, b := range rest.blocks.OfType("telemetry") {
		c.Telemetry = mergeTelemetry(c.Telemetry, decodeTelemetry(b, &diags))
	}
	for _, b := range rest.blocks.OfType("ui") {
		c.UI.Enabled = c.UI.Enabled || decodeEnabled(b, &diags)
	}
	for _, b := range rest.blocks.OfType("tls") {
		var t fileTLS
		diags = append(diags, gohcl.DecodeBody(b.Body, nil, &t)...)
		c.TLS = tlsutil.Config{HTTP: t.HTTP, RPC: t.RPC, CAFile: t.CAFile, CertFile: t.CertFile,
			KeyFile: t.KeyFile, VerifyServerHostname: t.VerifyServerHostname, VerifyHTTPSClient: t.VerifyHTTPSClient,
			MinVersion: t.MinVersion, RPCUpgradeMode: t.RPCUpgradeMode, CipherSuites: t.CipherSuites}
	}
	return c, diags
}

// fileTLS is the `tls` block as written. tls_prefer_server_cipher_suites
// is accepted and has no effect (Go picks the cipher suite order).
type fileTLS struct {
	HTTP                 bool   `hcl:"http,optional"`
	RPC                  bool   `hcl:"rpc,optional"`
	CAFile               string `hcl:"ca_file,optional"`
	CertFile             string `hcl:"cert_file,optional"`
	KeyFile              string `hcl:"key_file,optional"`
	VerifyServerHostname bool   `hcl:"verify_server_hostname,optional"`
	VerifyHTTPSClient    bool   `hcl:"verify_https_client,optional"`
	MinVersion           string `hcl:"tls_min_version,optional"`
	RPCUpgradeMode       bool   `hcl:"rpc_upgrade_mode,optional"`
	CipherSuites         string `hcl:"tls_cipher_suites,optional"`
	PreferServerCiphers  bool   `hcl:"tls_prefer_server_cipher_suites,optional"`
}

// decodeEnabled reads a block's `enabled` flag.
func decodeEnabled(b *hcl.Block, diags *hcl.Diagnostics) bool {
	var e fileEnabled
	*diags = append(*diags, gohcl.DecodeBody(b.Body, nil, &e)...)
	return e.Enabled
}

// fileACL is the `acl` block as written.
type fileACL struct {
	Enabled   bool           `hcl:"enabled,optional"`
	TokenTTL  hcl.Expression `hcl:"token_ttl,optional"`
	PolicyTTL hcl.Expression `hcl:"policy_ttl,optional"`
	RoleTTL   hcl.Expression `hcl:"role_ttl,optional"`
	Rest      hcl.Body       `hcl:",remain"`
}

// decodeACL reads an acl block's typed settings.
func decodeACL(b *hcl.Block, diags *hcl.Diagnostics) ACLConfig {
	var f fileACL
	*diags = append(*diags, gohcl.DecodeBody(b.Body, nil, &f)...)
	var dp durationParser
	c := ACLConfig{Enabled: f.Enabled, TokenTTL: dp.parse(f.TokenTTL),
		PolicyTTL: dp.parse(f.PolicyTTL), RoleTTL: dp.parse(f.RoleTTL)}
	*diags = append(*diags, dp.diags...)
	return c
}

// fileTelemetry is the `telemetry` block as written; the settings Roam
// does not act on (statsd_address, publish_*_metrics, ...) stay in Extra.
type fileTelemetry struct {
	CollectionInterval hcl.Expression `hcl:"collection_interval,optional"`
	PrometheusMetrics  bool           `hcl:"prometheus_metrics,optional"`
	DisableHostname    bool           `hcl:"disable_hostname,optional"`
	Rest               hcl.Body       `hcl:",remain"`
}

// decodeTelemetry reads a telemetry block's typed settings.
func decodeTelemetry(b *hcl.Block, diags *hcl.Diagnostics) telemetry.Config {
	var f fileTelemetry
	*diags = append(*diags, gohcl.DecodeBody(b.Body, nil, &f)...)
	var dp durationParser
	c := telemetry.Config{CollectionInterval: dp.parse(f.CollectionInterval),
		PrometheusMetrics: f.PrometheusMetrics, DisableHostname: f.DisableHostname}
	*diags = append(*diags, dp.diags...)
	return c
}

// mergeTelemetry lays o's set values over c.
func mergeTelemetry(c, o telemetry.Config) telemetry.Config {
	c.PrometheusMetrics = c.PrometheusMetrics || o.PrometheusMetrics
	c.DisableHostname = c.DisableHostname || o.DisableHostname
	if o.CollectionInterval != 0 {
		c.CollectionInterval = o.CollectionInterval
	}
	return c
}

// merge lays o's set values over c.
func (c ACLConfig) merge(o ACLConfig) ACLConfig {
	c.Enabled = c.Enabled || o.Enabled
	for _, p := range []struct{ dst, src *time.Duration }{{&c.TokenTTL, &o.TokenTTL}, {&c.PolicyTTL, &o.PolicyTTL}, {&c.RoleTTL, &o.RoleTTL}} {
		if *p.src != 0 {
			*p.dst = *p.src
		}
	}
	return c
}

// pluginConfigs converts plugin blocks; a plugin named twice is an error.
func pluginConfigs(blocks []filePlugin) (map[string]*PluginConfig, hcl.Diagnostics) {
	if len(blocks) == 0 {
		return nil, nil
	}
	var diags hcl.Diagnostics
	out := make(map[string]*PluginConfig, len(blocks))
	for _, b := range blocks {
		p := &PluginConfig{Name: b.Name, Args: b.Args}
		if b.Config != nil {
			var d hcl.Diagnostics
			p.Config, d = genericBody(b.Config.Body)
			diags = append(diags, d...)
		}
		if _, dup := out[b.Name]; dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate plugin block",
				Detail:   fmt.Sprintf("Plugin %q is configured more than once in this file.", b.Name),
				Subject:  b.Body.MissingItemRange().Ptr(),
			})
		}
		out[b.Name] = p
	}
	return out, diags
}
