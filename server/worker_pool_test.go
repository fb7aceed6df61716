package server

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// TestSetSchedulerWorkers: the worker set is replaced at run time, bad
// configurations are refused and leave it as it was.
func TestSetSchedulerWorkers(t *testing.T) {
	s := testServer(t, time.Minute)
	tests := []struct {
		name    string
		config  WorkerConfig
		wantErr bool
		wantNum int
	}{
		{name: "fewer workers, fewer schedulers", config: WorkerConfig{NumSchedulers: 1, EnabledSchedulers: []string{"_core", "batch"}}, wantNum: 1},
		{name: "no workers", config: WorkerConfig{NumSchedulers: 0, EnabledSchedulers: []string{"_core"}}, wantNum: 0},
		{name: "a negative count", config: WorkerConfig{NumSchedulers: -1, EnabledSchedulers: []string{"_core"}}, wantErr: true, wantNum: 0},
		{name: "without _core", config: WorkerConfig{NumSchedulers: 1, EnabledSchedulers: []string{"service"}}, wantErr: true, wantNum: 0},
		{name: "an unknown scheduler", config: WorkerConfig{NumSchedulers: 1, EnabledSchedulers: []string{"_core", "gpu"}}, wantErr: true, wantNum: 0},
		{name: "all of them again", config: WorkerConfig{NumSchedulers: 2, EnabledSchedulers: allSchedulers}, wantNum: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.SetSchedulerWorkers(tc.config)
			if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, ErrInvalid)) {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			info := s.SchedulerWorkersInfo()
			if len(info) != tc.wantNum || s.SchedulerWorkers().NumSchedulers != tc.wantNum {
				t.Fatalf("%d workers running, config %+v; want %d", len(info), s.SchedulerWorkers(), tc.wantNum)
			}
			if !tc.wantErr && len(info) > 0 && !slices.Equal(info[0].EnabledSchedulers, tc.config.EnabledSchedulers) {
				t.Fatalf("worker schedules %v, want %v", info[0].EnabledSchedulers, tc.config.EnabledSchedulers)
			}
		})
	}
}
