package server

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roam-project/roam/structs"
)

// TestDamagedRaftLog starts a server from a data dir whose raft.db was
// damaged in different ways: start-up fails with an error naming the file
// and the way to recover, never with a panic.
func TestDamagedRaftLog(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{NodeName: "damaged.global", Region: "global", Datacenter: "dc1", DataDir: dir, NumSchedulers: 1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "leadership", s.IsLeader)
	if _, err := s.RegisterJob(&structs.JobRegisterArgs{Job: testJob("kept", 1, 64)}); err != nil {
		t.Fatal(err)
	}
	s.Shutdown()
	db := filepath.Join(dir, "server", "raft", "raft.db")
	good, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	cases := []struct {
		name   string
		damage func(data []byte) []byte
	}{
		// bbolt panics reading this freelist.
		{"pages after the meta pages overwritten", func(d []byte) []byte {
			for i := 2 * page; i < len(d); i++ {
				d[i] = 0xff
			}
			return d
		}},
		{"meta pages scrambled", func(d []byte) []byte {
			for i := range 2 * page {
				d[i] ^= 0x5a
			}
			return d
		}},
		{"truncated", func(d []byte) []byte { return d[:5000] }},
	}
	// Each case starts from its own copy of the data dir: a panic in the
	// storage library leaves the file it opened locked for this process.
	copyDataDir := func(t *testing.T) (Config, string) {
		t.Helper()
		c := cfg
		c.DataDir = filepath.Join(t.TempDir(), "data")
		if err := os.CopyFS(c.DataDir, os.DirFS(dir)); err != nil {
			t.Fatal(err)
		}
		return c, filepath.Join(c.DataDir, "server", "raft", "raft.db")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, db := copyDataDir(t)
			if err := os.WriteFile(db, tc.damage(append([]byte(nil), good...)), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := New(cfg)
			if err == nil {
				s.Shutdown()
				t.Fatal("server started from a damaged raft log")
			}
			for _, want := range []string{"the raft log " + db + " is damaged", "roam operator raft remove-peer", "roam operator snapshot restore"} {
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("error %q lacks %q", err, want)
				}
			}
		})
	}
	t.Run("intact", func(t *testing.T) {
		cfg, _ := copyDataDir(t)
		s, err := New(cfg)
		if err != nil {
			t.Fatalf("restart from the intact log: %v", err)
		}
		defer s.Shutdown()
		waitFor(t, "state replayed", func() bool {
			job, _ := s.State().Snapshot().JobByID("default", "kept")
			return job != nil
		})
	})
}

// TestRaftDirsPrivate: the Raft directory and its snapshots, which hold
// the whole cluster state, are readable by their owner only, also when an
// older version left them open.
func TestRaftDirsPrivate(t *testing.T) {
	dir := t.TempDir()
	snaps := filepath.Join(dir, "server", "raft", "snapshots")
	if err := os.MkdirAll(snaps, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(snaps, 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{NodeName: "private.global", Region: "global", Datacenter: "dc1", DataDir: dir, NumSchedulers: 1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	for _, d := range []string{filepath.Dir(snaps), snaps} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o700 {
			t.Errorf("%s has mode %v, want 0700", d, perm)
		}
	}
}
