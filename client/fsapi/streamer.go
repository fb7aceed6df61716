package fsapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/hashicorp/nomad/api"
)

// Streaming timings: how often a followed file is polled for new data, and
// how long a quiet stream goes before a heartbeat frame.
const (
	pollInterval   = 200 * time.Millisecond
	heartbeatEvery = 10 * time.Second
	chunkSize      = 64 * 1024
)

// fileSeq is a sequence of files of an allocation directory read as one
// stream: a task's rotated log files, or a single file. Files are opened
// through the directory's Root, so the stream never leaves it.
type fileSeq struct {
	root *os.Root
	// indexes lists the files present, ascending.
	indexes func() []int
	// path is a file's name in root; name is how frames name it.
	path, name func(idx int) string
}

// next returns the lowest index after idx, if any.
func (s fileSeq) next(idx int) (int, bool) {
	for _, i := range s.indexes() {
		if i > idx {
			return i, true
		}
	}
	return 0, false
}

// size is the size of a file of the sequence, 0 when it cannot be read.
func (s fileSeq) size(idx int) int64 {
	fi, err := s.root.Stat(s.path(idx))
	if err != nil {
		return 0
	}
	return fi.Size()
}

// start finds where offset (counted from origin "start" or "end" across
// the whole sequence) falls.
func (s fileSeq) start(origin string, offset int64) (idx int, off int64, ok bool) {
	idxs := s.indexes()
	if len(idxs) == 0 {
		return 0, 0, false
	}
	rem := offset
	if origin == api.OriginEnd {
		for i := len(idxs) - 1; i >= 0; i-- {
			size := s.size(idxs[i])
			if rem <= size {
				return idxs[i], size - rem, true
			}
			rem -= size
		}
		return idxs[0], 0, true
	}
	for _, i := range idxs {
		size := s.size(i)
		if rem <= size {
			return i, rem, true
		}
		rem -= size
	}
	last := idxs[len(idxs)-1]
	return last, s.size(last), true
}

// frameWriter sends data to the client: as JSON frames or as raw bytes.
type frameWriter interface {
	data(file string, offset int64, p []byte) error
	heartbeat() error
}

type jsonFrames struct {
	enc     *json.Encoder
	flusher http.Flusher
}

func newJSONFrames(w http.ResponseWriter) *jsonFrames {
	w.Header().Set("Content-Type", "application/json")
	f, _ := w.(http.Flusher)
	return &jsonFrames{enc: json.NewEncoder(w), flusher: f}
}

func (j *jsonFrames) send(frame *api.StreamFrame) error {
	if err := j.enc.Encode(frame); err != nil {
		return err
	}
	if j.flusher != nil {
		j.flusher.Flush()
	}
	return nil
}

func (j *jsonFrames) data(file string, offset int64, p []byte) error {
	return j.send(&api.StreamFrame{File: file, Offset: offset, Data: p})
}

func (j *jsonFrames) heartbeat() error { return j.send(&api.StreamFrame{}) }

type plainWriter struct {
	w       io.Writer
	flusher http.Flusher
}

func newPlainWriter(w http.ResponseWriter) *plainWriter {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	f, _ := w.(http.Flusher)
	return &plainWriter{w: w, flusher: f}
}

func (p *plainWriter) data(_ string, _ int64, b []byte) error {
	if _, err := p.w.Write(b); err != nil {
		return err
	}
	if p.flusher != nil {
		p.flusher.Flush()
	}
	return nil
}

func (p *plainWriter) heartbeat() error { return nil }

// streamer copies a file sequence to a frame writer, optionally following
// it as it grows and rotates.
type streamer struct {
	ctx    context.Context
	seq    fileSeq
	out    frameWriter
	follow bool
	// finished reports that no more data will come (the task is dead):
	// a follow ends once everything has been read after it turns true.
	finished func() bool
}

// run streams from offset (relative to origin) until the end, or for a
// follow until the client leaves or the source is finished.
func (s *streamer) run(origin string, offset int64) error {
	idx, off, ok := s.seq.start(origin, offset)
	for !ok {
		if !s.follow || s.finished() || !s.idle() {
			return nil
		}
		idx, off, ok = s.seq.start(origin, offset)
	}
	for {
		nextIdx, err := s.copyFile(idx, off)
		if err != nil || nextIdx < 0 {
			return err
		}
		idx, off = nextIdx, 0
	}
}

// copyFile streams one file from off; it returns the index of the file to
// continue with, or -1 when the stream is over.
func (s *streamer) copyFile(idx int, off int64) (int, error) {
	f, err := openRead(s.seq.root, s.seq.path(idx))
	if err != nil {
		if next, ok := s.seq.next(idx); ok { // rotated away meanwhile
			return next, nil
		}
		return -1, nil
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return -1, hidePath(err)
	}
	buf := make([]byte, chunkSize)
	lastChance, quiet := false, time.Now()
	for {
		n, err := f.Read(buf)
		if n > 0 {
			off += int64(n)
			quiet = time.Now()
			if werr := s.out.data(s.seq.name(idx), off, buf[:n]); werr != nil {
				return -1, nil // the client went away
			}
			continue
		}
		if err != nil && err != io.EOF {
			return -1, hidePath(err)
		}
		if next, ok := s.seq.next(idx); ok {
			return next, nil
		}
		if !s.follow || lastChance {
			return -1, nil
		}
		if s.finished() {
			lastChance = true // read once more, then stop
			continue
		}
		if time.Since(quiet) > heartbeatEvery {
			quiet = time.Now()
			if s.out.heartbeat() != nil {
				return -1, nil
			}
		}
		if !s.idle() {
			return -1, nil
		}
	}
}

// idle waits one poll interval; false when the client left.
func (s *streamer) idle() bool {
	t := time.NewTimer(pollInterval)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}
