package agent

import (
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"
)

func TestServiceStubsGroupAndDedupTags(t *testing.T) {
	regs := []*api.ServiceRegistration{
		{ID: "1", Namespace: "default", ServiceName: "web", Tags: []string{"b", "a"}},
		{ID: "2", Namespace: "default", ServiceName: "web", Tags: []string{"a", "c"}},
		{ID: "3", Namespace: "default", ServiceName: "db"},
		{ID: "4", Namespace: "prod", ServiceName: "web", Tags: []string{"x"}},
	}
	var got []string
	for _, ns := range serviceStubs(regs) {
		for _, s := range ns.Services {
			got = append(got, ns.Namespace+"/"+s.ServiceName+"="+strings.Join(s.Tags, ","))
		}
	}
	want := "default/db=,default/web=a,b,c,prod/web=x"
	if strings.Join(got, ",") != want {
		t.Errorf("stubs = %v, want %s", got, want)
	}
	if out := serviceStubs(nil); out == nil || len(out) != 0 {
		t.Errorf("no registrations: %v, want an empty list", out)
	}
}

func TestServiceChooseAndTags(t *testing.T) {
	regs := []*api.ServiceRegistration{{ID: "a", Tags: []string{"x"}}, {ID: "b", Tags: []string{"x", "y"}}, {ID: "c"}}
	cases := []struct {
		name    string
		choose  string
		wantN   int
		wantErr bool
	}{
		{"no choose keeps all", "", 3, false},
		{"choose two", "2|key", 2, false},
		{"choose more than there are", "9|key", 3, false},
		{"missing key", "2", 0, true},
		{"not a number", "x|key", 0, true},
		{"zero", "0|key", 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseChoose(tc.choose)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error = %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			first := c.apply(regs)
			if len(first) != tc.wantN {
				t.Fatalf("chose %d, want %d", len(first), tc.wantN)
			}
			again := c.apply(regs)
			for i := range first {
				if first[i].ID != again[i].ID {
					t.Errorf("choice not stable: %s then %s", first[i].ID, again[i].ID)
				}
			}
		})
	}
	if !hasTags(regs[1], []string{"x", "y"}) || hasTags(regs[0], []string{"y"}) || !hasTags(regs[2], nil) {
		t.Error("hasTags: wrong answer")
	}
}
