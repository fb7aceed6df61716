package server

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-project/roam/structs"
)

func testKEK(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestKeyringWrapsRootKeys(t *testing.T) {
	cases := []struct {
		name string
		// wrapWith wraps the key; unwrapWith unwraps it (another server,
		// or this one after a KEK rotation).
		wrapWith, unwrapWith []KEK
		wantKEKBeside        bool
		wantErr              string
	}{
		{name: "no keyring block: own KEK beside the key", wantKEKBeside: true},
		{name: "configured KEK", wrapWith: []KEK{{Name: "a", Key: testKEK(1), Active: true}},
			unwrapWith: []KEK{{Name: "a", Key: testKEK(1), Active: true}}},
		{name: "rotated KEK: the old one inactive still unwraps",
			wrapWith:   []KEK{{Name: "old", Key: testKEK(1), Active: true}},
			unwrapWith: []KEK{{Name: "new", Key: testKEK(2), Active: true}, {Name: "old", Key: testKEK(1)}}},
		{name: "server without the KEK refuses with its fingerprint",
			wrapWith:   []KEK{{Name: "a", Key: testKEK(1), Active: true}},
			unwrapWith: []KEK{{Name: "b", Key: testKEK(2), Active: true}},
			wantErr:    "wrapped with key-encryption key " + kekFingerprint(testKEK(1))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wrapper, err := newKeyring(tc.wrapWith, "")
			if err != nil {
				t.Fatal(err)
			}
			rk, key, signer, err := wrapper.generate(time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(rk.WrappedKey, key) {
				t.Fatal("wrapped key holds the key material in the clear")
			}
			if der, _ := x509.MarshalPKCS8PrivateKey(signer); bytes.Contains(rk.WrappedSigningKey, der[len(der)-64:]) {
				t.Fatal("wrapped signing key holds the private key in the clear")
			}
			if got := rk.KEK != nil; got != tc.wantKEKBeside {
				t.Fatalf("KEK beside the key = %v, want %v", got, tc.wantKEKBeside)
			}
			unwrapper, err := newKeyring(tc.unwrapWith, "")
			if err != nil {
				t.Fatal(err)
			}
			got, err := unwrapper.unwrap(rk)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("unwrap error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(got, key) {
				t.Fatalf("unwrap = %x, %v; want %x", got, err, key)
			}
			gotSigner, err := unwrapper.unwrapSigner(rk)
			if err != nil || !gotSigner.Equal(signer) {
				t.Fatalf("unwrap signing key: %v (equal %v)", err, err == nil && gotSigner.Equal(signer))
			}
			if pub, err := publicKey(rk); err != nil || !pub.Equal(&signer.PublicKey) {
				t.Fatalf("public key: %v", err)
			}
			moved := *rk
			moved.KeyID = "another"
			if _, err := unwrapper.unwrap(&moved); err == nil {
				t.Fatal("wrapped material unwrapped under another key ID")
			}
			if _, err := unwrapper.unwrapSigner(&moved); err == nil {
				t.Fatal("wrapped signing key unwrapped under another key ID")
			}
		})
	}
}

func TestNewKeyringRejectsBadKEKs(t *testing.T) {
	cases := []struct {
		name string
		keks []KEK
		want string
	}{
		{"short key", []KEK{{Name: "a", Key: []byte("short"), Active: true}}, "must be 32 bytes"},
		{"two active", []KEK{{Name: "a", Key: testKEK(1), Active: true}, {Name: "b", Key: testKEK(2), Active: true}}, "only one keyring block may be active"},
		{"none active", []KEK{{Name: "a", Key: testKEK(1)}}, "one keyring block must be active"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := newKeyring(tc.keks, ""); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestSealedItemsRejectTampering(t *testing.T) {
	key := testKEK(7)
	sealed, err := sealWith(key, []byte(`{"a":"b"}`), varAAD("default", "app/db"))
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte{}, sealed...)
	flipped[len(flipped)-1] ^= 1
	cases := []struct {
		name   string
		key    []byte
		sealed []byte
		aad    []byte
	}{
		{"flipped bit", key, flipped, varAAD("default", "app/db")},
		{"moved to another path", key, sealed, varAAD("default", "app/web")},
		{"another key", testKEK(8), sealed, varAAD("default", "app/db")},
		{"truncated", key, sealed[:4], varAAD("default", "app/db")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := openWith(tc.key, tc.sealed, tc.aad); err == nil {
				t.Fatal("opened tampered data")
			}
		})
	}
	if plain, err := openWith(key, sealed, varAAD("default", "app/db")); err != nil || string(plain) != `{"a":"b"}` {
		t.Fatalf("open = %q, %v", plain, err)
	}
}

// TestRootKeysAtRestAreWrapped writes a variable on a server with a data
// dir and checks that no file under it holds the root key in the clear,
// raw or base64, and that a restart still opens the variable.
func TestRootKeysAtRestAreWrapped(t *testing.T) {
	cases := []struct {
		name string
		keks []KEK
	}{
		{"no keyring block", nil},
		{"configured KEK", []KEK{{Name: "main", Key: testKEK(3), Active: true}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			addr := freeAddr(t)
			start := func() *Server {
				s, err := New(Config{
					NodeName: "vars.global", Region: "global", Datacenter: "dc1", DataDir: dir,
					RPCAddr: addr, NumSchedulers: 1, KEKs: tc.keks, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				})
				if err != nil {
					t.Fatal(err)
				}
				waitFor(t, "leadership", func() bool { return s.IsLeader() })
				return s
			}
			s := start()
			created := putVar(t, s, structs.VarOpSet, 0, "app/db", map[string]string{"password": "hunter2"})
			if err := s.raft.Snapshot().Error(); err != nil {
				t.Fatalf("take raft snapshot: %v", err)
			}
			v, _ := s.State().Snapshot().VarGet("default", "app/db")
			key, err := s.rootKey(v.KeyID)
			if err != nil {
				t.Fatal(err)
			}
			s.Shutdown()

			files := 0
			err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				raw, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				files++
				if bytes.Contains(raw, key) || bytes.Contains(raw, []byte(base64.StdEncoding.EncodeToString(key))) {
					t.Errorf("%s holds the root key in the clear", path)
				}
				return nil
			})
			if err != nil || files == 0 {
				t.Fatalf("walk data dir: %d files, %v", files, err)
			}

			s = start()
			defer s.Shutdown()
			waitFor(t, "state replayed", func() bool {
				v, _ := s.State().Snapshot().VarGet("default", "app/db")
				return v != nil
			})
			v, _ = s.State().Snapshot().VarGet("default", "app/db")
			opened, err := s.OpenVar(v)
			if err != nil {
				t.Fatal(err)
			}
			if opened.Items["password"] != "hunter2" || opened.ModifyIndex != created.Output.ModifyIndex {
				t.Fatalf("variable after restart = %+v", opened)
			}
		})
	}
}

