//go:build browser && linux

package ui_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// click clicks the first enabled button whose text is exactly text,
// waiting until there is one.
func (b *browser) click(t *testing.T, text string) {
	t.Helper()
	b.waitFor(t, fmt.Sprintf("a %q button can be clicked", text), fmt.Sprintf(
		`(() => { const el = [...document.querySelectorAll('button')].find(x => x.textContent.trim() === %q && !x.disabled); if (el) el.click(); return !!el; })()`, text))
}

// scaleFromUI scales ui-web's group to 3 with the count field of the job page.
func scaleFromUI(t *testing.T, b *browser, c *api.Client) {
	b.open(t, "/ui/jobs/ui-web")
	b.waitFor(t, "the scale form is shown", `!!document.querySelector('form.scale input')`)
	eval[any](t, b, `document.querySelector('form.scale input').value = '3'`)
	b.click(t, "Scale")
	waitUntil(t, 30*time.Second, "ui-web's group has count 3", func() error {
		job, _, err := c.Jobs().Info("ui-web", nil)
		if err != nil {
			return err
		}
		if n := *job.TaskGroups[0].Count; n != 3 {
			return fmt.Errorf("count is %d", n)
		}
		return nil
	})
	b.waitFor(t, "the page shows three running allocations", `document.querySelector('.legend li.running b')?.innerText === '3'`)
	b.screenshot(t, "job-scaled")
}

// eligibilityFromUI marks the client ineligible and eligible again.
func eligibilityFromUI(t *testing.T, b *browser, c *api.Client, nodeID string) {
	b.open(t, "/ui/clients/"+nodeID)
	for _, step := range []struct{ button, want string }{
		{"Mark ineligible", "ineligible"},
		{"Mark eligible", "eligible"},
	} {
		b.click(t, step.button)
		waitUntil(t, 30*time.Second, "the client is "+step.want, func() error {
			n, _, err := c.Nodes().Info(nodeID, nil)
			if err != nil {
				return err
			}
			if n.SchedulingEligibility != step.want {
				return fmt.Errorf("eligibility is %s", n.SchedulingEligibility)
			}
			return nil
		})
		b.waitFor(t, "the page shows the client "+step.want,
			fmt.Sprintf(`[...document.querySelectorAll('main .facts .badge')].some(x => x.innerText === %q)`, step.want))
	}
}

// restartAllocFromUI restarts an allocation and sees the event arrive live.
func restartAllocFromUI(t *testing.T, b *browser, allocID string) {
	b.open(t, "/ui/allocations/"+allocID)
	b.waitFor(t, "the allocation is running", mainHas("Task loop", "running"))
	b.click(t, "Restart")
	b.waitFor(t, "the task's events show the restart", mainHas("Restart Signaled"))
}

// jobActionsFromUI stops, starts and purges a job with the job page's buttons.
func jobActionsFromUI(t *testing.T, b *browser, c *api.Client) {
	if _, _, err := c.Jobs().Register(loopJob("ui-actions", 1, "actions"), nil); err != nil {
		t.Fatalf("register ui-actions: %v", err)
	}
	runningAllocs(t, c, "ui-actions", 1)
	b.open(t, "/ui/jobs/ui-actions")
	badge := `document.querySelector('.page-head .badge')?.innerText`
	b.waitFor(t, "the job runs", badge+` === 'running'`)
	b.click(t, "Stop")
	b.click(t, "Stop job")
	b.waitFor(t, "the job shows stopped", `/stopp/.test(`+badge+` || '')`)
	b.click(t, "Start")
	b.waitFor(t, "the job runs again", badge+` === 'running' || `+badge+` === 'pending'`)
	runningAllocs(t, c, "ui-actions", 1)
	b.click(t, "Purge")
	b.click(t, "Purge job")
	b.waitFor(t, "the UI goes back to the jobs list", `location.pathname === '/ui/jobs'`)
	waitUntil(t, 30*time.Second, "ui-actions is purged", func() error {
		if _, _, err := c.Jobs().Info("ui-actions", nil); err == nil {
			return fmt.Errorf("the job still exists")
		}
		return nil
	})
}

