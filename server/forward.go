package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/roam-project/roam/rpc"
)

// forwardTimeout bounds a write forwarded to the leader.
const forwardTimeout = 60 * time.Second

// forward sends a write to the leader when this server is not it. It
// reports whether it forwarded; when it did not, the caller handles the
// request itself.
func (s *Server) forward(method string, args, reply any) (bool, error) {
	if s.IsLeader() {
		return false, nil
	}
	leader := s.Leader()
	if leader == "" || s.pool == nil {
		return true, errNotLeader
	}
	ctx, cancel := context.WithTimeout(s.shutdownCtx, forwardTimeout)
	defer cancel()
	return true, fromRemote(s.pool.Call(ctx, leader, method, args, reply))
}

// fromRemote restores the error kinds callers branch on (ErrNotFound,
// ErrInvalid) from an error that crossed the wire as text.
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
	}
	for _, known := range []error{ErrPermissionDenied, ErrTokenNotFound, ErrTokenExpired, ErrTokenInvalid} {
		if msg == known.Error() {
			return known
		}
	}
	return errors.New(msg)
}
