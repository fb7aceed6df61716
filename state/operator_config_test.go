package state

import (
	"bytes"
	"errors"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// TestSchedulerConfigCAS sets the scheduler configuration plainly and
// with check-and-set, and reads it back from a persisted snapshot.
func TestSchedulerConfigCAS(t *testing.T) {
	s := mustStore(t)
	if cfg, _ := s.Snapshot().SchedulerConfig(); cfg.SchedulerAlgorithm != api.SchedulerAlgorithmBinpack || cfg.ModifyIndex != 0 {
		t.Fatalf("default = %+v", cfg)
	}
	steps := []struct {
		name    string
		index   uint64
		config  api.SchedulerConfiguration
		cas     bool
		refused bool
	}{
		{name: "CAS 0 before any is stored", index: 10, config: api.SchedulerConfiguration{SchedulerAlgorithm: api.SchedulerAlgorithmSpread}, cas: true},
		{name: "stale CAS", index: 11, config: api.SchedulerConfiguration{PauseEvalBroker: true, ModifyIndex: 9}, cas: true, refused: true},
		{name: "current CAS", index: 12, config: api.SchedulerConfiguration{PauseEvalBroker: true, ModifyIndex: 10}, cas: true},
		{name: "plain write ignores the index", index: 13, config: api.SchedulerConfiguration{RejectJobRegistration: true, ModifyIndex: 1}},
	}
	for _, st := range steps {
		err := s.SetSchedulerConfig(st.index, &structs.SchedulerConfigRequest{Config: &st.config, CAS: st.cas})
		if st.refused != errors.Is(err, ErrCASConflict) || (!st.refused && err != nil) {
			t.Fatalf("%s: error %v", st.name, err)
		}
	}
	var buf bytes.Buffer
	if err := s.Snapshot().Persist(&buf); err != nil {
		t.Fatal(err)
	}
	restored, err := Restore(&buf)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := restored.Snapshot().SchedulerConfig()
	if !cfg.RejectJobRegistration || cfg.PauseEvalBroker || cfg.SchedulerAlgorithm != api.SchedulerAlgorithmBinpack ||
		cfg.CreateIndex != 10 || cfg.ModifyIndex != 13 {
		t.Fatalf("restored = %+v", cfg)
	}
}
