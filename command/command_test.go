package command

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDispatch(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{name: "no arguments prints usage", args: nil, wantCode: 1, wantErr: "Usage: roam [-version]"},
		{name: "unknown verb prints usage", args: []string{"frobnicate"}, wantCode: 1,
			wantErr: "Unknown command: \"frobnicate\""},
		{name: "unknown subcommand of a group", args: []string{"job", "frobnicate"}, wantCode: 1,
			wantErr: "Subcommands:\n    allocs"},
		{name: "group alone lists subcommands", args: []string{"node"}, wantCode: 1, wantErr: "    status"},
		{name: "group help exits 0", args: []string{"alloc", "-h"}, wantCode: 0, wantOut: "Usage: roam alloc <subcommand>"},
		{name: "top-level help", args: []string{"--help"}, wantCode: 0, wantOut: "Common commands:"},
		{name: "version flag", args: []string{"-version"}, wantCode: 0, wantOut: "Roam v0.1.0 (Nomad API compatible)\nRevision "},
		{name: "version verb", args: []string{"version"}, wantCode: 0, wantOut: "Roam v0.1.0"},
		{name: "verb help exits 0", args: []string{"job", "run", "-h"}, wantCode: 0, wantOut: "Usage: roam job run [options] <path>"},
		{name: "help flag after arguments", args: []string{"job", "status", "example", "-h"}, wantCode: 0,
			wantOut: "Usage: roam job status [options] <job>"},
		{name: "alias resolves", args: []string{"logs", "-help"}, wantCode: 0, wantOut: "Usage: roam alloc logs"},
		{name: "unknown flag", args: []string{"job", "status", "-bogus"}, wantCode: 1,
			wantErr: "flag provided but not defined: -bogus"},
		{name: "wrong argument count", args: []string{"alloc", "status"}, wantCode: 1,
			wantErr: "For additional help try 'roam alloc status -help'"},
		{name: "plan errors exit 255", args: []string{"job", "plan"}, wantCode: 255, wantErr: "This command takes one argument"},
		{name: "plan of a missing file exits 255", args: []string{"job", "plan", "/nonexistent.nomad.hcl"}, wantCode: 255,
			wantErr: "Error parsing job file"},
		{name: "scale needs a number", args: []string{"job", "scale", "example", "many"}, wantCode: 1,
			wantErr: "Failed to convert count \"many\" to a number"},
		{name: "unreachable agent", args: []string{"node", "status", "-address=http://127.0.0.1:1"}, wantCode: 1,
			wantErr: "Error querying node status"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, out, errOut := testCLI(nil)
			if code := c.run(tc.args); code != tc.wantCode {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.wantCode, errOut.String())
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Errorf("stdout %q does not contain %q", out.String(), tc.wantOut)
			}
			if !strings.Contains(errOut.String(), tc.wantErr) {
				t.Errorf("stderr %q does not contain %q", errOut.String(), tc.wantErr)
			}
		})
	}
}

func TestAddressAndNamespace(t *testing.T) {
	cases := []struct {
		name          string
		env           map[string]string
		args          []string
		wantAddress   string
		wantNamespace string
	}{
		{name: "default", wantAddress: "http://127.0.0.1:4646"},
		{name: "NOMAD_ADDR", env: map[string]string{"NOMAD_ADDR": "http://n:1"}, wantAddress: "http://n:1"},
		{name: "ROAM_ADDR wins over NOMAD_ADDR",
			env:         map[string]string{"NOMAD_ADDR": "http://n:1", "ROAM_ADDR": "http://r:2"},
			wantAddress: "http://r:2"},
		{name: "flag wins over environment",
			env:  map[string]string{"ROAM_ADDR": "http://r:2", "NOMAD_NAMESPACE": "env"},
			args: []string{"-address=http://f:3", "-namespace=flag"}, wantAddress: "http://f:3", wantNamespace: "flag"},
		{name: "namespace from environment",
			env:         map[string]string{"NOMAD_NAMESPACE": "nomad", "ROAM_NAMESPACE": "roam"},
			wantAddress: "http://127.0.0.1:4646", wantNamespace: "roam"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _, _ := testCLI(tc.env)
			fs := c.flagSet(statusVerb)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if got := c.address(); got != tc.wantAddress {
				t.Errorf("address %q, want %q", got, tc.wantAddress)
			}
			if got := c.namespace(); got != tc.wantNamespace {
				t.Errorf("namespace %q, want %q", got, tc.wantNamespace)
			}
			client, err := c.client()
			if err != nil {
				t.Fatal(err)
			}
			if got := client.Address(); got != tc.wantAddress {
				t.Errorf("client address %q, want %q", got, tc.wantAddress)
			}
		})
	}
}

func TestCompletions(t *testing.T) {
	cases := []struct {
		name string
		line string
		want []string
	}{
		{"top level prefix", "roam jo", []string{"job"}},
		{"subcommands", "roam job s", []string{"scale", "start", "status", "stop"}},
		{"flags of a verb", "roam job run -d", []string{"-detach"}},
		{"flags of an alias", "roam logs -st", []string{"-stderr", "-stdout"}},
		{"nothing after unknown", "roam frob x", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := completions(tc.line)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("completions(%q) = %v, want %v", tc.line, got, tc.want)
			}
		})
	}
}

func TestAutocompleteInstall(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	rc := filepath.Join(home, ".bashrc")
	if err := os.WriteFile(rc, []byte("# bashrc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name     string
		run      func(c *cli) int
		wantCode int
		wantLine bool
	}{
		{"install adds the complete line", (*cli).autocompleteInstall, 0, true},
		{"second install fails", (*cli).autocompleteInstall, 1, true},
		{"uninstall removes it", (*cli).autocompleteUninstall, 0, false},
		{"second uninstall fails", (*cli).autocompleteUninstall, 1, false},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			c, _, _ := testCLI(nil)
			if code := step.run(c); code != step.wantCode {
				t.Errorf("exit code %d, want %d", code, step.wantCode)
			}
			data, err := os.ReadFile(rc)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(string(data), "complete -C "); got != step.wantLine {
				t.Errorf(".bashrc has the complete line: %v, want %v:\n%s", got, step.wantLine, data)
			}
		})
	}
}
