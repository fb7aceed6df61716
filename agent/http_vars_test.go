package agent

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// varsServer serves the variable endpoints of an in-memory server.
func varsServer(t *testing.T) *httptest.Server {
	t.Helper()
	return testAPIServer(t, func(h *httpAPI, mux *http.ServeMux) {
		mux.HandleFunc("/v1/vars", h.wrap(h.varsList))
		mux.HandleFunc("/v1/var/", h.wrap(h.varRequest))
	})
}

func TestHTTPVarStatusCodes(t *testing.T) {
	ts := varsServer(t)
	body := `{"Items":{"k":"v"}}`
	steps := []struct {
		name, method, path, body string
		wantCode                 int
		wantBody                 string
	}{
		{"create", "PUT", "/v1/var/app/db", body, 200, `"ModifyIndex":`},
		{"read", "GET", "/v1/var/app/db", "", 200, `"Items":{"k":"v"}`},
		{"read missing", "GET", "/v1/var/app/none", "", 404, "variable not found"},
		{"cas 0 on an existing variable", "PUT", "/v1/var/app/db?cas=0", body, 409, `"Path":"app/db"`},
		{"cas with a bad index", "PUT", "/v1/var/app/db?cas=x", body, 400, "Invalid cas index"},
		{"empty body", "PUT", "/v1/var/app/db", "", 400, "Request body is empty"},
		{"no items", "PUT", "/v1/var/app/db", `{"Items":{}}`, 400, "missing required Items"},
		{"reserved path", "PUT", "/v1/var/nomad/x", body, 400, "reserved"},
		{"lock release without its ID", "PUT", "/v1/var/app/db?lock-release", body, 400, "missing lock ID"},
		{"stale delete", "DELETE", "/v1/var/app/db?cas=1", "", 409, `"Path":"app/db"`},
		{"lock acquire", "PUT", "/v1/var/app/lock?lock-acquire", `{"Lock":{"TTL":"20s"}}`, 200, `"TTL":"20s"`},
		{"lock acquire again", "PUT", "/v1/var/app/lock?lock-acquire", `{}`, 409, `"Path":"app/lock"`},
		{"lock renew without the ID", "PUT", "/v1/var/app/lock?lock-renew", `{}`, 400, "missing lock ID"},
		{"lock release by another ID", "PUT", "/v1/var/app/lock?lock-release", `{"Lock":{"ID":"other"}}`, 409, `"Path":"app/lock"`},
		{"a bad lock TTL", "PUT", "/v1/var/app/other?lock-acquire", `{"Lock":{"TTL":"1s"}}`, 400, "lock TTL must be between"},
		{"list takes no writes", "PUT", "/v1/vars", body, 405, "Invalid method"},
		{"list every namespace", "GET", "/v1/vars?namespace=*", "", 200, `"Path":"app/db"`},
		{"delete", "DELETE", "/v1/var/app/db", "", 200, ""},
		{"read after delete", "GET", "/v1/var/app/db", "", 404, "variable not found"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			req, err := http.NewRequest(st.method, ts.URL+st.path, strings.NewReader(st.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != st.wantCode || !strings.Contains(string(got), st.wantBody) {
				t.Fatalf("%s %s = %d %q, want %d containing %q", st.method, st.path, resp.StatusCode, got, st.wantCode, st.wantBody)
			}
		})
	}
}

func TestHTTPVarsListBlocksUntilAWrite(t *testing.T) {
	ts := varsServer(t)
	client, err := api.NewClient(&api.Config{Address: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	// A first variable makes the list's index non-zero: index 0 never
	// blocks.
	if _, _, err := client.Variables().Create(&api.Variable{Path: "b", Items: api.VariableItems{"k": "v"}}, nil); err != nil {
		t.Fatal(err)
	}
	_, meta, err := client.Variables().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		vars []*api.VariableMetadata
		err  error
	}
	done := make(chan result, 1)
	go func() {
		vars, _, err := client.Variables().List(&api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 30 * time.Second})
		done <- result{vars, err}
	}()
	if _, _, err := client.Variables().Create(&api.Variable{Path: "a", Items: api.VariableItems{"k": "v"}}, nil); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || len(r.vars) != 2 || r.vars[0].Path != "a" {
		raw, _ := json.Marshal(r.vars)
		t.Fatalf("blocking list = %s, %v", raw, r.err)
	}
}
