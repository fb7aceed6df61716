package artifact

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// archiveSuffixes maps a file name's suffix to its archive format, longest
// suffixes first.
var archiveSuffixes = []struct{ suffix, format string }{
	{".tar.gz", "tar.gz"}, {".tgz", "tar.gz"},
	{".tar.bz2", "tar.bz2"}, {".tbz2", "tar.bz2"},
	{".tar", "tar"}, {".zip", "zip"}, {".gz", "gz"},
}

// options is a parsed `options` block.
type options struct {
	checksum checksum
	// archive is "" to detect the format from the name, "none" to never
	// unpack, or a format forced by `archive = "zip"`.
	archive string
	// query holds the other options, passed to http sources.
	query url.Values
}

func parseOptions(m map[string]string) (options, error) {
	o := options{query: url.Values{}}
	for k, v := range m {
		switch k {
		case "checksum":
			c, err := parseChecksum(v)
			if err != nil {
				return o, err
			}
			o.checksum = c
		case "archive":
			f, err := archiveOption(v)
			if err != nil {
				return o, err
			}
			o.archive = f
		default:
			o.query.Set(k, v)
		}
	}
	return o, nil
}

func archiveOption(v string) (string, error) {
	switch v {
	case "false":
		return "none", nil
	case "true", "":
		return "", nil
	}
	for _, s := range archiveSuffixes {
		if v == s.format || "."+v == s.suffix {
			return s.format, nil
		}
	}
	return "", fmt.Errorf("option archive = %q: not a supported format (tar.gz, tgz, tar.bz2, tar, zip, gz) or false", v)
}

// detectFormat returns the archive format a file name implies, or "".
func detectFormat(name string) string {
	lower := strings.ToLower(name)
	for _, s := range archiveSuffixes {
		if strings.HasSuffix(lower, s.suffix) {
			return s.format
		}
	}
	return ""
}

// checksum is an expected digest; the zero value checks nothing.
type checksum struct {
	algo string
	want []byte
}

// parseChecksum reads "type:hex"; a bare hex digest's type is inferred
// from its length.
func parseChecksum(s string) (checksum, error) {
	algo, digest, found := strings.Cut(s, ":")
	if !found {
		algo, digest = "", s
	}
	want, err := hex.DecodeString(digest)
	if err != nil {
		return checksum{}, fmt.Errorf("option checksum %q: digest is not hex: %w", s, err)
	}
	if algo == "" {
		algo = map[int]string{md5.Size: "md5", sha1.Size: "sha1", sha256.Size: "sha256", sha512.Size: "sha512"}[len(want)]
	}
	c := checksum{algo: algo, want: want}
	h := c.hasher()
	if h == nil {
		return checksum{}, fmt.Errorf("option checksum %q: type must be md5, sha1, sha256 or sha512", s)
	}
	if h.Size() != len(want) {
		return checksum{}, fmt.Errorf("option checksum %q: a %s digest has %d hex digits", s, algo, 2*h.Size())
	}
	return c, nil
}

func (c checksum) hasher() hash.Hash {
	switch c.algo {
	case "md5":
		return md5.New()
	case "sha1":
		return sha1.New()
	case "sha256":
		return sha256.New()
	case "sha512":
		return sha512.New()
	}
	return nil
}

// verify checks the file at path against the digest.
func (c checksum) verify(path string) error {
	if c.algo == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("checksum: %w", err)
	}
	defer f.Close()
	h := c.hasher()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("checksum: read: %w", err)
	}
	if got := h.Sum(nil); !bytes.Equal(got, c.want) {
		return fmt.Errorf("checksums did not match: expected %s %x, got %x", c.algo, c.want, got)
	}
	return nil
}

// fetched is a source made available on local disk.
type fetched struct {
	path    string
	name    string // the source's base name
	archive string // its archive format, "" when none
	isDir   bool
	perm    os.FileMode // the mode a plain file is written with
	temp    bool        // path is a temporary download to remove
}

func (f *fetched) cleanup() {
	if f.temp {
		os.Remove(f.path)
	}
}

// open makes the source available locally: a download for http(s), the
// file itself for a local source.
func (f *Fetcher) open(ctx context.Context, taskDir string, r Request, opts options) (*fetched, error) {
	u, err := url.Parse(r.Source)
	if err != nil {
		return nil, fmt.Errorf("parse source: %w", err)
	}
	var out *fetched
	switch u.Scheme {
	case "http", "https":
		out, err = f.download(ctx, u, r, opts)
	case "file":
		out, err = openLocal(u.Path, taskDir)
	case "":
		out, err = openLocal(r.Source, taskDir)
	default:
		return nil, fmt.Errorf("unsupported source scheme %q: use http, https, file or a path", u.Scheme)
	}
	if err != nil {
		return nil, err
	}
	switch opts.archive {
	case "none":
		out.archive = ""
	case "":
	default:
		out.archive = opts.archive
	}
	return out, nil
}

func openLocal(p, taskDir string) (*fetched, error) {
	if p == "" {
		return nil, fmt.Errorf("empty source")
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(taskDir, p)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	name := filepath.Base(p)
	return &fetched{path: p, name: name, archive: detectFormat(name), isDir: fi.IsDir(), perm: fi.Mode().Perm()}, nil
}

func (f *Fetcher) download(ctx context.Context, u *url.URL, r Request, opts options) (*fetched, error) {
	if len(opts.query) > 0 {
		q := u.Query()
		for k, vs := range opts.query {
			q[k] = vs
		}
		u.RawQuery = q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	resp, err := f.httpClient(r.Insecure).Do(req)
	if err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("download: bad response code: %d", resp.StatusCode)
	}
	tmp, err := os.CreateTemp("", "roam-artifact-*")
	if err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	defer tmp.Close()
	out := &fetched{path: tmp.Name(), name: baseName(u.Path), perm: 0o644, temp: true}
	out.archive = detectFormat(out.name)
	if _, err := io.Copy(tmp, resp.Body); err != nil {
		out.cleanup()
		return nil, fmt.Errorf("download: %w", err)
	}
	return out, nil
}

// httpTimeout bounds one download, as Nomad's default http_read_timeout.
const httpTimeout = 30 * time.Minute

var defaultClient = &http.Client{Timeout: httpTimeout}

func (f *Fetcher) httpClient(insecure bool) *http.Client {
	if f.Client != nil && !insecure {
		return f.Client
	}
	if !insecure {
		return defaultClient
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the job asked for insecure
	return &http.Client{Transport: tr, Timeout: httpTimeout}
}
