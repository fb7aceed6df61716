package agent

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"
)

// TestOperatorKeyring walks Nomad's keyring API with the official client:
// the first key, rotation (plain and full), and deletion's refusals.
func TestOperatorKeyring(t *testing.T) {
	ts := testAgentAPI(t, slog.New(slog.NewTextHandler(io.Discard, nil)))
	c, err := api.NewClient(&api.Config{Address: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	kr := c.Keyring()
	keys, _, err := kr.List(nil)
	if err != nil || len(keys) != 1 || keys[0].State != api.RootKeyStateActive {
		t.Fatalf("a new cluster's keyring = %+v, %v; want one active key", keys, err)
	}
	first := keys[0].KeyID
	if _, _, err := c.Variables().Create(&api.Variable{Path: "app/db", Items: api.VariableItems{"pw": "s3cret"}}, nil); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		run     func() error
		wantErr string
	}{
		{name: "the active key cannot be deleted", wantErr: "active root key",
			run: func() error { _, err := kr.Delete(&api.KeyringDeleteOptions{KeyID: first}, nil); return err }},
		{name: "rotate", run: func() error {
			key, _, err := kr.Rotate(nil, nil)
			if err == nil && (key == nil || key.KeyID == first || key.State != api.RootKeyStateActive) {
				t.Errorf("rotate answered %+v", key)
			}
			return err
		}},
		{name: "a key variables are sealed with needs force", wantErr: "in use by variable",
			run: func() error { _, err := kr.Delete(&api.KeyringDeleteOptions{KeyID: first}, nil); return err }},
		{name: "full rotation seals variables again", run: func() error {
			_, _, err := kr.Rotate(&api.KeyringRotateOptions{Full: true}, nil)
			return err
		}},
		{name: "then the old key goes without force",
			run: func() error { _, err := kr.Delete(&api.KeyringDeleteOptions{KeyID: first}, nil); return err }},
		{name: "an unknown key", wantErr: "404",
			run: func() error { _, err := kr.Delete(&api.KeyringDeleteOptions{KeyID: "nope"}, nil); return err }},
	}
	for _, st := range steps {
		err := st.run()
		if st.wantErr == "" && err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if st.wantErr != "" && (err == nil || !strings.Contains(err.Error(), st.wantErr)) {
			t.Fatalf("%s: error %v, want one containing %q", st.name, err, st.wantErr)
		}
	}
	keys, _, err = kr.List(nil)
	if err != nil || len(keys) != 2 {
		t.Fatalf("keyring after deleting one of three = %+v, %v", keys, err)
	}
	v, _, err := c.Variables().Read("app/db", nil)
	if err != nil || v.Items["pw"] != "s3cret" {
		t.Fatalf("variable after full rotation: %+v, %v", v, err)
	}
}
