package rpcservers

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// secretIDFile holds the node's SecretID in the client's state dir,
// readable by its owner only.
const secretIDFile = "secret-id"

// LoadSecretID reads the node's SecretID from stateDir, generating and
// persisting one on first start. The servers record it at the node's
// first registration and check it on every call after.
func LoadSecretID(stateDir string) (string, error) {
	path := filepath.Join(stateDir, secretIDFile)
	data, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(data))) > 0 {
		return strings.TrimSpace(string(data)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read node SecretID: %w", err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate node SecretID: %w", err)
	}
	secret := hex.EncodeToString(b)
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return "", fmt.Errorf("persist node SecretID: %w", err)
	}
	if err := os.WriteFile(path, []byte(secret), 0o600); err != nil {
		return "", fmt.Errorf("persist node SecretID: %w", err)
	}
	return secret, nil
}
