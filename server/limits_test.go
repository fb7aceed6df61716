package server

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// TestJobLimits registers jobs against a server with small configured
// limits: counts and priorities beyond them are refused as invalid, and a
// source beyond job_max_source_size is dropped with a warning while the
// job is registered.
func TestJobLimits(t *testing.T) {
	s, err := New(Config{
		NodeName: "limits.global", Region: "global", Datacenter: "dc1", NumSchedulers: 1,
		JobLimits: JobLimits{MaxCount: 10, MaxPriority: 200, MaxSourceSize: 100},
		Logger:    slog.New(slog.NewTextHandler(testLogOutput(), nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	waitFor(t, "leadership", s.IsLeader)
	cases := []struct {
		name       string
		count      int
		priority   int
		source     string
		wantErr    string
		wantWarn   string
		wantStored bool
	}{
		{name: "within the limits", count: 10, priority: 200, source: "job {}", wantStored: true},
		{name: "count over job_max_count", count: 11, priority: 50, wantErr: "count 11 (canaries 0) exceeds the server's job_max_count of 10"},
		{name: "priority over job_max_priority", count: 1, priority: 201, wantErr: "Job priority must be between [1, 200]; got 201"},
		{name: "zero priority", count: 1, priority: 0, wantErr: "Job priority must be between [1, 200]; got 0"},
		{name: "source over job_max_source_size", count: 1, priority: 50, source: strings.Repeat("#", 101),
			wantWarn: "Job source of 101 bytes exceeds the server's job_max_source_size of 100 bytes and was not stored"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job := testJob("limited", tc.count, 64)
			job.Priority = &tc.priority
			args := &structs.JobRegisterArgs{Job: job}
			if tc.source != "" {
				args.Submission = &api.JobSubmission{Source: tc.source, Format: "hcl2"}
			}
			res, err := s.RegisterJob(args)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want ErrInvalid with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Warnings != tc.wantWarn {
				t.Fatalf("warnings = %q, want %q", res.Warnings, tc.wantWarn)
			}
			stored, err := s.State().Snapshot().JobByID("default", "limited")
			if err != nil || stored == nil {
				t.Fatalf("job not stored: %v", err)
			}
			sub, err := s.State().Snapshot().JobSubmission("default", "limited", *stored.Version)
			if err != nil {
				t.Fatal(err)
			}
			if (sub != nil) != tc.wantStored {
				t.Fatalf("source stored = %v, want %v", sub != nil, tc.wantStored)
			}
		})
	}
}
