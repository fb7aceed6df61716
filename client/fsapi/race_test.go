package fsapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// secret marks the content and names of files outside the allocation
// directory: no byte of them may come back through the fs API.
const secret = "TOP-SECRET-7f3a9c"

// flipper swaps a symlink between a target inside the allocation directory
// and one outside it, atomically (rename over the link), until stopped.
type flipper struct {
	stop chan struct{}
	done sync.WaitGroup
}

func flip(t *testing.T, link, inside, outside string) *flipper {
	t.Helper()
	f := &flipper{stop: make(chan struct{})}
	if err := os.Symlink(inside, link); err != nil {
		t.Fatal(err)
	}
	f.done.Add(1)
	go func() {
		defer f.done.Done()
		tmp := link + ".flip"
		for i := 0; ; i++ {
			select {
			case <-f.stop:
				return
			default:
			}
			target := inside
			if i%2 == 1 {
				target = outside
			}
			_ = os.Remove(tmp)
			if os.Symlink(target, tmp) == nil {
				_ = os.Rename(tmp, link)
			}
		}
	}()
	t.Cleanup(func() { close(f.stop); f.done.Wait() })
	return f
}

// TestSymlinkRace flips symlinks in an allocation directory between a file
// inside it and a file (or directory) outside it while the fs API reads
// them, for a bounded number of reads per endpoint: no byte of what lies
// outside ever comes back, and reads of the inside target still succeed.
func TestSymlinkRace(t *testing.T) {
	e := newEnv(t)
	alloc := e.run(t, "batch", `echo inside-log; mkdir -p $NOMAD_TASK_DIR/dir; echo inside > $NOMAD_TASK_DIR/normal.txt; touch $NOMAD_TASK_DIR/dir/inside-entry`, "complete")
	ar, err := e.client.AllocRunner(alloc.ID)
	if err != nil {
		t.Fatal(err)
	}
	allocDir := ar.AllocDir().Dir
	local := filepath.Join(allocDir, "web", "local")

	outside := t.TempDir()
	secretFile := filepath.Join(outside, "secret.txt")
	if err := os.WriteFile(secretFile, []byte(strings.Repeat(secret+"\n", 40)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, secret+"-entry"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	flip(t, filepath.Join(local, "flip"), "normal.txt", secretFile)
	flip(t, filepath.Join(local, "flipdir"), "dir", outside)
	logFile := filepath.Join(allocDir, "alloc", "logs", "web.stdout.0")
	if err := os.Rename(logFile, filepath.Join(allocDir, "alloc", "logs", "saved.log")); err != nil {
		t.Fatal(err)
	}
	flip(t, logFile, "saved.log", secretFile)

	secretSize := fmt.Sprintf(`"Size":%d`, 40*len(secret+"\n"))
	base := e.url + "/v1/client/fs/"
	q := func(v url.Values) string { return v.Encode() }
	endpoints := []struct {
		name, url, inside string
		reads             int
		stream            bool
	}{
		{"cat", base + "cat/" + alloc.ID + "?" + q(url.Values{"path": {"web/local/flip"}}), "inside", 1500, false},
		{"readat", base + "readat/" + alloc.ID + "?" + q(url.Values{"path": {"web/local/flip"}, "offset": {"0"}, "limit": {"100"}}), "inside", 1500, false},
		{"stat", base + "stat/" + alloc.ID + "?" + q(url.Values{"path": {"web/local/flip"}}), `"Size":7`, 1500, false},
		{"ls", base + "ls/" + alloc.ID + "?" + q(url.Values{"path": {"web/local/flipdir"}}), "inside-entry", 1500, false},
		{"logs", base + "logs/" + alloc.ID + "?" + q(url.Values{"task": {"web"}, "type": {"stdout"}, "plain": {"true"}}), "inside-log", 1500, false},
		{"stream", base + "stream/" + alloc.ID + "?" + q(url.Values{"path": {"web/local/flip"}}), "inside", 1500, true},
	}
	for _, ep := range endpoints {
		t.Run(ep.name, func(t *testing.T) {
			leaks, good := 0, 0
			for range ep.reads {
				body := read(t, ep.url, ep.stream)
				if strings.Contains(body, "TOP-SECRET") || strings.Contains(body, secretSize) {
					leaks++
				}
				if strings.Contains(body, ep.inside) {
					good++
				}
			}
			if leaks > 0 {
				t.Errorf("%d of %d reads returned what lies outside the allocation directory", leaks, ep.reads)
			}
			if good == 0 {
				t.Errorf("none of %d reads returned the file inside the allocation directory", ep.reads)
			}
		})
	}
}

// read fetches url; for a stream it decodes frames until the first one
// with data, or a short timeout.
func read(t *testing.T, u string, stream bool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if !stream || resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	dec := json.NewDecoder(bufio.NewReader(resp.Body))
	for {
		var f api.StreamFrame
		if err := dec.Decode(&f); err != nil {
			return ""
		}
		if len(f.Data) > 0 {
			return string(f.Data)
		}
	}
}
