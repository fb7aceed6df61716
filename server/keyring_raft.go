package server

import (
	"fmt"
	"time"

	"github.com/roam-project/roam/structs"
)

// rootKey returns a root key's material: from memory, or unwrapped from
// the state store.
func (s *Server) rootKey(id string) ([]byte, error) {
	if key, ok := s.keys.cached(id); ok {
		return key, nil
	}
	rk, err := s.State().Snapshot().RootKey(id)
	if err != nil {
		return nil, err
	}
	if rk == nil {
		return nil, fmt.Errorf("key %s: %w", id, errUnknownKey)
	}
	key, err := s.keys.unwrap(rk)
	if err != nil {
		return nil, err
	}
	s.keys.remember(id, key)
	return key, nil
}

// activeRootKey returns the key to seal with on the leader: the newest
// root key, or a new one committed through Raft when there is none yet.
func (s *Server) activeRootKey() (string, []byte, error) {
	if id, ok, err := s.newestRootKey(); err != nil || ok {
		if err != nil {
			return "", nil, err
		}
		key, err := s.rootKey(id)
		return id, key, err
	}
	s.keyGenMu.Lock()
	defer s.keyGenMu.Unlock()
	if id, ok, err := s.newestRootKey(); err != nil || ok {
		if err != nil {
			return "", nil, err
		}
		key, err := s.rootKey(id)
		return id, key, err
	}
	rk, err := s.newRootKey()
	if err != nil {
		return "", nil, err
	}
	key, err := s.rootKey(rk.KeyID)
	return rk.KeyID, key, err
}

// newRootKey makes a root key (an AES key and a signing key) on the
// leader and commits it through Raft; it becomes the active key.
func (s *Server) newRootKey() (*structs.RootKey, error) {
	rk, key, signer, err := s.keys.generate(time.Now())
	if err != nil {
		return nil, err
	}
	if _, err := s.raftApply(structs.RootKeyUpsertRequestType, &structs.RootKeyUpsertRequest{Key: rk}); err != nil {
		return nil, err
	}
	s.keys.remember(rk.KeyID, key)
	s.keys.rememberSigner(rk.KeyID, signer)
	s.logger.Info("keyring: new root key", "key_id", rk.KeyID, "kek", kekLabel(rk))
	return rk, nil
}

// ensureSigningKey, on the leader, makes a root key when the keyring has
// none that signs identities (a new cluster, or one whose keys predate
// signing), so that every task can be given an identity.
func (s *Server) ensureSigningKey() {
	s.keyGenMu.Lock()
	defer s.keyGenMu.Unlock()
	keys, err := s.State().Snapshot().RootKeys()
	if err != nil {
		s.logger.Error("keyring: list root keys", "error", err)
		return
	}
	if len(keys) > 0 && len(keys[len(keys)-1].WrappedSigningKey) > 0 {
		return
	}
	if _, err := s.newRootKey(); err != nil {
		s.logger.Error("keyring: make the first signing key", "error", err)
	}
}

// newestRootKey names the newest root key in the state store.
func (s *Server) newestRootKey() (string, bool, error) {
	keys, err := s.State().Snapshot().RootKeys()
	if err != nil || len(keys) == 0 {
		return "", false, err
	}
	return keys[len(keys)-1].KeyID, true, nil
}

// migrateLegacyKeys, on the leader, commits through Raft the keys an
// earlier Roam kept in the clear in this server's keystore directory, then
// deletes their files.
func (s *Server) migrateLegacyKeys() {
	for id, key := range s.keys.legacyKeys() {
		if rk, err := s.State().Snapshot().RootKey(id); err == nil && rk == nil {
			wrapped, err := s.keys.wrap(id, key, nil, time.Now())
			if err == nil {
				_, err = s.raftApply(structs.RootKeyUpsertRequestType, &structs.RootKeyUpsertRequest{Key: wrapped})
			}
			if err != nil {
				s.logger.Error("keyring: move legacy key into raft", "key_id", id, "error", err)
				continue
			}
		}
		if err := s.keys.legacyMoved(id); err != nil {
			s.logger.Warn("keyring: remove legacy key file", "key_id", id, "error", err)
		}
		s.logger.Info("keyring: legacy key moved into raft", "key_id", id)
	}
}

// kekLabel says what wraps a root key, for logs.
func kekLabel(rk *structs.RootKey) string {
	if rk.KEKID == "" {
		return "own (no keyring block configured)"
	}
	return rk.KEKID
}