// TestLegacyKeystoreMovesIntoRaft starts a server on a data dir holding a
// key the way an earlier Roam kept it (in the clear, in keystore/): the
// leader commits it through Raft, wrapped, and deletes the file.
func TestLegacyKeystoreMovesIntoRaft(t *testing.T) {
	dir := t.TempDir()
	keystore := legacyKeystoreDir(dir)
	if err := os.MkdirAll(keystore, 0o700); err != nil {
		t.Fatal(err)
	}
	legacy := testKEK(9)
	raw := []byte(`{"KeyID":"0123abcd","Key":"` + base64.StdEncoding.EncodeToString(legacy) + `"}`)
	if err := os.WriteFile(filepath.Join(keystore, "0123abcd.key.json"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{
		NodeName: "legacy.global", Region: "global", Datacenter: "dc1", DataDir: dir,
		RPCAddr: freeAddr(t), NumSchedulers: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	waitFor(t, "legacy key in raft", func() bool {
		rk, _ := s.State().Snapshot().RootKey("0123abcd")
		return rk != nil
	})
	rk, _ := s.State().Snapshot().RootKey("0123abcd")
	if got, err := s.keys.unwrap(rk); err != nil || !bytes.Equal(got, legacy) {
		t.Fatalf("unwrapped legacy key = %x, %v", got, err)
	}
	waitFor(t, "legacy key file removed", func() bool {
		_, err := os.Stat(filepath.Join(keystore, "0123abcd.key.json"))
		return errors.Is(err, os.ErrNotExist)
	})
}
