package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/roam-project/roam/rpc"
)

// forwardTimeout bounds one forwarded call to the leader.
const forwardTimeout = 60 * time.Second

// HoldTimeout bounds how long a request waits for a leader, across
// elections and a leader that went away mid-call, before it fails with
// ErrNoLeader: a few election timeouts, as Nomad's rpc_hold_timeout.
const HoldTimeout = 5 * time.Second

// forward sends a write to the leader when this server is not it. It
// reports whether it forwarded; when it did not, the caller handles the
// request itself (this server leads). While there is no leader, or the
// leader it called is gone or no longer leads, it waits and tries the
// next leader, for up to HoldTimeout.
func (s *Server) forward(method string, args, reply any) (bool, error) {
	deadline := time.Now().Add(HoldTimeout)
	for attempt := 0; ; attempt++ {
		if s.IsLeader() {
			return false, nil
		}
		err := errNotLeader
		if leader := s.Leader(); leader != "" && s.pool != nil {
			ctx, cancel := context.WithTimeout(s.shutdownCtx, forwardTimeout)
			err = fromRemote(s.pool.Call(ctx, leader, method, args, reply))
			cancel()
			if !retryOnNewLeader(err) {
				return true, err
			}
			s.logger.Debug("forward to leader: retrying", "method", method, "leader", leader, "error", err)
		}
		if !time.Now().Before(deadline) {
			return true, errNotLeader
		}
		select {
		case <-s.shutdownCtx.Done():
			return true, errShutdown
		case <-time.After(RetryBackoff(attempt)):
		}
	}
}

// retryOnNewLeader reports whether a forwarded call failed because there
// was no leader to take it: the callee does not lead (any more), or it
// could not be reached. A call cut off mid-way may have been applied; it
// is retried all the same, within the caller's one request, as a client
// would retry it.
func retryOnNewLeader(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, errNotLeader) || errors.Is(err, errShutdown) {
		return true
	}
	var remote *rpc.RemoteError
	if errors.As(err, &remote) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	return true
}

// RetryBackoff is the wait before retry attempt n of a request waiting for
// a leader: short, since an election on a LAN takes a few milliseconds
// once it starts, and a request that waits longer than it must lengthens
// the unavailability it is waiting out.
func RetryBackoff(attempt int) time.Duration {
	d := 10 * time.Millisecond << min(attempt, 4)
	return min(d, 100*time.Millisecond)
}

// fromRemote restores the error kinds callers branch on (ErrNotFound,
// ErrInvalid, ErrNoLeader) from an error that crossed the wire as text.
func fromRemote(err error) error {
	var remote *rpc.RemoteError
	if !errors.As(err, &remote) {
		return err
	}
	msg := remote.Msg
	switch {
	case strings.HasSuffix(msg, ": "+ErrNotFound.Error()):
		return fmt.Errorf("%s: %w", strings.TrimSuffix(msg, ": "+ErrNotFound.Error()), ErrNotFound)
	case strings.HasPrefix(msg, ErrInvalid.Error()+": "):
		return fmt.Errorf("%w: %s", ErrInvalid, strings.TrimPrefix(msg, ErrInvalid.Error()+": "))
	case msg == errNotLeader.Error():
		return errNotLeader
	case msg == errShutdown.Error():
		return errShutdown
	}
	for _, known := range []error{ErrPermissionDenied, ErrTokenNotFound, ErrTokenExpired, ErrTokenInvalid} {
		if msg == known.Error() {
			return known
		}
	}
	return errors.New(msg)
}
