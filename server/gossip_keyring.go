package server

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"
)

// serfKeyringFile is where a server keeps its gossip keyring, as Nomad:
// a JSON list of base64 keys, the primary first.
func serfKeyringFile(dataDir string) string {
	if dataDir == "" {
		return ""
	}
	return filepath.Join(dataDir, "server", "serf.keyring")
}

// setupGossipKeyring gives Serf its encryption keyring: the persisted
// keyring file when there is one (keys installed since start survive a
// restart), else the configured key, which is then persisted.
func (s *Server) setupGossipKeyring(conf *serf.Config) error {
	path := serfKeyringFile(s.config.DataDir)
	conf.KeyringFile = path
	if path != "" {
		keys, err := readKeyringFile(path)
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			ring, err := memberlist.NewKeyring(keys, keys[0])
			if err != nil {
				return fmt.Errorf("gossip keyring %s: %w", path, err)
			}
			conf.MemberlistConfig.Keyring = ring
			if len(s.config.EncryptKey) > 0 {
				s.logger.Info("using the persisted gossip keyring; server.encrypt only seeds a new one", "file", path)
			}
			return nil
		}
	}
	if len(s.config.EncryptKey) == 0 {
		return nil
	}
	ring, err := memberlist.NewKeyring(nil, s.config.EncryptKey)
	if err != nil {
		return fmt.Errorf("server.encrypt: %w", err)
	}
	conf.MemberlistConfig.Keyring = ring
	if path == "" {
		return nil
	}
	return writeKeyringFile(path, [][]byte{s.config.EncryptKey})
}

func readKeyringFile(path string) ([][]byte, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read gossip keyring: %w", err)
	}
	var encoded []string
	if err := json.Unmarshal(raw, &encoded); err != nil {
		return nil, fmt.Errorf("gossip keyring %s: %w", path, err)
	}
	keys := make([][]byte, 0, len(encoded))
	for _, e := range encoded {
		k, err := base64.StdEncoding.DecodeString(e)
		if err != nil {
			return nil, fmt.Errorf("gossip keyring %s: %w", path, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func writeKeyringFile(path string, keys [][]byte) error {
	encoded := make([]string, len(keys))
	for i, k := range keys {
		encoded[i] = base64.StdEncoding.EncodeToString(k)
	}
	raw, err := json.Marshal(encoded)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write gossip keyring: %w", err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		return fmt.Errorf("write gossip keyring: %w", err)
	}
	return nil
}

// KeyringResponse is the outcome of a gossip keyring operation across the
// servers, in the API's shape.
type KeyringResponse struct {
	Messages map[string]string
	Keys     map[string]int
	NumNodes int
}

// GossipKeyring runs a keyring operation ("list", "install", "use",
// "remove") on every server's gossip keyring.
func (s *Server) GossipKeyring(op, key string) (*KeyringResponse, error) {
	if s.serf == nil {
		return nil, fmt.Errorf("%w: gossip is disabled on this server", ErrInvalid)
	}
	if !s.serf.EncryptionEnabled() {
		return nil, fmt.Errorf("%w: gossip encryption is not enabled (set server.encrypt)", ErrInvalid)
	}
	km := s.serf.KeyManager()
	var resp *serf.KeyResponse
	var err error
	switch op {
	case "list":
		resp, err = km.ListKeys()
	case "install":
		resp, err = km.InstallKey(key)
	case "use":
		resp, err = km.UseKey(key)
	case "remove":
		resp, err = km.RemoveKey(key)
	default:
		return nil, fmt.Errorf("%w: unknown keyring operation %q", ErrInvalid, op)
	}
	if resp == nil {
		return nil, err
	}
	out := &KeyringResponse{Messages: resp.Messages, Keys: resp.Keys, NumNodes: resp.NumNodes}
	if err != nil {
		return out, fmt.Errorf("%d/%d nodes reported failure: %w", resp.NumErr, resp.NumNodes, err)
	}
	return out, nil
}
