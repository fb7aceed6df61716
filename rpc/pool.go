package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"net/rpc/jsonrpc"
	"reflect"
	"sync"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/roam-project/roam/internal/codec"
)

// dialTimeout bounds connecting to a peer.
const dialTimeout = 5 * time.Second

// Pool keeps one multiplexed session per peer, and on it one stream that
// carries every call to that peer: net/rpc matches concurrent calls and
// their answers by sequence number, and the server runs each call on its
// own goroutine, so a blocking query holds up no other call. A stream per
// call cost each call the stream's opening and closing and a codec. Calls
// are msgpack, or JSON-RPC to an agent of an earlier version. It is safe
// for concurrent use.
type Pool struct {
	dial  DialConfig
	mu    sync.Mutex
	peers map[string]*peerConn
}

// peerConn is the session to one peer and the RPC client on its stream.
type peerConn struct {
	session *yamux.Session
	client  *rpc.Client
}

func (c *peerConn) close() {
	c.client.Close()
	c.session.Close()
}

// NewPool returns an empty pool whose sessions dial and introduce
// themselves as dc says.
func NewPool(dc DialConfig) *Pool {
	return &Pool{dial: dc, peers: map[string]*peerConn{}}
}

// Call invokes method on the peer at addr and decodes its answer into
// reply. It gives up when ctx ends (an answer arriving later is dropped).
// A remote error comes back as a RemoteError; a transport failure drops
// the session so that the next call redials.
func (p *Pool) Call(ctx context.Context, addr, method string, args, reply any) error {
	conn, err := p.conn(addr)
	if err != nil {
		return err
	}
	// The answer is decoded into a fresh value, copied to reply only when
	// the call completes in time: an answer to an abandoned call must not
	// write into a reply its caller uses again.
	fresh := reflect.New(reflect.TypeOf(reply).Elem())
	call := conn.client.Go(method, args, fresh.Interface(), make(chan *rpc.Call, 1))
	select {
	case <-call.Done:
		var serverErr rpc.ServerError
		if errors.As(call.Error, &serverErr) {
			return &RemoteError{Method: method, Msg: string(serverErr)}
		}
		if call.Error != nil {
			p.drop(addr, conn)
			return fmt.Errorf("rpc %s to %s: %w", method, addr, call.Error)
		}
		reflect.ValueOf(reply).Elem().Set(fresh.Elem())
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rpc %s to %s: %w", method, addr, ctx.Err())
	}
}

// conn returns the peer's connection, dialing it when there is none.
func (p *Pool) conn(addr string) (*peerConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.peers[addr]; ok && !c.session.IsClosed() {
		return c, nil
	}
	conn, newCodec, err := dialRPC(addr, p.dial)
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
	stream, err := s.Open()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open stream to %s: %w", addr, err)
	}
	c := &peerConn{session: s, client: rpc.NewClientWithCodec(newCodec(stream))}
	p.peers[addr] = c
	return c, nil
}

// dialRPC opens an RPC connection to addr in msgpack, or in the JSON-RPC
// of earlier versions to an agent that refuses msgpack's protocol byte
// (one not yet upgraded), and returns it with the codec to speak on it.
func dialRPC(addr string, dc DialConfig) (net.Conn, func(io.ReadWriteCloser) rpc.ClientCodec, error) {
	conn, err := dial(addr, protoRPCMsgpack, dialTimeout, dc)
	if err == nil {
		return conn, codec.NewClientCodec, nil
	}
	if !errors.Is(err, errNoChallenge) {
		return nil, nil, err
	}
	conn, jsonErr := dial(addr, protoRPC, dialTimeout, dc)
	if jsonErr != nil {
		return nil, nil, err
	}
	return conn, jsonrpc.NewClientCodec, nil
}

func (p *Pool) drop(addr string, c *peerConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.peers[addr] == c {
		delete(p.peers, addr)
	}
	c.close()
}

// Close ends every session.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for addr, c := range p.peers {
		c.close()
		delete(p.peers, addr)
	}
}

// RemoteError is an error returned by the remote endpoint itself (as
// opposed to a transport failure).
type RemoteError struct {
	Method string
	Msg    string
}

func (e *RemoteError) Error() string { return e.Msg }
