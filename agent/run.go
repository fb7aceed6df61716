package agent

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/roam-project/roam/internal/version"
)

// Run is the `roam agent` command: it reads flags and configuration files,
// starts the agent and runs until SIGINT or SIGTERM, returning the exit code.
func Run(args []string) int {
	return run(args, os.Stdout, os.Stderr)
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := ParseFlags(args, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "==> Error loading configuration: %v\n", err)
		return 1
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "==> Invalid configuration: %v\n", err)
		return 1
	}
	if err := cfg.NormalizeAddrs(); err != nil {
		fmt.Fprintf(stderr, "==> Invalid addresses: %v\n", err)
		return 1
	}
	logger := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: logLevel(cfg.LogLevel)}))
	for _, f := range cfg.Files {
		fmt.Fprintf(stdout, "==> Loaded configuration from %s\n", f)
	}
	fmt.Fprintln(stdout, "==> Starting Roam agent...")
	a, err := New(cfg, logger)
	if err != nil {
		fmt.Fprintf(stderr, "==> Error starting agent: %v\n", err)
		return 1
	}
	printBanner(stdout, a)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	sig := <-sigs
	for sig == syscall.SIGHUP {
		if err := a.ReloadTLS(); err != nil {
			logger.Error("reload TLS certificates; the old ones stay in use", "error", err)
		} else if cfg.TLS.Enabled() {
			logger.Info("reloaded TLS certificates")
		}
		sig = <-sigs
	}
	fmt.Fprintf(stdout, "==> Caught signal: %v\n", sig)
	fmt.Fprintln(stdout, "==> Gracefully shutting down agent...")
	a.Shutdown()
	return 0
}

func printBanner(w io.Writer, a *Agent) {
	cfg := a.config
	nodeID := ""
	if a.client != nil {
		nodeID = a.client.Node().ID
	}
	fmt.Fprintln(w, "==> Roam agent configuration:")
	fmt.Fprintln(w)
	rows := [][2]string{
		{"Advertise Addrs", fmt.Sprintf("HTTP: %s:%d; RPC: %s:%d; Serf: %s:%d", cfg.Advertise.HTTP, cfg.Ports.HTTP, cfg.Advertise.RPC, cfg.Ports.RPC, cfg.Advertise.Serf, cfg.Ports.Serf)},
		{"Bind Addrs", fmt.Sprintf("HTTP: [%s]; RPC: %s:%d; Serf: %s:%d", a.HTTPAddr(), cfg.Addresses.RPC, cfg.Ports.RPC, cfg.Addresses.Serf, cfg.Ports.Serf)},
		{"Client", fmt.Sprint(cfg.Client.Enabled)},
		{"Log Level", cfg.LogLevel},
		{"Node Id", nodeID},
		{"Region", fmt.Sprintf("%s (DC: %s)", cfg.Region, cfg.Datacenter)},
		{"Server", fmt.Sprint(cfg.Server.Enabled)},
		{"Version", version.Number + " (Nomad API " + version.NomadCompatible + ")"},
	}
	for _, r := range rows {
		fmt.Fprintf(w, "%22s: %s\n", r[0], r[1])
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "==> Roam agent started! Log data will stream in below:")
	fmt.Fprintln(w)
}

func logLevel(s string) slog.Level {
	switch strings.ToUpper(s) {
	case "TRACE", "DEBUG":
		return slog.LevelDebug
	case "WARN":
		return slog.LevelWarn
	case "ERROR":
		return slog.LevelError
	}
	return slog.LevelInfo
}
