//go:build browser && linux

package ui_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// TestBrowserVariables creates a variable with the form, sees it listed
// and shown, edits an item, deletes it; with ACLs on and no token, the
// list shows none of the variables and a variable's page is refused.
func TestBrowserVariables(t *testing.T) {
	agent := startACLDevAgent(t)
	c := agent.client
	b := newBrowser(t, agent.url)
	if _, _, err := c.Variables().Create(&api.Variable{Path: "ui/hidden", Items: api.VariableItems{"k": "v"}}, nil); err != nil {
		t.Fatal(err)
	}
	b.open(t, "/ui/variables")
	b.waitFor(t, "the list shows an anonymous token nothing", mainHas("No variables"))
	b.open(t, "/ui/variables/default/ui/hidden")
	b.waitFor(t, "a variable's page refuses an anonymous token", mainHas("Permission denied"))
	eval[any](t, b, fmt.Sprintf(`localStorage.setItem('nomad.token', %q)`, agent.secret))

	b.open(t, "/ui/variables/new")
	b.waitFor(t, "the create form is shown", `!!document.querySelector('form.var-form input[name=path]')`)
	eval[any](t, b, `(() => {
		document.querySelector('form.var-form input[name=path]').value = 'ui/db';
		document.querySelector('form.var-form .kv .key').value = 'password';
		document.querySelector('form.var-form .kv .value').value = 'hunter2';
	})()`)
	b.click(t, "Create")
	b.waitFor(t, "the new variable's page shows its item", mainHas("ui/db", "password", "hunter2"))
	sv, _, err := c.Variables().Read("ui/db", nil)
	if err != nil || sv.Items["password"] != "hunter2" {
		t.Fatalf("created variable: %+v, %v", sv, err)
	}
	b.open(t, "/ui/variables")
	b.waitFor(t, "the list shows the variable", `!!document.querySelector('main a[href="/ui/variables/default/ui/db"]')`)
	b.screenshot(t, "variables")

	b.open(t, "/ui/variables/default/ui/db")
	b.waitFor(t, "the edit form is shown", `!!document.querySelector('form.var-form .kv .value')`)
	eval[any](t, b, `document.querySelector('form.var-form .kv .value').value = 'changed'`)
	b.click(t, "Save")
	waitUntil(t, 20*time.Second, "the edit to be saved", func() error {
		sv, _, err := c.Variables().Read("ui/db", nil)
		if err != nil {
			return err
		}
		if sv.Items["password"] != "changed" {
			return fmt.Errorf("password is %q", sv.Items["password"])
		}
		return nil
	})
	b.open(t, "/ui/variables/default/ui/db")
	b.waitFor(t, "the page shows the new value", mainHas("changed"))
	b.click(t, "Delete")
	b.waitFor(t, "the confirmation dialog is open", `!!document.querySelector('dialog[open]')`)
	eval[any](t, b, `[...document.querySelectorAll('dialog[open] button')].find(x => x.textContent === 'Delete').click()`)
	waitUntil(t, 20*time.Second, "the variable to be deleted", func() error {
		_, _, err := c.Variables().Read("ui/db", nil)
		if err == nil {
			return fmt.Errorf("still there")
		}
		if !errors.Is(err, api.ErrVariablePathNotFound) && !strings.Contains(err.Error(), "not found") {
			return err
		}
		return nil
	})
}
