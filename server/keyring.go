package server

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-uuid"

	"github.com/roam-project/roam/structs"
)

// errUnknownKey is a sealed variable whose key the cluster does not hold.
var errUnknownKey = errors.New("keyring key not found")

// KEK is a key-encryption key from a `keyring "aead"` block of the agent
// configuration. The active one wraps new root keys; the others only
// unwrap keys wrapped before (rotation of the KEK). Every server must be
// given the same KEKs, since every server unwraps every key.
type KEK struct {
	Name   string
	Key    []byte
	Active bool
}

// keyring holds the root keys that seal variables' items. A key is made
// by the leader and committed through Raft wrapped with a KEK, so every
// server holds every key before any variable sealed with it exists, and a
// restarted server has them all again from its Raft log and snapshot. It
// is unwrapped on first use and kept in memory.
//
// Without a configured KEK, each key is wrapped with its own random KEK
// kept beside it, as Nomad's default "aead" keyring does: that protects
// the key against casual reads of raft.db or a snapshot, not against
// someone who reads them with intent.
type keyring struct {
	mu sync.Mutex
	// keks are the configured KEKs by fingerprint; active is the
	// fingerprint of the one that wraps new keys ("" for none).
	keks   map[string][]byte
	active string
	// keys are unwrapped root keys by ID; signers their signing keys.
	keys    map[string][]byte
	signers map[string]*rsa.PrivateKey
	// spare delivers a signing key made ahead (prepareSigner); nil when
	// none is on its way.
	spare chan *rsa.PrivateKey
	// legacyDir holds keys an earlier Roam kept in the clear, one file
	// each; legacy lists those loaded, which the leader moves into Raft.
	legacyDir string
	legacy    map[string]bool
}

// newKeyring builds a keyring with the configured KEKs, loading the
// legacy key files under legacyDir (empty: none).
func newKeyring(keks []KEK, legacyDir string) (*keyring, error) {
	k := &keyring{keks: map[string][]byte{}, keys: map[string][]byte{}, signers: map[string]*rsa.PrivateKey{}, legacyDir: legacyDir, legacy: map[string]bool{}}
	for _, kek := range keks {
		if len(kek.Key) != 32 {
			return nil, fmt.Errorf("keyring %q: the key-encryption key must be 32 bytes, got %d", kek.Name, len(kek.Key))
		}
		fp := kekFingerprint(kek.Key)
		k.keks[fp] = kek.Key
		if kek.Active {
			if k.active != "" {
				return nil, fmt.Errorf("keyring %q: only one keyring block may be active", kek.Name)
			}
			k.active = fp
		}
	}
	if len(keks) > 0 && k.active == "" {
		return nil, errors.New("keyring: one keyring block must be active")
	}
	if err := k.loadLegacy(); err != nil {
		return nil, err
	}
	return k, nil
}

// legacyKeyFile is a key as an earlier Roam stored it, in the clear.
type legacyKeyFile struct {
	KeyID string
	Key   []byte
}

func (k *keyring) loadLegacy() error {
	if k.legacyDir == "" {
		return nil
	}
	files, err := filepath.Glob(filepath.Join(k.legacyDir, "*.key.json"))
	if err != nil {
		return fmt.Errorf("list keystore %s: %w", k.legacyDir, err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read key %s: %w", f, err)
		}
		var kf legacyKeyFile
		if err := json.Unmarshal(raw, &kf); err != nil || len(kf.Key) != 32 || kf.KeyID == "" {
			return fmt.Errorf("key file %s is not a 32-byte key: %v", f, err)
		}
		k.keys[kf.KeyID] = kf.Key
		k.legacy[kf.KeyID] = true
	}
	return nil
}

// legacyKeystoreDir is where an earlier Roam kept its keys in the clear.
func legacyKeystoreDir(dataDir string) string {
	if dataDir == "" {
		return ""
	}
	return filepath.Join(dataDir, "server", "keystore")
}

