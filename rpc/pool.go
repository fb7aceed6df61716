package rpc

import (
	"context"
	"errors"
	"fmt"
	"net/rpc"
	"net/rpc/jsonrpc"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
)

// dialTimeout bounds connecting to a peer.
const dialTimeout = 5 * time.Second

// Pool keeps one multiplexed session per peer and runs calls on streams of
// it. It is safe for concurrent use.
type Pool struct {
	dial     DialConfig
	mu       sync.Mutex
	sessions map[string]*yamux.Session
}

// NewPool returns an empty pool whose sessions dial and introduce
// themselves as dc says.
func NewPool(dc DialConfig) *Pool {
	return &Pool{dial: dc, sessions: map[string]*yamux.Session{}}
}

// Call invokes method on the peer at addr and decodes its answer into
// reply. It gives up when ctx ends. A remote error comes back as a
// RemoteError; a transport failure drops the session so that the next
// call redials.
func (p *Pool) Call(ctx context.Context, addr, method string, args, reply any) error {
	session, err := p.session(addr)
	if err != nil {
		return err
	}
	stream, err := session.Open()
	if err != nil {
		p.drop(addr, session)
		return fmt.Errorf("rpc %s to %s: open stream: %w", method, addr, err)
	}
	client := rpc.NewClientWithCodec(jsonrpc.NewClientCodec(stream))
	defer client.Close()
	call := client.Go(method, args, reply, make(chan *rpc.Call, 1))
	select {
	case <-call.Done:
		var serverErr rpc.ServerError
		if errors.As(call.Error, &serverErr) {
			return &RemoteError{Method: method, Msg: string(serverErr)}
		}
		if call.Error != nil {
			p.drop(addr, session)
			return fmt.Errorf("rpc %s to %s: %w", method, addr, call.Error)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rpc %s to %s: %w", method, addr, ctx.Err())
	}
}

func (p *Pool) session(addr string) (*yamux.Session, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.sessions[addr]; ok && !s.IsClosed() {
		return s, nil
	}
	conn, err := dial(addr, protoRPC, dialTimeout, p.dial)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	conf := yamux.DefaultConfig()
	conf.LogOutput = nil
	conf.Logger = slogAdapter{discardLogger}
	s, err := yamux.Client(conn, conf)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("start session with %s: %w", addr, err)
	}
	p.sessions[addr] = s
	return s, nil
}

func (p *Pool) drop(addr string, s *yamux.Session) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sessions[addr] == s {
		delete(p.sessions, addr)
	}
	s.Close()
}

// Close ends every session.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for addr, s := range p.sessions {
		s.Close()
		delete(p.sessions, addr)
	}
}

// RemoteError is an error returned by the remote endpoint itself (as
// opposed to a transport failure).
type RemoteError struct {
	Method string
	Msg    string
}

func (e *RemoteError) Error() string { return e.Msg }
