package agent

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"
)

// namespacesServer serves the namespace endpoints and the namespaced
// lists of an in-memory server.
func namespacesServer(t *testing.T) *httptest.Server {
	t.Helper()
	return testAPIServer(t, func(h *httpAPI, mux *http.ServeMux) {
		mux.HandleFunc("/v1/namespaces", h.wrap(h.namespacesList))
		mux.HandleFunc("/v1/namespace", h.wrap(h.namespaceRequest))
		mux.HandleFunc("/v1/namespace/", h.wrap(h.namespaceRequest))
		mux.HandleFunc("/v1/jobs", h.wrap(h.jobsRequest))
		mux.HandleFunc("/v1/job/", h.wrap(h.jobRequest))
		mux.HandleFunc("/v1/evaluations", h.wrap(h.evalsList))
		mux.HandleFunc("/v1/allocations", h.wrap(h.allocsList))
		mux.HandleFunc("/v1/deployments", h.wrap(h.deploymentsList))
		mux.HandleFunc("/v1/node/pools", h.wrap(h.nodePoolsRequest))
		mux.HandleFunc("/v1/vars", h.wrap(h.varsList))
		mux.HandleFunc("/v1/var/", h.wrap(h.varRequest))
	})
}

// webJob is a job body without a namespace of its own, unless ns is set.
func webJob(ns string) string {
	nsField := ""
	if ns != "" {
		nsField = `"Namespace":"` + ns + `",`
	}
	return `{"Job":{` + nsField + `"ID":"web","Type":"batch","TaskGroups":[{"Name":"g","Count":1,` +
		`"Tasks":[{"Name":"t","Driver":"raw_exec","Config":{"command":"/bin/true"}}]}]}}`
}

func TestHTTPNamespaces(t *testing.T) {
	ts := namespacesServer(t)
	steps := []struct {
		name, method, path, body string
		wantCode                 int
		wantBody                 string
		// notBody must not appear in the answer.
		notBody string
	}{
		{"default exists", "GET", "/v1/namespaces", "", 200, `"Name":"default"`, ""},
		{"create", "PUT", "/v1/namespace", `{"Name":"prod","Description":"Production","Meta":{"owner":"ops"}}`, 200, "", ""},
		{"create by path", "POST", "/v1/namespace/qa", `{"Description":"QA"}`, 200, "", ""},
		{"path and body disagree", "POST", "/v1/namespace/qa", `{"Name":"prod"}`, 400, "Namespace name does not match request path", ""},
		{"invalid name", "PUT", "/v1/namespace", `{"Name":"a b"}`, 400, `invalid name "a b"`, ""},
		{"wildcard name", "PUT", "/v1/namespace", `{"Name":"*"}`, 400, `invalid name "*".`, ""},
		{"empty body", "PUT", "/v1/namespace", "", 400, "Request body is empty", ""},
		{"malformed body", "PUT", "/v1/namespace", `{"Name":`, 400, "Failed to decode request body", ""},
		{"info", "GET", "/v1/namespace/prod", "", 200, `"Meta":{"owner":"ops"}`, ""},
		{"info of an unknown namespace", "GET", "/v1/namespace/nope", "", 404, "namespace not found", ""},
		{"list by prefix", "GET", "/v1/namespaces?prefix=pr", "", 200, `"Name":"prod"`, `"Name":"default"`},
		{"list takes no writes", "PUT", "/v1/namespaces", `{}`, 405, "Invalid method", ""},

		{"job in an unknown namespace", "PUT", "/v1/jobs", webJob("nope"), 400, `job "web" is in nonexistent namespace "nope"`, ""},
		{"job in an unknown namespace by query", "PUT", "/v1/jobs?namespace=nope", webJob(""), 400, `nonexistent namespace "nope"`, ""},
		{"job in prod by query", "PUT", "/v1/jobs?namespace=prod", webJob(""), 200, `"EvalID"`, ""},
		{"same ID in qa by body", "PUT", "/v1/jobs", webJob("qa"), 200, `"EvalID"`, ""},
		{"default lists neither", "GET", "/v1/jobs", "", 200, "[]", ""},
		{"prod lists its job", "GET", "/v1/jobs?namespace=prod", "", 200, `"Namespace":"prod"`, `"Namespace":"qa"`},
		{"all namespaces list both", "GET", "/v1/jobs?namespace=*", "", 200, `"Namespace":"qa"`, ""},
		{"job read from its namespace", "GET", "/v1/job/web?namespace=qa", "", 200, `"Namespace":"qa"`, ""},
		{"job absent from default", "GET", "/v1/job/web", "", 404, "job not found", ""},
		{"qa's job is in the default node pool", "GET", "/v1/job/web?namespace=qa", "", 200, `"NodePool":"default"`, ""},
		{"a namespace with a default node pool", "PUT", "/v1/namespace", `{"Name":"gpu","NodePoolConfiguration":{"Default":"gpu-pool"}}`, 200, "", ""},
		{"job in a pool that does not exist", "PUT", "/v1/jobs?namespace=gpu", webJob(""), 400, `nonexistent node pool "gpu-pool"`, ""},
		{"the pool", "PUT", "/v1/node/pools", `{"Name":"gpu-pool"}`, 200, "", ""},
		{"job in it", "PUT", "/v1/jobs?namespace=gpu", webJob(""), 200, `"EvalID"`, ""},
		{"gets the namespace's pool", "GET", "/v1/job/web?namespace=gpu", "", 200, `"NodePool":"gpu-pool"`, ""},
		{"evaluations of prod", "GET", "/v1/evaluations?namespace=prod", "", 200, `"Namespace":"prod"`, `"Namespace":"qa"`},
		{"evaluations of default", "GET", "/v1/evaluations", "", 200, "[]", ""},
		{"evaluations of all", "GET", "/v1/evaluations?namespace=*", "", 200, `"Namespace":"qa"`, ""},
		{"allocations of default", "GET", "/v1/allocations", "", 200, "[]", ""},
		{"deployments of default", "GET", "/v1/deployments", "", 200, "[]", ""},

		{"variable in an unknown namespace", "PUT", "/v1/var/app?namespace=nope", `{"Items":{"k":"v"}}`, 400, `nonexistent namespace "nope"`, ""},
		{"variable in qa", "PUT", "/v1/var/app?namespace=qa", `{"Items":{"k":"v"}}`, 200, `"Namespace":"qa"`, ""},
		{"variables of all", "GET", "/v1/vars?namespace=*", "", 200, `"Namespace":"qa"`, ""},

		{"delete default", "DELETE", "/v1/namespace/default", "", 400, "the default namespace can not be deleted", ""},
		{"delete with a job", "DELETE", "/v1/namespace/prod", "", 400, `namespace "prod" contains non-terminal job "web"`, ""},
		{"purge prod's job", "DELETE", "/v1/job/web?namespace=prod&purge=true", "", 200, `"EvalID"`, ""},
		{"qa's job is untouched", "GET", "/v1/job/web?namespace=qa", "", 200, `"Namespace":"qa"`, ""},
		{"delete once empty", "DELETE", "/v1/namespace/prod", "", 200, "", ""},
		{"deleted", "GET", "/v1/namespace/prod", "", 404, "namespace not found", ""},
		{"delete unknown", "DELETE", "/v1/namespace/prod", "", 404, `namespace "prod"`, ""},
		{"purge qa's job", "DELETE", "/v1/job/web?namespace=qa&purge=true", "", 200, `"EvalID"`, ""},
		{"delete with a variable", "DELETE", "/v1/namespace/qa", "", 400, `contains variable "app"`, ""},
		{"delete the variable", "DELETE", "/v1/var/app?namespace=qa", "", 200, "", ""},
		{"delete qa", "DELETE", "/v1/namespace/qa", "", 200, "", ""},
		{"only default and gpu left", "GET", "/v1/namespaces", "", 200, `"Name":"gpu"`, `"Name":"qa"`},
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
			if resp.StatusCode != st.wantCode || !strings.Contains(string(got), st.wantBody) ||
				(st.notBody != "" && strings.Contains(string(got), st.notBody)) {
				t.Fatalf("%s %s = %d %q, want %d containing %q without %q", st.method, st.path, resp.StatusCode, got, st.wantCode, st.wantBody, st.notBody)
			}
		})
	}
}

