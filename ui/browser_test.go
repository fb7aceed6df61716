//go:build browser && linux

// Browser tests: the UI in headless Chromium against a real dev agent.
// Run with `go test -tags browser ./ui/`; they need Debian's chromium.
package ui_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/hashicorp/nomad/api"
)

const logMarker = "roam-ui-log-marker"

// browser is one headless Chromium tab pointed at the agent.
type browser struct {
	ctx        context.Context
	base       string
	shots      string
	mu         sync.Mutex
	exceptions []string
}

func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ROAM_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium found: install Debian's chromium (apt-get install -y chromium) or set ROAM_CHROMIUM")
	return ""
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(findChromium(t)), chromedp.NoSandbox, chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	shots := os.Getenv("ROAM_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join("testdata", "screenshots")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	b := &browser{ctx: ctx, base: base, shots: shots}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.IsException() {
				b.mu.Lock()
				b.exceptions = append(b.exceptions, fmt.Sprintf("%s (%s:%d)", m.Text, m.URL, m.Line))
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, e := range b.exceptions {
			t.Errorf("uncaught exception in the page: %s", e)
		}
	})
	return b
}

// open loads a UI path as a fresh page load and waits until the app has
// started (its script replaced the page's "Loading…" placeholder).
// Chromium aborts a load, or only the page's module scripts, with
// ERR_NETWORK_CHANGED when the host's network interfaces change (as when
// containers or allocation bridges come up on a shared machine); such a
// load is tried again.
func (b *browser) open(t *testing.T, path string) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		err := chromedp.Do(b.ctx, chromedp.Navigate(b.base+path))
		if err == nil {
			err = b.appStarted()
			if err == nil {
				return
			}
		} else if !strings.Contains(err.Error(), "ERR_NETWORK_CHANGED") {
			t.Fatalf("open %s: %v", path, err)
		}
		if attempt == 5 {
			t.Fatalf("open %s: %v", path, err)
		}
		t.Logf("open %s: %v; trying again", path, err)
	}
}

// appStarted waits until the UI's script has rendered a view in place of
// index.html's placeholder.
func (b *browser) appStarted() error {
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](`!document.querySelector('main > p.loading')`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(0)))
	if err != nil {
		return fmt.Errorf("the UI's script did not start: %w", err)
	}
	return nil
}

// waitFor polls a JavaScript predicate until it is truthy.
func (b *browser) waitFor(t *testing.T, what, predicate string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](predicate, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(0))); err != nil {
		t.Fatalf("waiting until %s: %v\npage text:\n%s", what, err, b.text())
	}
}

// eval runs JavaScript in the page and returns its value.
func eval[T any](t *testing.T, b *browser, js string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %q: %v", js, err)
	}
	return v
}

