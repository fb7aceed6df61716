package server

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// errUnknownKey is a sealed variable whose key this server does not hold.
var errUnknownKey = errors.New("keyring key not found")

// keyring holds the AES-256 keys that seal variables' items. Keys live in
// files under dir (one JSON file per key, mode 0600), or only in memory
// when dir is empty (the dev agent). The first seal generates the first
// key; every server keeps the keys it generated or fetched from a peer.
type keyring struct {
	mu     sync.Mutex
	dir    string
	keys   map[string][]byte
	active string
}

// keyFile is one key as stored on disk.
type keyFile struct {
	KeyID string
	Key   []byte
}

// newKeyring loads the keys kept in dir.
func newKeyring(dir string) (*keyring, error) {
	k := &keyring{dir: dir, keys: map[string][]byte{}}
	if dir == "" {
		return k, nil
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.key.json"))
	if err != nil {
		return nil, fmt.Errorf("list keystore %s: %w", dir, err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read key %s: %w", f, err)
		}
		var kf keyFile
		if err := json.Unmarshal(raw, &kf); err != nil || len(kf.Key) != 32 {
			return nil, fmt.Errorf("key file %s is not a 32-byte key: %v", f, err)
		}
		k.keys[kf.KeyID] = kf.Key
		// The lexically last key is active: IDs are random, so any
		// deterministic choice serves.
		if kf.KeyID > k.active {
			k.active = kf.KeyID
		}
	}
	return k, nil
}

// keystoreDir is where a server with a data dir keeps its keys.
func keystoreDir(dataDir string) string {
	if dataDir == "" {
		return ""
	}
	return filepath.Join(dataDir, "server", "keystore")
}

// activeKey returns the key to seal with, generating it on first use.
func (k *keyring) activeKey() (string, []byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.active != "" {
		return k.active, k.keys[k.active], nil
	}
	idBytes := make([]byte, 16)
	key := make([]byte, 32)
	if _, err := rand.Read(idBytes); err != nil {
		return "", nil, fmt.Errorf("generate key id: %w", err)
	}
	if _, err := rand.Read(key); err != nil {
		return "", nil, fmt.Errorf("generate key: %w", err)
	}
	id := hex.EncodeToString(idBytes)
	if err := k.storeLocked(id, key); err != nil {
		return "", nil, err
	}
	k.active = id
	return id, key, nil
}

// add keeps a key fetched from a peer.
func (k *keyring) add(id string, key []byte) error {
	if len(key) != 32 {
		return fmt.Errorf("key %s: want 32 bytes, got %d", id, len(key))
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.keys[id]; ok {
		return nil
	}
	return k.storeLocked(id, key)
}

// get returns a key by ID.
func (k *keyring) get(id string) ([]byte, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key, ok := k.keys[id]
	return key, ok
}

// storeLocked writes a key to the keystore (atomically) and to memory.
func (k *keyring) storeLocked(id string, key []byte) error {
	if strings.ContainsAny(id, `/\.`) || id == "" {
		return fmt.Errorf("invalid key id %q", id)
	}
	if k.dir != "" {
		if err := os.MkdirAll(k.dir, 0o700); err != nil {
			return fmt.Errorf("create keystore: %w", err)
		}
		if err := os.Chmod(k.dir, 0o700); err != nil {
			return fmt.Errorf("set keystore permissions: %w", err)
		}
		raw, err := json.Marshal(keyFile{KeyID: id, Key: key})
		if err != nil {
			return fmt.Errorf("encode key: %w", err)
		}
		path := filepath.Join(k.dir, id+".key.json")
		if err := os.WriteFile(path+".tmp", raw, 0o600); err != nil {
			return fmt.Errorf("write key: %w", err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			return fmt.Errorf("write key: %w", err)
		}
	}
	k.keys[id] = key
	return nil
}

// seal encrypts plaintext with the active key; the additional data binds
// the ciphertext to where it is stored. The result is nonce || ciphertext.
func (k *keyring) seal(plaintext, aad []byte) (keyID string, sealed []byte, err error) {
	id, key, err := k.activeKey()
	if err != nil {
		return "", nil, err
	}
	aead, err := newAEAD(key)
	if err != nil {
		return "", nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, fmt.Errorf("generate nonce: %w", err)
	}
	return id, aead.Seal(nonce, nonce, plaintext, aad), nil
}

// open decrypts what seal produced; errUnknownKey when the key is not here.
func (k *keyring) open(keyID string, sealed, aad []byte) ([]byte, error) {
	key, ok := k.get(keyID)
	if !ok {
		return nil, fmt.Errorf("key %s: %w", keyID, errUnknownKey)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("sealed data shorter than its nonce")
	}
	nonce, body := sealed[:aead.NonceSize()], sealed[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, body, aad)
	if err != nil {
		return nil, fmt.Errorf("decrypt with key %s: %w", keyID, err)
	}
	return plain, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("aes-gcm: %w", err)
	}
	return aead, nil
}