func TestHTTPNamespacesWithTheAPIClient(t *testing.T) {
	ts := namespacesServer(t)
	client, err := api.NewClient(&api.Config{Address: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	namespaces := client.Namespaces()
	for _, name := range []string{"fooaaa", "foobbb"} {
		wm, err := namespaces.Register(&api.Namespace{Name: name, Description: name}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if wm.LastIndex == 0 {
			t.Fatalf("register %s: no write index", name)
		}
	}
	cases := []struct {
		name, prefix string
		want         []string
	}{
		{"all, newest first", "", []string{"foobbb", "fooaaa", "default"}},
		{"prefix", "foo", []string{"foobbb", "fooaaa"}},
		{"narrower prefix", "foob", []string{"foobbb"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			list, qm, err := namespaces.PrefixList(tc.prefix, nil)
			if err != nil {
				t.Fatal(err)
			}
			if qm.LastIndex == 0 {
				t.Fatal("no query index")
			}
			var got []string
			for _, ns := range list {
				got = append(got, ns.Name)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("namespaces = %v, want %v", got, tc.want)
			}
		})
	}
	info, _, err := namespaces.Info("fooaaa", nil)
	if err != nil || info.Description != "fooaaa" || info.CreateIndex == 0 || info.ModifyIndex < info.CreateIndex {
		t.Fatalf("info = %+v, %v", info, err)
	}
	if _, err := namespaces.Delete("fooaaa", nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := namespaces.Info("fooaaa", nil); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("info after delete: %v, want not found", err)
	}
}

func TestJobNamespace(t *testing.T) {
	cases := []struct {
		name, query, body, job, want string
	}{
		{"nothing set", "", "", "", "default"},
		{"the job's own", "", "", "batch", "batch"},
		{"the body's over the job's", "", "web", "batch", "web"},
		{"the query's over both", "ops", "web", "batch", "ops"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job := &api.Job{ID: ptrTo("j")}
			if tc.job != "" {
				job.Namespace = ptrTo(tc.job)
			}
			r := httptest.NewRequest("PUT", "/v1/jobs?namespace="+tc.query, nil)
			if got := jobNamespace(job, r, tc.body); got != tc.want {
				t.Fatalf("namespace = %q, want %q", got, tc.want)
			}
		})
	}
}
