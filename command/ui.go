package command

import (
	"fmt"
	"net/url"
	"os/exec"
	"runtime"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// uiVerb opens the web UI, optionally on one object's page.
var uiVerb = &verb{
	name:     "ui",
	synopsis: "Open the Roam Web UI",
	help: `
Usage: roam ui [options] <identifier>

  Open the Roam Web UI in the default browser. An optional identifier may be
  provided, in which case the UI will be opened to view the details for that
  object. Supported identifiers are jobs, allocations and nodes.

General Options:
` + generalOptionsHelp + `

UI Options:

  -authenticate
    Sign the web UI in with the current token: the URL carries a one-time
    token (valid 10 minutes, usable once) that the UI exchanges for it.

  -show-url
    Show the URL in the terminal instead of opening a browser.
`,
	run: (*cli).ui,
}

// ui implements `ui`.
func (c *cli) ui(v *verb, args []string) int {
	fs := c.flagSet(v)
	showURL := fs.Bool("show-url", false, "")
	authenticate := fs.Bool("authenticate", false, "")
	client, code, ok := c.connect(v, fs, args, takesOneOrNoArgs)
	if !ok {
		return code
	}
	base, err := url.Parse(c.address())
	if err != nil {
		c.errorf("Error parsing address %q: %s", c.address(), err)
		return 1
	}
	base.Path = "/ui/"
	if fs.NArg() == 1 {
		path, err := c.uiPath(client, fs.Arg(0))
		if err != nil {
			c.errorf("%s", err)
			return 1
		}
		base.Path += path
	}
	if *authenticate {
		ott, _, err := client.ACLTokens().UpsertOneTimeToken(nil)
		if err != nil {
			c.errorf("Error creating a one-time token: %s", err)
			return 1
		}
		base.RawQuery = url.Values{"ott": {ott.OneTimeSecretID}}.Encode()
	}
	if *showURL {
		c.outf("URL for web UI: %s", base)
		return 0
	}
	c.outf("Opening URL %q", base.String())
	if err := openBrowser(base.String()); err != nil {
		c.errorf("Error opening URL: %s", err)
		return 1
	}
	return 0
}

// uiPath returns the UI page of the job, allocation or node that id names.
func (c *cli) uiPath(client *api.Client, id string) (string, error) {
	kinds, err := matchingKinds(client, id)
	if err != nil {
		return "", fmt.Errorf("Error querying identifier: %s", err)
	}
	if len(kinds) != 1 {
		return "", fmt.Errorf("Identifier %q matches %d objects: use a longer prefix", id, len(kinds))
	}
	switch kinds[0] {
	case jobStatusVerb:
		jobID, ns, err := resolveJob(client, id)
		if err != nil {
			return "", err
		}
		if ns == "" {
			ns = "default"
		}
		return "jobs/" + url.PathEscape(jobID) + "@" + ns, nil
	case allocStatusVerb:
		alloc, err := resolveAlloc(client, id, c.now())
		if err != nil {
			return "", err
		}
		return "allocations/" + alloc.ID, nil
	case nodeStatusVerb:
		node, err := resolveNode(client, id, false)
		if err != nil {
			return "", err
		}
		return "clients/" + node.ID, nil
	}
	return "", fmt.Errorf("The UI has no page for %s %q", strings.TrimSuffix(kinds[0].name, " status"), id)
}

// openBrowser asks the desktop to open u.
func openBrowser(u string) error {
	name := "xdg-open"
	if runtime.GOOS == "darwin" {
		name = "open"
	}
	return exec.Command(name, u).Start()
}
