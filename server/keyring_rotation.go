package server

import (
	"context"
	"time"

	"github.com/roam-project/roam/structs"
)

// DefaultRootKeyRotation is how old the active root key gets
// before the leader rotates it, as Nomad's root_key_rotation_threshold.
const DefaultRootKeyRotation = 30 * 24 * time.Hour

// runKeyRotation, on the leader, makes a new active root key whenever the
// active one is older than the rotation threshold. Older keys stay: they
// open the variables and verify the identities sealed and signed with
// them until an operator removes them.
func (s *Server) runKeyRotation(ctx context.Context) {
	threshold := s.config.RootKeyRotation
	if threshold <= 0 {
		threshold = DefaultRootKeyRotation
	}
	t := time.NewTicker(min(max(threshold/10, time.Second), time.Hour))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if !s.activeKeyOlderThan(threshold) {
				continue
			}
			if reply, err := s.RotateRootKey(&structs.KeyringRotateArgs{}); err != nil {
				s.logger.Warn("keyring: scheduled rotation", "error", err)
			} else {
				s.logger.Info("keyring: rotated the root key", "key_id", reply.Key.KeyID, "threshold", threshold)
			}
		}
	}
}

// activeKeyOlderThan reports whether the active root key was made more
// than age ago.
func (s *Server) activeKeyOlderThan(age time.Duration) bool {
	keys, err := s.State().Snapshot().RootKeys()
	if err != nil || len(keys) == 0 {
		return false
	}
	return time.Since(time.Unix(0, keys[len(keys)-1].CreateTime)) > age
}
