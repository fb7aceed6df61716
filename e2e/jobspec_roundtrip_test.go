package e2e

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/jobspec"
)

// TestJobFilesRoundTripThroughTheAgent parses every job file of the
// jobspec corpus, registers it with the official client, reads it back and
// checks that the stored job is the submitted one.
func TestJobFilesRoundTripThroughTheAgent(t *testing.T) {
	a := startDevAgent(t, "")
	// The corpus's full job lives in its own namespace.
	if _, err := a.client.Namespaces().Register(&api.Namespace{Name: "platform"}, nil); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("../jobspec/testdata/*.nomad.hcl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no job files: %v", err)
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".nomad.hcl")
		t.Run(name, func(t *testing.T) {
			// The variables file's job needs values only the environment gives.
			// Paths in job files (file(), var files) are relative to where
			// the CLI runs: the jobspec package, for this corpus.
			env := []string{"NOMAD_VAR_image_tag=1.2.3"}
			t.Chdir("../jobspec")
			rel := filepath.Join("testdata", filepath.Base(path))
			job, err := jobspec.ParseFile(rel, &jobspec.Options{VarFiles: varFilesFor(rel), Env: env})
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			// The corpus names regions and node pools a one-region dev
			// agent lacks: the job goes to this region, its pool is made.
			job.Region, job.Multiregion = ptr("global"), nil
			if p := job.NodePool; p != nil && *p != "" && *p != "default" && *p != "all" {
				if _, err := a.client.NodePools().Register(&api.NodePool{Name: *p}, nil); err != nil {
					t.Fatalf("node pool %s: %v", *p, err)
				}
			}
			if _, _, err := a.client.Jobs().Register(job, nil); err != nil {
				t.Fatalf("register: %v", err)
			}
			var q *api.QueryOptions
			if job.Namespace != nil {
				q = &api.QueryOptions{Namespace: *job.Namespace}
			}
			stored, _, err := a.client.Jobs().Info(*job.ID, q)
			if err != nil {
				t.Fatalf("read back: %v", err)
			}
			want, got := specJSON(t, job), specJSON(t, stored)
			if !reflect.DeepEqual(want, got) {
				for k := range want {
					if !reflect.DeepEqual(want[k], got[k]) {
						t.Errorf("field %s: submitted %v, stored %v", k, want[k], got[k])
					}
				}
			}
		})
	}
}

// varFilesFor returns the variable file that goes with a job file, if any.
func varFilesFor(path string) []string {
	vars := strings.TrimSuffix(path, ".nomad.hcl") + ".vars.hcl"
	if m, _ := filepath.Glob(vars); len(m) == 1 {
		return m
	}
	return nil
}

// specJSON is a job as JSON without the fields the server maintains or
// fills in on registration.
func specJSON(t *testing.T, job *api.Job) map[string]any {
	t.Helper()
	c := *job
	c.Status, c.StatusDescription, c.Stable, c.Version, c.SubmitTime = nil, nil, nil, nil, nil
	c.CreateIndex, c.ModifyIndex, c.JobModifyIndex, c.Stop = nil, nil, nil, nil
	c.Namespace, c.Datacenters, c.NodePool = nil, nil, nil
	// Scaling policies get an ID, a namespace and a target on registration.
	c.TaskGroups = make([]*api.TaskGroup, len(job.TaskGroups))
	for i, g := range job.TaskGroups {
		gc := *g
		if g.Scaling != nil {
			sc := *g.Scaling
			sc.ID, sc.Namespace, sc.Target, sc.CreateIndex, sc.ModifyIndex = "", "", nil, 0, 0
			gc.Scaling = &sc
		}
		c.TaskGroups[i] = &gc
	}
	buf, err := json.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
