package agent

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// ParseFlags reads the flags of `roam agent`, loads the -config files and
// directories, and returns the merged configuration: the defaults (or
// DevConfig with -dev), then each -config in order, then the other flags.
// The result is validated; NormalizeAddrs is left to the caller. Flag
// errors are printed to stderr the way the flag package prints them, and
// -h returns flag.ErrHelp after printing the usage.
func ParseFlags(args []string, stderr io.Writer) (*Config, error) {
	fs, f := newAgentFlagSet(stderr)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("roam agent takes no arguments, got %q", fs.Args())
	}
	if f.pluginDir != "" {
		fmt.Fprintln(stderr, "==> WARNING: -plugin-dir is ignored: Roam's task drivers are built in")
	}
	if err := f.config.applyListFlags(f.servers, f.retryJoin, f.meta); err != nil {
		return nil, err
	}
	base := DefaultConfig()
	if f.dev {
		base = DevConfig()
	}
	for _, path := range f.configs {
		fileConfig, err := LoadConfigFile(path)
		if err != nil {
			return nil, err
		}
		base = base.Merge(fileConfig)
	}
	merged := base.Merge(f.config)
	if err := merged.Validate(); err != nil {
		return nil, fmt.Errorf("invalid agent configuration:\n%w", err)
	}
	return merged, nil
}

// agentFlags receives the flags of `roam agent`: the settings go straight
// into config (unset flags stay empty, so Merge ignores them), the rest
// into the other fields.
type agentFlags struct {
	config    *Config
	dev       bool
	configs   listFlag
	pluginDir string
	servers   string
	retryJoin listFlag
	meta      listFlag
}

// newAgentFlagSet defines the flags of `roam agent`.
func newAgentFlagSet(stderr io.Writer) (*flag.FlagSet, *agentFlags) {
	f := &agentFlags{config: &Config{}}
	c := f.config
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&f.dev, "dev", false, "run a server and client in one process, in memory, for development")
	fs.Var(&f.configs, "config", "a configuration `file or directory` to load (repeatable)")
	fs.StringVar(&c.BindAddr, "bind", "", "the `address` to bind the agent's services to")
	fs.StringVar(&c.DataDir, "data-dir", "", "the `directory` for the agent's state")
	fs.StringVar(&c.Datacenter, "dc", "", "the `datacenter` of the agent")
	fs.StringVar(&c.Region, "region", "", "the `region` of the agent")
	fs.StringVar(&c.Name, "node", "", "the `name` of the node")
	fs.StringVar(&c.LogLevel, "log-level", "", "the log `level`: TRACE, DEBUG, INFO, WARN or ERROR")
	fs.BoolVar(&c.LogJSON, "log-json", false, "write logs as JSON")
	fs.StringVar(&f.pluginDir, "plugin-dir", "", "ignored: Roam's task drivers are built in")
	fs.BoolVar(&c.Server.Enabled, "server", false, "run the agent in server mode")
	fs.IntVar(&c.Server.BootstrapExpect, "bootstrap-expect", 0, "the `number` of servers to wait for before bootstrapping")
	fs.StringVar(&c.Server.EncryptKey, "encrypt", "", "the gossip encryption `key`")
	fs.Var(&f.retryJoin, "retry-join", "a server `address` to join, retried on failure (repeatable)")
	fs.BoolVar(&c.Client.Enabled, "client", false, "run the agent in client mode")
	fs.StringVar(&f.servers, "servers", "", "comma-separated server `addresses` for the client")
	fs.StringVar(&c.Client.NetworkInterface, "network-interface", "", "the network `interface` to fingerprint")
	fs.StringVar(&c.Client.NodeClass, "node-class", "", "the `class` of the client node")
	fs.StringVar(&c.Client.NodePool, "node-pool", "", "the node `pool` of the client node")
	fs.StringVar(&c.Client.StateDir, "state-dir", "", "the `directory` for the client's state")
	fs.StringVar(&c.Client.AllocDir, "alloc-dir", "", "the `directory` for allocation data")
	fs.Var(&f.meta, "meta", "a `key=value` pair of client metadata (repeatable)")
	return fs, f
}

// applyListFlags stores -servers, -retry-join and -meta in c.
func (c *Config) applyListFlags(servers string, retryJoin, meta []string) error {
	for _, s := range strings.Split(servers, ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.Client.Servers = append(c.Client.Servers, s)
		}
	}
	if len(retryJoin) > 0 {
		c.Server.ServerJoin = &ServerJoin{RetryJoin: retryJoin}
	}
	for _, kv := range meta {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("-meta %q: want key=value", kv)
		}
		if c.Client.Meta == nil {
			c.Client.Meta = make(map[string]string)
		}
		c.Client.Meta[k] = v
	}
	return nil
}

// listFlag is a flag that may be given many times.
type listFlag []string

// String joins the values given so far.
func (l *listFlag) String() string { return strings.Join(*l, ",") }

// Set adds one value.
func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}
