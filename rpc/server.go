package rpc

import (
	"log/slog"
	"net"
	"net/rpc"
	"net/rpc/jsonrpc"

	"github.com/hashicorp/yamux"

	"github.com/roam-project/roam/internal/codec"
)

// Server serves registered endpoints to RPC sessions. Each session is a
// yamux-multiplexed connection; each stream carries net/rpc calls in
// msgpack (or in JSON, from agents of an older version).
type Server struct {
	rpc       *rpc.Server
	logger    *slog.Logger
	authorize func(Peer, string) error
}

func newServer(logger *slog.Logger, authorize func(Peer, string) error) *Server {
	s := &Server{rpc: rpc.NewServer(), logger: logger}
	s.authorize = func(p Peer, method string) error {
		err := authorize(p, method)
		if err != nil {
			logger.Warn("refused RPC call", "method", method, "remote", p.Remote, "role", p.Role, "reason", err)
		}
		return err
	}
	_ = s.rpc.RegisterName("RPCAuth", deniedEndpoint{})
	return s
}

// Register publishes the exported methods of rcvr under name, as net/rpc
// does ("Node.Register").
func (s *Server) Register(name string, rcvr any) error {
	return s.rpc.RegisterName(name, rcvr)
}

// serveSession serves the streams of the session on conn, in the encoding
// its protocol byte proto names.
func (s *Server) serveSession(conn net.Conn, peer Peer, proto byte) {
	newCodec := codec.NewServerCodec
	if proto == protoRPC {
		newCodec = jsonrpc.NewServerCodec
	}
	conf := yamux.DefaultConfig()
	conf.LogOutput = nil
	conf.Logger = slogAdapter{s.logger}
	session, err := yamux.Server(conn, conf)
	if err != nil {
		s.logger.Error("start RPC session", "remote", conn.RemoteAddr(), "error", err)
		conn.Close()
		return
	}
	for {
		stream, err := session.Accept()
		if err != nil {
			if !session.IsClosed() {
				s.logger.Debug("RPC session ended", "remote", conn.RemoteAddr(), "error", err)
			}
			session.Close()
			return
		}
		go s.rpc.ServeCodec(&authCodec{ServerCodec: newCodec(stream), peer: peer, authorize: s.authorize})
	}
}

// slogAdapter lets yamux log through slog.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Print(v ...any)                 { a.l.Debug("yamux", "msg", v) }
func (a slogAdapter) Printf(format string, v ...any) { a.l.Debug("yamux", "msg", format, "args", v) }
func (a slogAdapter) Println(v ...any)               { a.l.Debug("yamux", "msg", v) }