// namespacesFromUI lists the jobs of another namespace, then of all, with
// the namespace selector of the jobs page.
func namespacesFromUI(t *testing.T, b *browser, c *api.Client) {
	if _, err := c.Namespaces().Register(&api.Namespace{Name: "ui-team"}, nil); err != nil {
		t.Fatalf("register namespace: %v", err)
	}
	job := loopJob("ui-ns", 0, "ns")
	job.Namespace = ptr("ui-team")
	if _, _, err := c.Jobs().Register(job, nil); err != nil {
		t.Fatalf("register ui-ns: %v", err)
	}
	rows := `[...document.querySelectorAll('main tbody tr')].map(r => r.innerText)`
	choose := func(ns string) {
		eval[any](t, b, fmt.Sprintf(`(() => { const s = document.querySelector('select[name=namespace]'); s.value = %q; s.dispatchEvent(new Event('change')); })()`, ns))
	}
	b.open(t, "/ui/jobs")
	b.waitFor(t, "the default namespace's jobs, and the namespaces to choose from",
		rows+`.some(r => r.includes('ui-web')) && !`+rows+`.some(r => r.includes('ui-ns')) && !!document.querySelector('select[name=namespace] option[value="ui-team"]')`)
	choose("ui-team")
	b.waitFor(t, "only ui-team's job", rows+`.some(r => r.includes('ui-ns')) && !`+rows+`.some(r => r.includes('ui-web')) && location.search.includes('namespace=ui-team')`)
	choose("*")
	b.waitFor(t, "every namespace's jobs with their namespace",
		rows+`.some(r => r.includes('ui-ns') && r.includes('ui-team')) && `+rows+`.some(r => r.includes('ui-web') && r.includes('default')) && `+
			`[...document.querySelectorAll('main thead th')].some(th => th.textContent === 'Namespace')`)
	b.screenshot(t, "jobs-all-namespaces")
}

// TestBrowserSignIn signs in with an ACL token on the tokens page: before,
// the jobs page says the request was refused; after, it lists the jobs.
func TestBrowserSignIn(t *testing.T) {
	agent := startACLDevAgent(t)
	b := newBrowser(t, agent.url)
	b.open(t, "/ui/jobs")
	b.waitFor(t, "the jobs page says the anonymous request was refused", mainHas("Permission denied", "Sign in"))
	b.open(t, "/ui/settings/tokens")
	b.waitFor(t, "the token form is shown", `!!document.querySelector('#token-secret')`)
	eval[any](t, b, fmt.Sprintf(`document.querySelector('#token-secret').value = %q`, agent.secret))
	b.click(t, "Sign in")
	b.waitFor(t, "the page shows the signed-in token", mainHas("Signed in", "Bootstrap Token", "management"))
	b.screenshot(t, "signed-in")
	b.open(t, "/ui/jobs")
	b.waitFor(t, "the jobs page loads with the token", `!document.querySelector('main .error-box') && `+mainHas("Jobs"))
	b.open(t, "/ui/settings/tokens")
	b.waitFor(t, "the page shows the stored token", mainHas("Signed in"))
	b.click(t, "Sign out")
	b.waitFor(t, "signed out", mainHas("Not signed in"))
	if got := eval[string](t, b, `localStorage.getItem('nomad.token') || ''`); got != "" {
		t.Fatalf("token still stored after sign out")
	}
}

// TestBrowserOneTimeToken opens the UI with a one-time token in the URL,
// as `roam ui -authenticate` does: the UI trades it for the token, signs
// in and drops it from the URL; a spent one leads to the sign-in page.
func TestBrowserOneTimeToken(t *testing.T) {
	agent := startACLDevAgent(t)
	ott, _, err := agent.client.ACLTokens().UpsertOneTimeToken(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, agent.url)
	b.open(t, "/ui/jobs?ott="+ott.OneTimeSecretID)
	b.waitFor(t, "the UI signs in with the exchanged token and the URL forgets the one-time token",
		fmt.Sprintf(`localStorage.getItem('nomad.token') === %q && location.pathname === '/ui/jobs' && !location.search.includes('ott')`, agent.secret))
	b.waitFor(t, "the jobs page loads with the token", `!document.querySelector('main .error-box') && `+mainHas("Jobs"))
	eval[any](t, b, `localStorage.removeItem('nomad.token')`)
	b.open(t, "/ui/jobs?ott="+ott.OneTimeSecretID)
	b.waitFor(t, "a spent one-time token leads to the sign-in page", `location.pathname === '/ui/settings/tokens' && `+mainHas("Not signed in"))
}