func (b *browser) text() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('main')?.innerText || ''`))
	return tail(s, 3000)
}

// screenshot saves the whole page as name.png in the screenshots folder.
func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), buf, 0o644); err != nil {
		t.Fatalf("save screenshot %s: %v", name, err)
	}
}

// mainHas is a predicate: main's text contains every string.
func mainHas(parts ...string) string {
	var conds []string
	for _, p := range parts {
		conds = append(conds, fmt.Sprintf("t.includes(%q)", p))
	}
	return fmt.Sprintf(`(() => { const t = document.querySelector('main')?.innerText || ''; return %s; })()`, strings.Join(conds, " && "))
}

func TestBrowser(t *testing.T) {
	agent := startDevAgent(t)
	c := agent.client
	// Two versions of ui-web, so the versions tab has a diff to show.
	for _, count := range []int{1, 2} {
		if _, _, err := c.Jobs().Register(loopJob("ui-web", count, logMarker), nil); err != nil {
			t.Fatalf("register ui-web: %v", err)
		}
	}
	allocs := runningAllocs(t, c, "ui-web", 2)
	nodes, _, err := c.Nodes().List(nil)
	if err != nil || len(nodes) == 0 {
		t.Fatalf("list nodes: %v (%d nodes)", err, len(nodes))
	}
	node := nodes[0]
	b := newBrowser(t, agent.url)

	pages := []struct {
		name, path, what, predicate string
	}{
		{"jobs list", "/ui/jobs", "the jobs list shows ui-web running",
			`[...document.querySelectorAll('main tbody tr')].some(r => r.innerText.includes('ui-web') && r.innerText.includes('running') && r.innerText.includes('service'))`},
		{"job page", "/ui/jobs/ui-web", "the job page shows its group and allocations",
			`document.querySelectorAll('main a[href^="/ui/allocations/"]').length >= 2 && ` + mainHas("Task groups", "app", "loop (raw_exec)")},
		{"job evaluations", "/ui/jobs/ui-web?tab=evaluations", "the evaluations tab lists evaluations",
			`[...document.querySelectorAll('main tbody tr')].some(r => r.innerText.includes('complete'))`},
		{"job versions", "/ui/jobs/ui-web?tab=versions", "the versions tab diffs version 0 and 1",
			`document.querySelector('.diff')?.innerText.includes('Count')`},
		{"job definition", "/ui/jobs/ui-web?tab=definition", "the definition tab shows the job",
			`document.querySelector('pre.code')?.innerText.includes('ui-web')`},
		{"alloc page", "/ui/allocations/" + allocs[0].ID, "the allocation page shows the task and its events",
			mainHas("Task loop", "running", "Started", "Resource use")},
		{"alloc logs", "/ui/allocations/" + allocs[0].ID + "?tab=logs", "the log follows the task's stdout",
			`(document.querySelector('pre.log')?.textContent.split('` + logMarker + `').length || 0) > 2`},
		{"alloc files", "/ui/allocations/" + allocs[0].ID + "?tab=files", "the files tab lists the alloc dir",
			mainHas("alloc dir: /", "loop/")},
		{"clients", "/ui/clients", "the clients list shows the dev node",
			`[...document.querySelectorAll('main tbody tr')].some(r => r.innerText.includes(` + fmt.Sprintf("%q", node.Name) + `) && r.innerText.includes('ready') && r.innerText.includes('2 running'))`},
		{"client page", "/ui/clients/" + node.ID, "the client page shows drivers and allocations",
			mainHas("raw_exec", "Attributes", "ui-web") + ` && document.querySelectorAll('main a[href^="/ui/allocations/"]').length >= 2`},
		{"servers", "/ui/servers", "the servers page shows a member and the leader",
			`[...document.querySelectorAll('main tbody tr')].some(r => r.innerText.includes('alive')) && !` + mainHas("no leader elected")},
		{"topology", "/ui/topology", "the topology shows both allocations inside the client",
			`document.querySelectorAll('.topo-node .topo-alloc').length >= 4 && ` + mainHas("Memory reserved", "ui-web")},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			b.open(t, p.path)
			b.waitFor(t, p.what, p.predicate)
			b.screenshot(t, strings.ReplaceAll(p.name, " ", "-"))
		})
	}
	b.open(t, "/ui/jobs")
	b.waitFor(t, "the jobs list loads", `performance.getEntriesByName('roam:jobs-listed').length > 0`)
	t.Logf("jobs list showed the agent's data %.0f ms after navigation started",
		eval[float64](t, b, `performance.getEntriesByName('roam:jobs-listed')[0].startTime`))

	t.Run("a click in the topology opens the allocation", func(t *testing.T) {
		b.open(t, "/ui/topology")
		b.waitFor(t, "the topology shows allocations", `!!document.querySelector('.topo-alloc')`)
		if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(".topo-row:last-child .topo-alloc"))); err != nil {
			t.Fatalf("click an allocation: %v", err)
		}
		b.waitFor(t, "the allocation page opens", `location.pathname.startsWith('/ui/allocations/') && `+mainHas("Task loop"))
	})
	t.Run("logs follow the task live", func(t *testing.T) {
		b.open(t, "/ui/allocations/"+allocs[0].ID+"?tab=logs")
		count := `(document.querySelector('pre.log')?.textContent.split('` + logMarker + `').length || 1) - 1`
		b.waitFor(t, "the log shows the task's output", count+` > 0`)
		seen := eval[int](t, b, count)
		b.waitFor(t, "new lines arrive without a reload", fmt.Sprintf(`%s >= %d`, count, seen+2))
	})
	t.Run("jobs list on a phone", func(t *testing.T) {
		if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
			t.Fatal(err)
		}
		defer chromedp.Do(b.ctx, chromedp.EmulateViewport(1280, 900))
		b.open(t, "/ui/jobs")
		b.waitFor(t, "the jobs list renders", mainHas("ui-web"))
		if w := eval[int](t, b, `document.documentElement.scrollWidth`); w > 400 {
			t.Errorf("page is %dpx wide on a 390px phone: it scrolls sideways", w)
		}
		b.screenshot(t, "jobs-list-phone")
	})

	t.Run("scale a group from the UI", func(t *testing.T) { scaleFromUI(t, b, c) })
	t.Run("toggle eligibility from the UI", func(t *testing.T) { eligibilityFromUI(t, b, c, node.ID) })
	t.Run("restart an allocation from the UI", func(t *testing.T) { restartAllocFromUI(t, b, allocs[0].ID) })
	t.Run("stop, start and purge a job from the UI", func(t *testing.T) { jobActionsFromUI(t, b, c) })
	t.Run("choose a namespace on the jobs page", func(t *testing.T) { namespacesFromUI(t, b, c) })
	t.Run("run a job from the UI", func(t *testing.T) { runFromUI(t, b, c) })
	t.Run("stop through the API updates an open page", func(t *testing.T) { liveStop(t, b, c) })
	t.Run("reconnects after the agent restarts", func(t *testing.T) { reconnect(t, b, agent) })
}

const uiJobHCL = `job "ui-from-browser" {
  datacenters = ["dc1"]
  group "app" {
    task "loop" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "while true; do echo planned; sleep 1; done"]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

func runFromUI(t *testing.T, b *browser, c *api.Client) {
	b.open(t, "/ui/jobs/run")
	b.waitFor(t, "the editor is ready", `!!document.querySelector('#jobspec')`)
	eval[chromedp.Void](t, b, fmt.Sprintf(`(() => { const e = document.querySelector('#jobspec'); e.value = %q; e.dispatchEvent(new Event('input')); })()`, uiJobHCL))
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS("#plan"))); err != nil {
		t.Fatalf("click Plan: %v", err)
	}
	b.waitFor(t, "the plan shows the diff and placements",
		`!document.querySelector('#run').disabled && `+mainHas(`Job: "ui-from-browser"`, "Placement preview", "Place"))
	b.screenshot(t, "run-job-plan")
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS("#run"))); err != nil {
		t.Fatalf("click Run: %v", err)
	}
	b.waitFor(t, "the job page opens with an allocation",
		`location.pathname === '/ui/jobs/ui-from-browser' && document.querySelectorAll('main a[href^="/ui/allocations/"]').length >= 1`)
	runningAllocs(t, c, "ui-from-browser", 1)
	b.screenshot(t, "run-job-placed")
}

