package template

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/client/clienttest"
)

// lookupServers are fake servers holding a variable and two instances of
// "db", one tagged "primary".
func lookupServers(t *testing.T) *clienttest.Servers {
	t.Helper()
	s := clienttest.NewServers()
	s.PutVar("default", "app/config", map[string]string{"password": "hunter2", "user": "app"})
	s.PutVar("default", "app/other", map[string]string{"k": "v"})
	s.PutVar("prod", "app/config", map[string]string{"password": "prod-secret"})
	err := s.UpsertServiceRegistrations([]*api.ServiceRegistration{
		{ID: "db-1", ServiceName: "db", Namespace: "default", Address: "10.0.0.1", Port: 5432, Tags: []string{"primary"}, AllocID: "a1"},
		{ID: "db-2", ServiceName: "db", Namespace: "default", Address: "10.0.0.2", Port: 5433, Tags: []string{"replica"}, AllocID: "a2"},
		{ID: "web-1", ServiceName: "web", Namespace: "default", Address: "10.0.0.3", Port: 80, Tags: []string{"http"}, AllocID: "a3"},
		{ID: "db-p", ServiceName: "db", Namespace: "prod", Address: "10.1.0.1", Port: 5432, AllocID: "a4"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func startManager(t *testing.T, src Source, settings Settings, tmpls ...*api.Template) (*Manager, *Renderer) {
	t.Helper()
	r := newRenderer(t)
	m, err := NewManager(Config{Templates: tmpls, Renderer: r, Source: src, Namespace: "default", Region: "global", Settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	return m, r
}

func TestManagerLookupFunctions(t *testing.T) {
	src := lookupServers(t)
	cases := []struct {
		name    string
		tmpl    string
		want    string
		wantErr string
	}{
		{"variable item", `{{ with nomadVar "app/config" }}{{ .password }}{{ end }}`, "hunter2", ""},
		{"variable in another namespace", `{{ with nomadVar "app/config@prod" }}{{ .password }}{{ end }}`, "prod-secret", ""},
		{"variable range and keys", `{{ range $k, $v := nomadVar "app/config" }}{{ $k }}={{ $v }};{{ end }}{{ (nomadVar "app/config").Keys }}`, "password=hunter2;user=app;[password user]", ""},
		{"variable exists", `{{ nomadVarExists "app/config" }} {{ nomadVarExists "nope" }}`, "true false", ""},
		{"variable list", `{{ range nomadVarList "app/" }}{{ .Path }} {{ end }}`, "app/config app/other ", ""},
		{"service", `{{ range nomadService "db" }}{{ .Name }}@{{ .Address }}:{{ .Port }} {{ end }}`, "db@10.0.0.1:5432 db@10.0.0.2:5433 ", ""},
		{"service by tag", `{{ range nomadService "primary.db" }}{{ .Address }}{{ end }}`, "10.0.0.1", ""},
		{"service in a namespace", `{{ range nomadService "db" "prod" }}{{ .Address }}{{ end }}`, "10.1.0.1", ""},
		{"service of this region", `{{ range nomadService "db@global" }}{{ .Port }} {{ end }}`, "5432 5433 ", ""},
		{"rendezvous picks one, stably", `{{ range nomadService 1 "key-a" "db" }}{{ .ID }}{{ end }}={{ range nomadService 1 "key-a" "db" }}{{ .ID }}{{ end }} {{ len (nomadService 5 "k" "db") }}`, "", ""},
		{"services", `{{ range nomadServices }}{{ .Name }}{{ .Tags }} {{ end }}`, "db[primary replica] web[http] ", ""},
		{"sprig under its prefix", `{{ "hello" | sprig_upper }} {{ list 1 2 | sprig_len }}`, "", "function \"list\" not defined"},
		{"sprig functions", `{{ "hello" | sprig_upper }} {{ sprig_list 1 2 | sprig_join "," }}`, "HELLO 1,2", ""},
		{"sockaddr", `{{ sockaddr "GetAllInterfaces | include \"flags\" \"loopback\" | include \"type\" \"IPv4\" | attr \"address\"" }}`, "127.0.0.1", ""},
		{"denied function", `{{ writeToFile "x" }}`, "", "denied by the client's template function_denylist"},
		{"another region", `{{ nomadService "db@eu" }}`, "", "is not this client's"},
		{"file in the sandbox", `{{ file "local/in.txt" }}`, "inside", ""},
		{"file outside the sandbox", `{{ file "/etc/hostname" }}`, "", "escapes the allocation directory"},
		{"missing key is an error when asked", `{{ with nomadVar "app/config" }}{{ .nope }}{{ end }}`, "", "map has no entry"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := &api.Template{EmbeddedTmpl: ptr(tc.tmpl), DestPath: ptr("local/out")}
			if tc.name == "missing key is an error when asked" {
				tmpl.ErrMissingKey = ptr(true)
			}
			r := newRenderer(t)
			os.WriteFile(filepath.Join(r.TaskDir, "local", "in.txt"), []byte("inside"), 0o644)
			m, err := NewManager(Config{Templates: []*api.Template{tmpl}, Renderer: r, Source: src, Namespace: "default", Region: "global"})
			if err == nil {
				defer m.Stop()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_, err = m.WaitFirst(ctx, nil)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(r.TaskDir, "local", "out"))
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				// The rendezvous case: the same key picks the same one.
				parts := strings.Split(string(got), " ")
				if halves := strings.Split(parts[0], "="); halves[0] != halves[1] || halves[0] == "" || parts[1] != "2" {
					t.Fatalf("rendezvous rendered %q", got)
				}
				return
			}
			if string(got) != tc.want {
				t.Fatalf("rendered %q, want %q", got, tc.want)
			}
		})
	}
}

func TestManagerWaitsForMissingDataAndReRenders(t *testing.T) {
	src := clienttest.NewServers()
	m, r := startManager(t, src, Settings{},
		&api.Template{EmbeddedTmpl: ptr(`pw={{ with nomadVar "app/db" }}{{ .password }}{{ end }}{{ range nomadService "db" }} {{ .Address }}:{{ .Port }}{{ end }}`), DestPath: ptr("local/app.conf")})
	waiting := make(chan []string, 10)
	done := make(chan error, 1)
	go func() {
		_, err := m.WaitFirst(context.Background(), func(missing []string) { waiting <- missing })
		done <- err
	}()
	got := <-waiting
	if strings.Join(got, ",") != "nomad.service(db@default),nomad.var.block(app/db@default)" &&
		strings.Join(got, ",") != "nomad.var.block(app/db@default)" {
		t.Fatalf("waiting for %v", got)
	}
	src.PutVar("default", "app/db", map[string]string{"password": "one"})
	if err := src.UpsertServiceRegistrations([]*api.ServiceRegistration{{ID: "db-1", ServiceName: "db", Namespace: "default", Address: "10.0.0.1", Port: 5432}}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(r.TaskDir, "local", "app.conf")
	if b, _ := os.ReadFile(dest); string(b) != "pw=one 10.0.0.1:5432" {
		t.Fatalf("first render %q", b)
	}

	src.PutVar("default", "app/db", map[string]string{"password": "two"})
	change := <-m.Changes()
	if string(change.Result.Content) != "pw=two 10.0.0.1:5432" {
		t.Fatalf("re-render %q", change.Result.Content)
	}
	if b, _ := os.ReadFile(dest); string(b) != "pw=two 10.0.0.1:5432" {
		t.Fatalf("file after change %q", b)
	}
	// The last instance leaving renders an empty list, not a wait.
	if _, err := src.DeleteServiceRegistrations("", []string{"db-1"}); err != nil {
		t.Fatal(err)
	}
	if change := <-m.Changes(); string(change.Result.Content) != "pw=two" {
		t.Fatalf("after the instance left: %q", change.Result.Content)
	}
	// A variable deleted after the first render keeps the previous file.
	src.PutVar("default", "app/db", nil)
	src.PutVar("default", "app/db", map[string]string{"password": "three"})
	if change := <-m.Changes(); string(change.Result.Content) != "pw=three" {
		t.Fatalf("after the variable came back: %q", change.Result.Content)
	}
}

func TestManagerWaitSettlesChanges(t *testing.T) {
	src := clienttest.NewServers()
	src.PutVar("default", "v", map[string]string{"n": "0"})
	lo := 200 * time.Millisecond
	m, _ := startManager(t, src, Settings{},
		&api.Template{EmbeddedTmpl: ptr(`{{ with nomadVar "v" }}{{ .n }}{{ end }}`), DestPath: ptr("local/n"), Wait: &api.WaitConfig{Min: &lo}})
	if _, err := m.WaitFirst(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"1", "2", "3"} {
		src.PutVar("default", "v", map[string]string{"n": n})
	}
	if change := <-m.Changes(); string(change.Result.Content) != "3" {
		t.Fatalf("a burst of changes rendered %q, want only the last", change.Result.Content)
	}
}

func TestManagerKeepsTheFileWhenAReRenderFails(t *testing.T) {
	src := clienttest.NewServers()
	src.PutVar("default", "v", map[string]string{"n": "1"})
	m, r := startManager(t, src, Settings{},
		&api.Template{EmbeddedTmpl: ptr(`{{ with nomadVar "v" }}{{ parseInt .n.Value }}{{ end }}`), DestPath: ptr("local/n")})
	if _, err := m.WaitFirst(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	src.PutVar("default", "v", map[string]string{"n": "not a number"})
	select {
	case err := <-m.Errors():
		if !strings.Contains(err.Error(), "parseInt") {
			t.Fatalf("re-render error = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no re-render error")
	}
	if b, _ := os.ReadFile(filepath.Join(r.TaskDir, "local", "n")); string(b) != "1" {
		t.Fatalf("file after a failed re-render = %q, want the previous %q", b, "1")
	}
	src.PutVar("default", "v", map[string]string{"n": "2"})
	if c := <-m.Changes(); string(c.Result.Content) != "2" {
		t.Fatalf("after recovery: %q", c.Result.Content)
	}
}

func TestManagerRendersWhileChangesAreNotRead(t *testing.T) {
	src := clienttest.NewServers()
	src.PutVar("default", "v", map[string]string{"n": "0"})
	m, r := startManager(t, src, Settings{},
		&api.Template{EmbeddedTmpl: ptr(`{{ with nomadVar "v" }}{{ .n }}{{ end }}`), DestPath: ptr("local/n")})
	if _, err := m.WaitFirst(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(r.TaskDir, "local", "n")
	for _, n := range []string{"1", "2", "3", "4"} {
		src.PutVar("default", "v", map[string]string{"n": n})
		deadline := time.Now().Add(10 * time.Second)
		for b, _ := os.ReadFile(dest); string(b) != n; b, _ = os.ReadFile(dest) {
			if time.Now().After(deadline) {
				t.Fatalf("file = %q, want %q: a change nobody read held the render back", b, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// The change in hand when nobody read is delivered, then the others
	// coalesced: the file is written before its change is queued, so "3"
	// may still be queued alone when the reader takes "1", and "4" follows.
	if first := <-m.Changes(); string(first.Result.Content) != "1" {
		t.Fatalf("first change delivered: %q, want 1", first.Result.Content)
	}
	var got []string
	for len(got) == 0 || got[len(got)-1] != "4" {
		select {
		case c := <-m.Changes():
			got = append(got, string(c.Result.Content))
		case <-time.After(10 * time.Second):
			t.Fatalf("changes after the first: %q, never 4", got)
		}
	}
	if len(got) > 2 || (len(got) == 2 && got[0] != "3") {
		t.Fatalf("changes after the first: %q, want 4, or 3 then 4 (coalesced)", got)
	}
}
