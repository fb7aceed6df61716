package command

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

// defaultAddress is the agent address used when no flag or environment
// variable names one.
const defaultAddress = "http://127.0.0.1:4646"

// cli carries what every command needs: where to write, how to read the
// environment and the clock, and the connection flags shared by all verbs.
type cli struct {
	out    io.Writer
	errOut io.Writer
	in     io.Reader
	getenv func(string) string
	now    func() time.Time
	// pause waits between polls of a server that does not block; tests
	// replace it so that they never sleep.
	pause func(time.Duration)

	conn connFlags
}

// connFlags are the general options every command that talks to an agent
// accepts.
type connFlags struct {
	address, region, namespace, token  string
	caCert, caPath, clientCert         string
	clientKey, tlsServerName           string
	tlsSkipVerify, noColor, forceColor bool
}

// newCLI returns a cli wired to the process's standard streams.
func newCLI() *cli {
	return &cli{
		out:    os.Stdout,
		errOut: os.Stderr,
		in:     os.Stdin,
		getenv: os.Getenv,
		now:    time.Now,
		pause:  time.Sleep,
	}
}

// outf prints a formatted line to standard output.
func (c *cli) outf(format string, args ...any) {
	fmt.Fprintf(c.out, format+"\n", args...)
}

// errorf prints a formatted line to standard error.
func (c *cli) errorf(format string, args ...any) {
	fmt.Fprintf(c.errOut, format+"\n", args...)
}

// flagSet returns a flag set for verb v with the general connection flags
// already registered.
func (c *cli) flagSet(v *verb) *flag.FlagSet {
	fs := c.localFlagSet(v)
	fs.StringVar(&c.conn.address, "address", "", "")
	fs.StringVar(&c.conn.region, "region", "", "")
	fs.StringVar(&c.conn.namespace, "namespace", "", "")
	fs.StringVar(&c.conn.token, "token", "", "")
	fs.StringVar(&c.conn.caCert, "ca-cert", "", "")
	fs.StringVar(&c.conn.caPath, "ca-path", "", "")
	fs.StringVar(&c.conn.clientCert, "client-cert", "", "")
	fs.StringVar(&c.conn.clientKey, "client-key", "", "")
	fs.StringVar(&c.conn.tlsServerName, "tls-server-name", "", "")
	fs.BoolVar(&c.conn.tlsSkipVerify, "tls-skip-verify", false, "")
	fs.BoolVar(&c.conn.noColor, "no-color", false, "")
	fs.BoolVar(&c.conn.forceColor, "force-color", false, "")
	return fs
}

