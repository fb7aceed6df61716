package server

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/raft"

	"github.com/roam-project/roam/internal/version"
	"github.com/roam-project/roam/state"
)

// snapshotFormat names the layout of `operator snapshot save` archives:
// gzip of one JSON header line, then the state store's stream
// (state.Snapshot.Persist), in msgpack.
const snapshotFormat = "roam-snapshot/2"

// snapshotFormatJSON is the layout earlier versions wrote, whose state
// stream is JSON; state.Restore reads both.
const snapshotFormatJSON = "roam-snapshot/1"

// SnapshotHeader opens a snapshot archive.
type SnapshotHeader struct {
	Format  string
	Index   uint64
	Time    time.Time
	Version string
}

// SaveSnapshot writes a consistent snapshot of the whole cluster state to
// w (`operator snapshot save`).
func (s *Server) SaveSnapshot(w io.Writer) (uint64, error) {
	snap := s.State().Snapshot()
	header := SnapshotHeader{Format: snapshotFormat, Index: snap.LatestIndex(), Time: time.Now().UTC(), Version: version.Number}
	gz := gzip.NewWriter(w)
	if err := json.NewEncoder(gz).Encode(&header); err != nil {
		return 0, fmt.Errorf("write snapshot header: %w", err)
	}
	if err := snap.Persist(gz); err != nil {
		return 0, err
	}
	return header.Index, gz.Close()
}

// RestoreSnapshot replaces the cluster state with a saved snapshot, through
// Raft so that every server installs it (`operator snapshot restore`).
func (s *Server) RestoreSnapshot(r io.Reader) error {
	if !s.IsLeader() {
		return errNotLeader
	}
	header, body, err := OpenSnapshot(r)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	// The state stream is spooled to a file, not memory: it is read twice,
	// to check it and to hand it to Raft, and may be large.
	spool, err := s.snapshotSpool()
	if err != nil {
		return err
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	size, err := io.Copy(spool, body)
	if err != nil {
		return fmt.Errorf("%w: read snapshot: %v", ErrInvalid, err)
	}
	// Check the state decodes before handing it to Raft.
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if _, err := state.Restore(spool); err != nil {
		return fmt.Errorf("%w: snapshot of index %d is corrupt: %v", ErrInvalid, header.Index, err)
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return err
	}
	// The leader's loops stop while the state is replaced under them, and
	// start again from the restored state.
	s.revokeLeadership()
	defer s.establishLeadership()
	meta := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Size: size}
	if err := s.raft.Restore(meta, spool, time.Minute); err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	return nil
}

// snapshotSpool creates the file a snapshot being restored is spooled to:
// readable by its owner only, beside Raft's own snapshots (in the system's
// temporary directory for a dev agent, whose Raft is in memory).
func (s *Server) snapshotSpool() (*os.File, error) {
	dir := ""
	if s.config.DataDir != "" {
		dir = filepath.Join(s.config.DataDir, "server", "raft")
	}
	f, err := os.CreateTemp(dir, "restore-*.snap")
	if err != nil {
		return nil, fmt.Errorf("spool snapshot: %w", err)
	}
	return f, nil
}

// OpenSnapshot reads a snapshot archive's header and returns it with the
// state stream that follows.
func OpenSnapshot(r io.Reader) (*SnapshotHeader, io.Reader, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, nil, fmt.Errorf("not a snapshot archive: %w", err)
	}
	br := bufio.NewReader(gz)
	line, err := br.ReadBytes('\n')
	if err != nil {
		return nil, nil, fmt.Errorf("read snapshot header: %w", err)
	}
	var header SnapshotHeader
	if err := json.Unmarshal(line, &header); err != nil || (header.Format != snapshotFormat && header.Format != snapshotFormatJSON) {
		return nil, nil, fmt.Errorf("not a %s archive", snapshotFormat)
	}
	return &header, br, nil
}
