package paginate

import (
	"errors"
	"net/url"
	"slices"
	"testing"
)

type object struct {
	ID     string
	Status string
	Count  int
}

func objects() []object {
	return []object{
		{ID: "c", Status: "running", Count: 3},
		{ID: "a", Status: "pending", Count: 1},
		{ID: "d", Status: "running", Count: 4},
		{ID: "b", Status: "running", Count: 2},
	}
}

func ids(objs []object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.ID)
	}
	return out
}

func TestApply(t *testing.T) {
	cases := []struct {
		name    string
		opts    Options
		want    []string
		next    string
		invalid bool
	}{
		{name: "nothing keeps the order", want: []string{"c", "a", "d", "b"}},
		{name: "in filter", opts: Options{Filter: `"pend" in Status`}, want: []string{"a"}},
		{name: "filter keeps the order", opts: Options{Filter: `Status == "running"`}, want: []string{"c", "d", "b"}},
		{name: "first page", opts: Options{PerPage: 2}, want: []string{"a", "b"}, next: "c"},
		{name: "second page", opts: Options{PerPage: 2, NextToken: "c"}, want: []string{"c", "d"}},
		{name: "token of a vanished object", opts: Options{PerPage: 1, NextToken: "bb"}, want: []string{"c"}, next: "d"},
		{name: "reverse", opts: Options{Reverse: true}, want: []string{"d", "c", "b", "a"}},
		{name: "reverse page", opts: Options{Reverse: true, PerPage: 1, NextToken: "c"}, want: []string{"c"}, next: "b"},
		{name: "filter then page", opts: Options{Filter: `Status == "running"`, PerPage: 2}, want: []string{"b", "c"}, next: "d"},
		{name: "page past the end", opts: Options{NextToken: "z"}, want: nil},
		{name: "bad filter", opts: Options{Filter: `Status ==`}, invalid: true},
		{name: "unknown field", opts: Options{Filter: `Nope == "x"`}, invalid: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, next, err := Apply(objects(), func(o object) string { return o.ID }, tc.opts)
			if tc.invalid {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("error %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got), tc.want) || next != tc.next {
				t.Fatalf("got %v next %q, want %v next %q", ids(got), next, tc.want, tc.next)
			}
		})
	}
}

func TestFromQuery(t *testing.T) {
	cases := []struct {
		name    string
		query   string
		want    Options
		invalid bool
	}{
		{name: "empty", query: ""},
		{name: "all", query: "filter=ID+%3D%3D+%22a%22&per_page=5&next_token=b&reverse=true",
			want: Options{Filter: `ID == "a"`, PerPage: 5, NextToken: "b", Reverse: true}},
		{name: "bad per_page", query: "per_page=x", invalid: true},
		{name: "negative per_page", query: "per_page=-1", invalid: true},
		{name: "bad reverse", query: "reverse=maybe", invalid: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := url.ParseQuery(tc.query)
			got, err := FromQuery(q)
			if tc.invalid != (err != nil) {
				t.Fatalf("error %v, invalid %v", err, tc.invalid)
			}
			if !tc.invalid && got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