// localFlagSet returns a flag set for a verb that needs no agent.
func (c *cli) localFlagSet(v *verb) *flag.FlagSet {
	fs := flag.NewFlagSet(v.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses args into fs. It returns ok=false with the exit code when the
// command must stop: 0 after printing help for -h, 1 after a bad flag.
func (c *cli) parse(v *verb, fs *flag.FlagSet, args []string) (code int, ok bool) {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintln(c.out, trimHelp(v.help))
		return 0, false
	default:
		c.errorf("%v", err)
		fmt.Fprintln(c.errOut, trimHelp(v.help))
		return 1, false
	}
}

// usageError reports a wrong number of arguments the way Nomad does and
// returns exit code 1.
func (c *cli) usageError(v *verb, msg string) int {
	c.errorf("%s", msg)
	c.errorf("For additional help try 'roam %s -help'", v.name)
	return 1
}

// firstEnv returns the value of the first of names that is set.
func (c *cli) firstEnv(names ...string) string {
	for _, n := range names {
		if v := c.getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// address returns the agent address: the -address flag, else ROAM_ADDR, else
// NOMAD_ADDR, else the default.
func (c *cli) address() string {
	if c.conn.address != "" {
		return c.conn.address
	}
	if a := c.firstEnv("ROAM_ADDR", "NOMAD_ADDR"); a != "" {
		return a
	}
	return defaultAddress
}

// namespace returns the namespace from the flag or the environment.
func (c *cli) namespace() string {
	if c.conn.namespace != "" {
		return c.conn.namespace
	}
	return c.firstEnv("ROAM_NAMESPACE", "NOMAD_NAMESPACE")
}

// client builds an API client from the connection flags and environment.
func (c *cli) client() (*api.Client, error) {
	cfg := api.DefaultConfig()
	cfg.Address = c.address()
	cfg.Namespace = c.namespace()
	cfg.Region = c.conn.region
	if cfg.Region == "" {
		cfg.Region = c.firstEnv("ROAM_REGION", "NOMAD_REGION")
	}
	cfg.SecretID = c.conn.token
	if cfg.SecretID == "" {
		cfg.SecretID = c.firstEnv("ROAM_TOKEN", "NOMAD_TOKEN")
	}
	c.applyTLS(cfg.TLSConfig)
	client, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("initialize client: %w", err)
	}
	return client, nil
}

// applyTLS sets the TLS options: a flag wins over ROAM_*, which wins over
// NOMAD_* (NOMAD_CACERT, NOMAD_CAPATH, NOMAD_CLIENT_CERT, NOMAD_CLIENT_KEY,
// NOMAD_TLS_SERVER_NAME, NOMAD_SKIP_VERIFY).
func (c *cli) applyTLS(t *api.TLSConfig) {
	set := func(dst *string, flag, env string) {
		if flag != "" {
			*dst = flag
		} else if v := c.firstEnv("ROAM_"+env, "NOMAD_"+env); v != "" {
			*dst = v
		}
	}
	set(&t.CACert, c.conn.caCert, "CACERT")
	set(&t.CAPath, c.conn.caPath, "CAPATH")
	set(&t.ClientCert, c.conn.clientCert, "CLIENT_CERT")
	set(&t.ClientKey, c.conn.clientKey, "CLIENT_KEY")
	set(&t.TLSServerName, c.conn.tlsServerName, "TLS_SERVER_NAME")
	if c.conn.tlsSkipVerify {
		t.Insecure = true
	} else if v := c.firstEnv("ROAM_SKIP_VERIFY", "NOMAD_SKIP_VERIFY"); v != "" {
		t.Insecure, _ = strconv.ParseBool(v)
	}
}

// clientOrFail builds the API client, printing Nomad's message on failure.
func (c *cli) clientOrFail() (*api.Client, bool) {
	client, err := c.client()
	if err != nil {
		c.errorf("Error initializing client: %v", err)
		return nil, false
	}
	return client, true
}

// stringList is a repeatable string flag such as -var.
type stringList []string

// String implements flag.Value.
func (s *stringList) String() string { return strings.Join(*s, ",") }

// Set implements flag.Value.
func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// trimHelp strips the blank lines around a verb's help text.
func trimHelp(help string) string { return strings.TrimSpace(help) }

// detachVerboseHelp documents -detach and -verbose in the words of most
// verbs that monitor an evaluation.
const detachVerboseHelp = `
  -detach
    Return immediately instead of entering monitor mode.

  -verbose
    Display full information.
`

// generalOptionsHelp documents the connection flags every agent-facing verb
// accepts.
const generalOptionsHelp = `
  -address=<addr>
    The address of the Roam server. Overrides the ROAM_ADDR and NOMAD_ADDR
    environment variables if set. Default = ` + defaultAddress + `

  -region=<region>
    The region of the Roam servers to forward commands to. Overrides the
    NOMAD_REGION environment variable if set. Defaults to the agent's local
    region.

  -namespace=<namespace>
    The target namespace for queries and actions bound to a namespace.
    Overrides the ROAM_NAMESPACE and NOMAD_NAMESPACE environment variables if
    set. Defaults to the "default" namespace.

  -token=<token>
    The SecretID of an ACL token to use to authenticate API requests with.
    Overrides the ROAM_TOKEN and NOMAD_TOKEN environment variables if set.

  -ca-cert=<path>, -ca-path=<path>, -client-cert=<path>, -client-key=<path>,
  -tls-server-name=<name>, -tls-skip-verify
    TLS settings. Override ROAM_CACERT, ROAM_CAPATH, ROAM_CLIENT_CERT,
    ROAM_CLIENT_KEY, ROAM_TLS_SERVER_NAME and ROAM_SKIP_VERIFY, which
    override their NOMAD_* equivalents.

  -no-color, -force-color
    Accepted for compatibility; Roam's output is not colored.`