// kekFingerprint names a KEK without revealing it.
func kekFingerprint(kek []byte) string {
	sum := sha256.Sum256(append([]byte("roam-kek\x00"), kek...))
	return hex.EncodeToString(sum[:8])
}

// generate makes a new root key, wrapped for Raft, and its material: the
// AES key that seals variables and the RSA key that signs identities.
func (k *keyring) generate(now time.Time) (*structs.RootKey, []byte, *rsa.PrivateKey, error) {
	id, err := uuid.GenerateUUID()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("generate key id: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, nil, nil, fmt.Errorf("generate key: %w", err)
	}
	signer, err := k.newSigner()
	if err != nil {
		return nil, nil, nil, err
	}
	rk, err := k.wrap(id, key, signer, now)
	return rk, key, signer, err
}

// wrap seals key material with the active KEK, or with a fresh one kept
// beside it when none is configured. signer is nil for legacy keys, which
// sign nothing.
func (k *keyring) wrap(id string, key []byte, signer *rsa.PrivateKey, now time.Time) (*structs.RootKey, error) {
	rk := &structs.RootKey{KeyID: id, Algorithm: structs.RootKeyAlgorithm, CreateTime: now.UnixNano()}
	kek := k.keks[k.active]
	if kek == nil {
		kek = make([]byte, 32)
		if _, err := rand.Read(kek); err != nil {
			return nil, fmt.Errorf("generate key-encryption key: %w", err)
		}
		rk.KEK = kek
	} else {
		rk.KEKID = k.active
	}
	wrapped, err := sealWith(kek, key, wrapAAD(id))
	if err != nil {
		return nil, err
	}
	rk.WrappedKey = wrapped
	if signer != nil {
		if err := wrapSigner(rk, kek, signer); err != nil {
			return nil, err
		}
	}
	return rk, nil
}

// kekOf returns the KEK that wrapped rk.
func (k *keyring) kekOf(rk *structs.RootKey) ([]byte, error) {
	if rk.KEK != nil {
		return rk.KEK, nil
	}
	if kek := k.keks[rk.KEKID]; kek != nil {
		return kek, nil
	}
	return nil, fmt.Errorf("key %s is wrapped with key-encryption key %s, which no keyring block of this server holds", rk.KeyID, rk.KEKID)
}

// unwrap returns a root key's material.
func (k *keyring) unwrap(rk *structs.RootKey) ([]byte, error) {
	kek, err := k.kekOf(rk)
	if err != nil {
		return nil, err
	}
	key, err := openWith(kek, rk.WrappedKey, wrapAAD(rk.KeyID))
	if err != nil {
		return nil, fmt.Errorf("unwrap key %s: %w", rk.KeyID, err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("unwrap key %s: want 32 bytes, got %d", rk.KeyID, len(key))
	}
	return key, nil
}

// wrapAAD binds wrapped key material to its key ID.
func wrapAAD(id string) []byte { return []byte("roam-root-key\x00" + id) }

// cached returns an unwrapped key.
func (k *keyring) cached(id string) ([]byte, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key, ok := k.keys[id]
	return key, ok
}

// remember keeps an unwrapped key.
func (k *keyring) remember(id string, key []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys[id] = key
}

// legacyKeys returns the legacy keys still to move into Raft.
func (k *keyring) legacyKeys() map[string][]byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := map[string][]byte{}
	for id := range k.legacy {
		out[id] = k.keys[id]
	}
	return out
}

// legacyMoved deletes a legacy key's file once Raft holds the key.
func (k *keyring) legacyMoved(id string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.legacy, id)
	err := os.Remove(filepath.Join(k.legacyDir, id+".key.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// sealWith encrypts plaintext with key; the additional data binds the
// ciphertext to where it is stored. The result is nonce || ciphertext.
func sealWith(key, plaintext, aad []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("generate nonce: %w", err)
	}
	return aead.Seal(nonce, nonce, plaintext, aad), nil
}

// openWith decrypts what sealWith produced.
func openWith(key, sealed, aad []byte) ([]byte, error) {
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
		return nil, fmt.Errorf("decrypt: %w", err)
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
