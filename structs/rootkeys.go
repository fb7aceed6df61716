package structs

import "github.com/hashicorp/nomad/api"

// RootKey is a keyring key as Raft and the state store keep it: the key
// material (a 256-bit AES key that seals variables, and an RSA key that
// signs workload identities) wrapped with a key-encryption key (KEK), so
// that every server holds every key and none holds it in the clear.
type RootKey struct {
	KeyID       string
	Algorithm   string
	CreateIndex uint64
	CreateTime  int64
	// WrappedKey is the key material sealed with AES-256-GCM under the
	// KEK (nonce first), bound to KeyID.
	WrappedKey []byte
	// KEKID is the fingerprint of the configured KEK that wrapped the
	// key (a `keyring "aead"` block's key); empty when the KEK is kept
	// beside it in KEK.
	KEKID string
	// KEK is the key's own random KEK, kept beside it when no KEK is
	// configured, as Nomad's default "aead" keyring does: it protects the
	// key against casual reads only.
	KEK []byte `json:",omitempty"`
	// WrappedSigningKey is the RSA private key that signs workload
	// identities (PKCS #8 DER), sealed like WrappedKey; PublicKey is its
	// public half (PKIX DER), served in the clear at
	// /.well-known/jwks.json. Both are empty for keys made before Roam
	// signed identities.
	WrappedSigningKey []byte `json:",omitempty"`
	PublicKey         []byte `json:",omitempty"`
}

// SigningAlgorithm is the JWS algorithm of root keys' signing keys, as
// Nomad's: RSA 2048 with SHA-256.
const SigningAlgorithm = "RS256"

// RootKeyAlgorithm is the only algorithm root keys use.
const RootKeyAlgorithm = "aes256-gcm"

// RootKeyUpsertRequest is the Raft entry that adds a key to the keyring.
type RootKeyUpsertRequest struct {
	Key *RootKey
}

// RootKeyDeleteRequest is the Raft entry that removes a key.
type RootKeyDeleteRequest struct {
	KeyID string
}

// KeyringRotateArgs asks the leader for a new active root key; Full also
// re-encrypts every variable with it.
type KeyringRotateArgs struct {
	Full bool
	WriteRequest
}

// KeyringDeleteArgs asks the leader to remove a root key; Force removes
// one that variables are still sealed with.
type KeyringDeleteArgs struct {
	KeyID string
	Force bool
	WriteRequest
}

// KeyringReply is the outcome of a keyring write: the new key's metadata,
// never its material.
type KeyringReply struct {
	Key   *api.RootKeyMeta
	Index uint64
}
