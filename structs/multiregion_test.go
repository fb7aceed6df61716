package structs

import (
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"
)

func multiregionJob(maxParallel int, onFailure string, regions ...*api.MultiregionRegion) *api.Job {
	return &api.Job{
		ID: new("web"), Region: new("east"), Datacenters: []string{"*"}, Meta: map[string]string{"tier": "web", "side": "none"},
		Type:       new(api.JobTypeService),
		TaskGroups: []*api.TaskGroup{{Name: new("a"), Count: new(3), Update: &api.UpdateStrategy{MaxParallel: new(1)}}, {Name: new("b"), Count: new(1)}},
		Multiregion: &api.Multiregion{
			Strategy: &api.MultiregionStrategy{MaxParallel: &maxParallel, OnFailure: &onFailure},
			Regions:  regions,
		},
	}
}

func TestValidateMultiregion(t *testing.T) {
	east, west := &api.MultiregionRegion{Name: "east"}, &api.MultiregionRegion{Name: "west"}
	cases := []struct {
		name string
		job  *api.Job
		want string
	}{
		{"two regions", multiregionJob(1, "fail_all", east, west), ""},
		{"fail_local", multiregionJob(0, "fail_local", east, west), ""},
		{"unknown on_failure", multiregionJob(1, "fail_some", east), `on_failure: must be "fail_all", "fail_local" or empty, got "fail_some"`},
		{"negative max_parallel", multiregionJob(-1, "", east), "max_parallel: must not be negative"},
		{"a region twice", multiregionJob(1, "", east, east), `multiregion.region "east": named twice`},
		{"a region without a name", multiregionJob(1, "", &api.MultiregionRegion{}), "multiregion.region[0]: needs a name"},
		{"a null region", multiregionJob(1, "", nil), "multiregion.region[0]: must not be null"},
		{"negative count", multiregionJob(1, "", &api.MultiregionRegion{Name: "east", Count: new(-2)}), "count must not be negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateMultiregion(tc.job)
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("ValidateMultiregion: %v, want %q", err, tc.want)
			}
		})
	}
}

func TestMultiregionRollout(t *testing.T) {
	regions := []*api.MultiregionRegion{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	cases := []struct {
		name        string
		maxParallel int
		first       []string
		next        map[string]string
	}{
		{"one at a time", 1, []string{"a"}, map[string]string{"a": "b", "b": "c", "c": ""}},
		{"two at a time", 2, []string{"a", "b"}, map[string]string{"a": "c", "b": "", "c": ""}},
		{"all at once by default", 0, []string{"a", "b", "c"}, map[string]string{"a": "", "b": "", "c": ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job := multiregionJob(tc.maxParallel, "", regions...)
			if got := MultiregionFirstWave(job); !slices.Equal(got, tc.first) {
				t.Fatalf("first wave %v, want %v", got, tc.first)
			}
			batch := multiregionJob(tc.maxParallel, "", regions...)
			batch.Type = new(api.JobTypeBatch)
			if got := MultiregionFirstWave(batch); len(got) != len(regions) {
				t.Fatalf("a batch job's first wave %v, want every region: it has no deployment to wait for", got)
			}
			for region, want := range tc.next {
				if got := MultiregionNext(job, region); got != want {
					t.Fatalf("after %s: %q, want %q", region, got, want)
				}
			}
		})
	}
}

func TestRegionalize(t *testing.T) {
	job := multiregionJob(1, "",
		&api.MultiregionRegion{Name: "east", Count: new(2), Datacenters: []string{"east-1"}, NodePool: "big", Meta: map[string]string{"side": "east"}},
		&api.MultiregionRegion{Name: "west"})
	east := Regionalize(job)
	if *east.TaskGroups[0].Count != 2 || *east.TaskGroups[1].Count != 2 || !slices.Equal(east.Datacenters, []string{"east-1"}) ||
		*east.NodePool != "big" || east.Meta["side"] != "east" || east.Meta["tier"] != "web" {
		t.Fatalf("east: counts %d/%d, dcs %v, meta %v", *east.TaskGroups[0].Count, *east.TaskGroups[1].Count, east.Datacenters, east.Meta)
	}
	if *job.TaskGroups[0].Count != 3 || job.Meta["side"] != "none" {
		t.Fatal("Regionalize changed the stored job")
	}
	west := Regionalize(InRegion(job, "west"))
	if *west.TaskGroups[0].Count != 3 || !slices.Equal(west.Datacenters, []string{"*"}) || west.Meta["side"] != "none" {
		t.Fatalf("west, whose block sets nothing: counts %d, dcs %v, meta %v", *west.TaskGroups[0].Count, west.Datacenters, west.Meta)
	}
	plain := &api.Job{ID: new("plain")}
	if Regionalize(plain) != plain {
		t.Fatal("a job without multiregion was copied")
	}
}
