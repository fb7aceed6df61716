package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/server"
)

// The region layer: a request whose ?region= (the CLI's -region, the API
// client's Region) names another region is sent, whole, to a server of
// that region through an HTTP tunnel on its RPC port, for every route
// alike; that server answers it as if it had been sent to it. The agent's
// own views (/v1/agent/, a node's /v1/client/ files, the UI) stay local.

// regionLocal are the paths a server answers itself whatever ?region says.
var regionLocal = []string{"/v1/agent/", "/v1/client/", "/v1/regions", "/ui/"}

// regionLayer forwards requests for other regions, and writes of
// replicated state to the authoritative region (toAuthoritative); the
// rest go to next.
func (h *httpAPI) regionLayer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.srv == nil || !regionRouted(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		if region := r.URL.Query().Get("region"); !h.isLocalRegion(region) {
			h.forwardRegion(w, r, region, nil)
			return
		}
		if !h.toAuthoritative(w, r, next) {
			next.ServeHTTP(w, r)
		}
	})
}

// isLocalRegion reports whether region means this server's own: empty,
// or its name.
func (h *httpAPI) isLocalRegion(region string) bool {
	return region == "" || region == h.srv.Region()
}

// isLocalJobRegion is isLocalRegion for a job's region, where "global"
// (the api's default) also means the region the job is sent to, as in
// Nomad.
func (h *httpAPI) isLocalJobRegion(region string) bool {
	return region == "global" || h.isLocalRegion(region)
}

func regionRouted(path string) bool {
	for _, p := range regionLocal {
		if strings.HasPrefix(path, p) {
			return false
		}
	}
	return path != "/"
}

// forwardRegion sends r to a server of region, trying each live one until
// one answers; body, when not nil, replaces r's (a job whose region sent it
// there, after its body was read). A region none of whose servers answers
// is answered 503 naming it; an unknown one, 400 listing the known.
func (h *httpAPI) forwardRegion(w http.ResponseWriter, r *http.Request, region string, body []byte) {
	addrs, err := h.srv.RegionServers(region)
	if err != nil {
		h.writeError(w, r, regionError(err))
		return
	}
	replay := &replayBody{buf: body}
	if body == nil {
		if replay, err = newReplayBody(r); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	var lastErr error
	for _, addr := range addrs {
		if !replay.replayable() {
			break
		}
		if lastErr = h.proxyRegion(w, r, region, addr, replay); lastErr == nil {
			return
		}
		h.logger.Debug("forward to region failed", "region", region, "server", addr, "error", lastErr)
	}
	h.writeError(w, r, regionError(fmt.Errorf("%w: region %q: no server answered (%v)", server.ErrRegionUnreachable, region, lastErr)))
}

// proxyRegion sends r with the next copy of body to the server at the RPC
// address addr. It returns an error, having written nothing to w, when the
// server could not be reached.
func (h *httpAPI) proxyRegion(w http.ResponseWriter, r *http.Request, region, addr string, body *replayBody) error {
	var failed error
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&url.URL{Scheme: "http", Host: addr})
			pr.Out.Host = r.Host
		},
		Transport: headerDeadline{next: h.agent.regionTransport(), wait: regionHeaderWait(r)},
		ErrorHandler: func(_ http.ResponseWriter, _ *http.Request, err error) {
			failed = err
		},
	}
	out := r.Clone(context.WithValue(r.Context(), regionKey{}, region))
	switch {
	case body.stream != nil:
		out.Body, out.ContentLength = body.next(), -1
	case len(body.buf) == 0:
		out.Body, out.ContentLength = http.NoBody, 0
		body.attempts++
	default:
		out.Body, out.ContentLength = body.next(), int64(len(body.buf))
	}
	proxy.ServeHTTP(w, out)
	return failed
}

// toJobRegion forwards a job registration or plan, req, to the region its
// job names, when that is another region; it reports whether it did (and
// so answered the request).
func (h *httpAPI) toJobRegion(w http.ResponseWriter, r *http.Request, job *api.Job, req any) bool {
	if job.Region == nil || h.isLocalJobRegion(*job.Region) {
		return false
	}
	body, err := json.Marshal(req)
	if err != nil {
		h.writeError(w, r, err)
		return true
	}
	h.forwardRegion(w, r, *job.Region, body)
	return true
}

// regionError gives region errors their status codes.
func regionError(err error) error {
	switch {
	case errors.Is(err, server.ErrNoRegionPath):
		return codedError(http.StatusBadRequest, "%s", strings.TrimPrefix(err.Error(), server.ErrInvalid.Error()+": "))
	case errors.Is(err, server.ErrRegionUnreachable):
		return codedError(http.StatusServiceUnavailable, "%v", err)
	}
	return err
}

// regionHeaderWait is how long a forwarded request may wait for the
// other region's answer to begin: a blocking query its wait and more, any
// other request regionAnswerWait. A region cut off silently (its packets
// dropped) fails the request then, rather than hold it.
func regionHeaderWait(r *http.Request) time.Duration {
	q := r.URL.Query()
	if q.Get("index") == "" {
		return regionAnswerWait
	}
	wait, err := time.ParseDuration(q.Get("wait"))
	if err != nil || wait <= 0 {
		wait = 5 * time.Minute
	}
	wait = min(wait, 10*time.Minute)
	return wait + wait/16 + regionAnswerWait
}

// regionAnswerWait bounds the wait for the beginning of an answer to a
// request that does not block.
const regionAnswerWait = 10 * time.Second

// headerDeadline is a RoundTripper that gives up when the answer's
// headers have not come within wait; once they have, the body streams
// for as long as it takes (logs, exec).
type headerDeadline struct {
	next http.RoundTripper
	wait time.Duration
}

// RoundTrip implements http.RoundTripper.
func (t headerDeadline) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(r.Context())
	timer := time.AfterFunc(t.wait, cancel)
	resp, err := t.next.RoundTrip(r.WithContext(ctx))
	if !timer.Stop() {
		if resp != nil {
			resp.Body.Close()
		}
		cancel()
		return nil, fmt.Errorf("no answer within %s", t.wait)
	}
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// An upgraded connection lives on its own; the context goes with
		// the request's.
		return resp, nil
	}
	resp.Body = cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose releases a request's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

// Close implements io.Closer.
func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// regionKey carries, in a forwarded request's context, the region its
// tunnel is dialled to.
type regionKey struct{}

// regionTransport is the HTTP transport of region forwarding: its
// connections are tunnels to other regions' RPC ports, kept alive between
// requests.
func (a *Agent) regionTransport() http.RoundTripper {
	a.regionOnce.Do(func() {
		a.regionRT = &http.Transport{
			DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
				region, _ := ctx.Value(regionKey{}).(string)
				return a.server.DialRegion(ctx, region, addr)
			},
			MaxIdleConnsPerHost:   16,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: 0,
		}
	})
	return a.regionRT
}