func liveStop(t *testing.T, b *browser, c *api.Client) {
	b.open(t, "/ui/jobs/ui-web")
	b.waitFor(t, "the job page shows the job running", `document.querySelector('.page-head .badge')?.innerText === 'running'`)
	eval[chromedp.Void](t, b, `window.__sameDocument = true`)
	start := time.Now()
	if _, _, err := c.Jobs().Deregister("ui-web", false, nil); err != nil {
		t.Fatalf("stop ui-web: %v", err)
	}
	b.waitFor(t, "the open page shows the job stopped, without a reload",
		`window.__sameDocument === true && /stopp/.test(document.querySelector('.page-head .badge')?.innerText || '')`)
	t.Logf("the page showed the stop %v after the API call", time.Since(start).Round(time.Millisecond))
	b.waitFor(t, "the allocations show complete", mainHas("complete"))
	b.screenshot(t, "job-stopped-live")
}

func reconnect(t *testing.T, b *browser, agent *devAgent) {
	b.open(t, "/ui/jobs")
	b.waitFor(t, "the jobs list renders", mainHas("ui-from-browser"))
	eval[chromedp.Void](t, b, `window.__sameDocument = true`)
	agent.stopJobs(t)
	agent.stop()
	b.waitFor(t, "the page says it is reconnecting", `document.querySelector('#conn')?.innerText.includes('Reconnecting')`)
	b.screenshot(t, "reconnecting")
	agent.start(t)
	if _, _, err := agent.client.Jobs().Register(loopJob("ui-after-restart", 1, logMarker), nil); err != nil {
		t.Fatalf("register ui-after-restart: %v", err)
	}
	b.waitFor(t, "the page reconnects and shows the new agent's jobs, without a reload",
		`window.__sameDocument === true && document.querySelector('#conn')?.innerText === '' && `+mainHas("ui-after-restart"))
}
