package server

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

func parameterizedJob(id, payload string, required, optional []string) *api.Job {
	return batchJob(id, func(j *api.Job) {
		j.Meta = map[string]string{"owner": "ops"}
		j.ParameterizedJob = &api.ParameterizedJobConfig{Payload: payload, MetaRequired: required, MetaOptional: optional}
		j.TaskGroups[0].Tasks[0].DispatchPayload = &api.DispatchPayloadConfig{File: "input.json"}
	})
}

func TestDispatchValidation(t *testing.T) {
	s := testServer(t, time.Minute)
	for _, j := range []*api.Job{
		parameterizedJob("needs-input", "required", []string{"customer"}, []string{"region"}),
		parameterizedJob("no-input", "forbidden", nil, nil),
		parameterizedJob("any-input", "optional", nil, nil),
		batchJob("plain", nil),
		parameterizedJob("stopped", "optional", nil, nil),
	} {
		mustRegister(t, s, j)
	}
	if _, _, err := s.DeregisterJob("", "default", "stopped", false); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		args    DispatchArgs
		wantErr error
		wantMsg string
	}{
		{"required meta and payload given", DispatchArgs{JobID: "needs-input", Payload: []byte("{}"), Meta: map[string]string{"customer": "acme", "region": "eu"}}, nil, ""},
		{"missing required meta", DispatchArgs{JobID: "needs-input", Payload: []byte("{}"), Meta: map[string]string{"region": "eu"}}, ErrInvalid, "Dispatch did not provide required meta keys: [customer]"},
		{"unknown meta key", DispatchArgs{JobID: "needs-input", Payload: []byte("{}"), Meta: map[string]string{"customer": "acme", "color": "red"}}, ErrInvalid, "Dispatch request included unpermitted metadata keys: [color]"},
		{"missing required payload", DispatchArgs{JobID: "needs-input", Meta: map[string]string{"customer": "acme"}}, ErrInvalid, "Payload is required"},
		{"forbidden payload", DispatchArgs{JobID: "no-input", Payload: []byte("x")}, ErrInvalid, "Payload is not allowed"},
		{"forbidden payload absent", DispatchArgs{JobID: "no-input"}, nil, ""},
		{"optional payload absent", DispatchArgs{JobID: "any-input"}, nil, ""},
		{"payload over the size limit", DispatchArgs{JobID: "any-input", Payload: bytes.Repeat([]byte("x"), DispatchPayloadSizeLimit+1)}, ErrInvalid, "Payload exceeds maximum size; 16385 > 16384"},
		{"meta on a job that permits none", DispatchArgs{JobID: "any-input", Meta: map[string]string{"k": "v"}}, ErrInvalid, "unpermitted metadata keys: [k]"},
		{"not a parameterized job", DispatchArgs{JobID: "plain"}, ErrInvalid, `Specified job "plain" is not a parameterized job`},
		{"stopped parameterized job", DispatchArgs{JobID: "stopped"}, ErrInvalid, `Specified job "stopped" is stopped`},
		{"unknown job", DispatchArgs{JobID: "nope"}, ErrNotFound, "not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.args.Namespace = "default"
			res, err := s.DispatchJob(&tc.args)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantMsg) {
					t.Fatalf("err = %v, want %v containing %q", err, tc.wantErr, tc.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.EvalID == "" || res.JobCreateIndex == 0 {
				t.Errorf("reply = %+v, want an evaluation and a create index", res)
			}
		})
	}
}

func TestDispatchedJobCarriesInputsAndIsPlaced(t *testing.T) {
	s := testServer(t, time.Minute)
	if _, err := s.RegisterNode(testNode("n1", 8192)); err != nil {
		t.Fatal(err)
	}
	mustRegister(t, s, parameterizedJob("render", "required", []string{"customer"}, nil))
	cases := []struct {
		name   string
		prefix string
		wantID *regexp.Regexp
	}{
		{"plain ID", "", regexp.MustCompile(`^render/dispatch-\d+-[0-9a-f]{8}$`)},
		{"ID prefix template", "nightly", regexp.MustCompile(`^render/dispatch-nightly-\d+-[0-9a-f]{8}$`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.DispatchJob(&DispatchArgs{Namespace: "default", JobID: "render", Payload: []byte(`{"n":1}`),
				Meta: map[string]string{"customer": "acme"}, IDPrefixTemplate: tc.prefix})
			if err != nil {
				t.Fatal(err)
			}
			if !tc.wantID.MatchString(res.DispatchedJobID) {
				t.Errorf("dispatched ID %q does not match %s", res.DispatchedJobID, tc.wantID)
			}
			child, _ := s.State().Snapshot().JobByID("default", res.DispatchedJobID)
			if child == nil {
				t.Fatal("dispatched job not stored")
			}
			switch {
			case *child.ParentID != "render" || !child.Dispatched || child.ParameterizedJob != nil:
				t.Errorf("child ParentID=%q Dispatched=%v ParameterizedJob=%v", *child.ParentID, child.Dispatched, child.ParameterizedJob)
			case string(child.Payload) != `{"n":1}`:
				t.Errorf("payload = %q", child.Payload)
			case child.Meta["customer"] != "acme" || child.Meta["owner"] != "ops":
				t.Errorf("meta = %v, want the job's merged with the dispatch's", child.Meta)
			}
			waitFor(t, "dispatched job placed", func() bool { return len(liveAllocs(t, s, res.DispatchedJobID)) == 1 })
		})
	}
	waitFor(t, "children in the parent's summary", func() bool {
		sum, _ := s.State().Snapshot().JobSummary("default", "render")
		return sum != nil && sum.Children != nil && sum.Children.Running == 2
	})
}

func TestDispatchIdempotencyTokenDispatchesOnce(t *testing.T) {
	s := testServer(t, time.Minute)
	mustRegister(t, s, parameterizedJob("once", "optional", nil, nil))
	args := &DispatchArgs{Namespace: "default", JobID: "once", IdempotencyToken: "tok-1"}
	first, err := s.DispatchJob(args)
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.DispatchJob(args)
	if err != nil {
		t.Fatal(err)
	}
	if second.DispatchedJobID != first.DispatchedJobID || second.EvalID != "" {
		t.Errorf("second dispatch = %+v, want the first instance %s and no evaluation", second, first.DispatchedJobID)
	}
	if n := len(childrenOf(t, s, "once")); n != 1 {
		t.Errorf("children = %d, want 1", n)
	}
}
