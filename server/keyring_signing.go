package server

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/roam-project/roam/identity"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// signingKeyBits is the size of the RSA keys that sign workload
// identities, as Nomad's.
const signingKeyBits = 2048

// errNoSigningKey is a root key made before Roam signed identities.
var errNoSigningKey = errors.New("root key has no signing key")

// wrapSigner seals signer's private key with kek into rk, and keeps its
// public key beside it in the clear.
func wrapSigner(rk *structs.RootKey, kek []byte, signer *rsa.PrivateKey) error {
	priv, err := x509.MarshalPKCS8PrivateKey(signer)
	if err != nil {
		return fmt.Errorf("encode signing key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&signer.PublicKey)
	if err != nil {
		return fmt.Errorf("encode public key: %w", err)
	}
	wrapped, err := sealWith(kek, priv, signingAAD(rk.KeyID))
	if err != nil {
		return err
	}
	rk.WrappedSigningKey, rk.PublicKey = wrapped, pub
	return nil
}

// signingAAD binds a wrapped signing key to its key ID.
func signingAAD(id string) []byte { return []byte("roam-signing-key\x00" + id) }

// unwrapSigner returns a root key's signing key.
func (k *keyring) unwrapSigner(rk *structs.RootKey) (*rsa.PrivateKey, error) {
	if len(rk.WrappedSigningKey) == 0 {
		return nil, fmt.Errorf("key %s: %w", rk.KeyID, errNoSigningKey)
	}
	kek, err := k.kekOf(rk)
	if err != nil {
		return nil, err
	}
	der, err := openWith(kek, rk.WrappedSigningKey, signingAAD(rk.KeyID))
	if err != nil {
		return nil, fmt.Errorf("unwrap signing key %s: %w", rk.KeyID, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", rk.KeyID, err)
	}
	signer, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key %s is not an RSA key", rk.KeyID)
	}
	return signer, nil
}

// prepareSigner starts making the signing key of the next root key in
// the background.
func (k *keyring) prepareSigner() {
	ch := make(chan *rsa.PrivateKey, 1)
	k.mu.Lock()
	k.spare = ch
	k.mu.Unlock()
	go func() {
		key, err := rsa.GenerateKey(rand.Reader, signingKeyBits)
		if err != nil {
			key = nil
		}
		ch <- key
	}()
}

// newSigner returns a new signing key: the one prepareSigner made (waiting
// for it), else a fresh one.
func (k *keyring) newSigner() (*rsa.PrivateKey, error) {
	k.mu.Lock()
	ch := k.spare
	k.spare = nil
	k.mu.Unlock()
	if ch != nil {
		if key := <-ch; key != nil {
			return key, nil
		}
	}
	key, err := rsa.GenerateKey(rand.Reader, signingKeyBits)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	return key, nil
}

// cachedSigner returns an unwrapped signing key.
func (k *keyring) cachedSigner(id string) (*rsa.PrivateKey, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	signer, ok := k.signers[id]
	return signer, ok
}

// rememberSigner keeps an unwrapped signing key.
func (k *keyring) rememberSigner(id string, signer *rsa.PrivateKey) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.signers[id] = signer
}

// publicKey parses a root key's public signing key.
func publicKey(rk *structs.RootKey) (*rsa.PublicKey, error) {
	if len(rk.PublicKey) == 0 {
		return nil, fmt.Errorf("key %s: %w", rk.KeyID, errNoSigningKey)
	}
	parsed, err := x509.ParsePKIXPublicKey(rk.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", rk.KeyID, err)
	}
	pub, ok := parsed.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key %s is not an RSA key", rk.KeyID)
	}
	return pub, nil
}

// PublicSigningKeys returns the public keys that verify workload
// identities (every root key that has one, oldest first) and the index of
// the keyring they are as of: what /.well-known/jwks.json serves.
func (s *Server) PublicSigningKeys(snap *state.Snapshot) ([]identity.PublicKey, uint64, error) {
	keys, err := snap.RootKeys()
	if err != nil {
		return nil, 0, err
	}
	var out []identity.PublicKey
	for _, rk := range keys {
		if len(rk.PublicKey) == 0 {
			continue
		}
		pub, err := publicKey(rk)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, identity.PublicKey{KeyID: rk.KeyID, Key: pub, CreateTime: rk.CreateTime})
	}
	return out, snap.RootKeysIndex(), nil
}

// OIDCIssuer is the issuer of workload identities (server.oidc_issuer),
// empty when none is configured.
func (s *Server) OIDCIssuer() string { return s.config.OIDCIssuer }
