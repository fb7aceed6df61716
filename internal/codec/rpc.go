package codec

import (
	"bufio"
	"io"
	"net/rpc"
	"sync"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// rpcBufferSize is the read buffer of an RPC stream. A server holds a
// stream or two per client node (heartbeats, the allocation long-poll),
// so the buffer is per node: at 64 KiB, 2,000 nodes held 135 MB of them,
// most of an idle server's memory. The stream below (yamux) buffers what
// arrives anyway; 4 KiB serves the decoder's small reads as fast
// (BenchmarkRPCRoundTrip in rpc alike with either).
const rpcBufferSize = 4 << 10

// maxKeptBuffer is the largest write buffer a codec keeps between
// messages; a larger one (a big reply) is dropped after use.
const maxKeptBuffer = 1 << 20

// rpcCodec is a net/rpc client and server codec: a message is its header
// then its body, two msgpack values, as net-rpc-msgpackrpc writes them.
// Each message is encoded whole into a buffer and written in one Write, so
// that a large reply crosses the multiplexed stream in few frames (a
// small write buffer made one frame, and one system call, per few KiB).
type rpcCodec struct {
	conn io.ReadWriteCloser
	dec  *codec.Decoder
	// mu guards buf and enc: net/rpc's client and server each write one
	// message at a time, but nothing in the interface promises it.
	mu  sync.Mutex
	buf []byte
	enc *codec.Encoder
}

func newRPCCodec(conn io.ReadWriteCloser) *rpcCodec {
	c := &rpcCodec{conn: conn, dec: codec.NewDecoder(bufio.NewReaderSize(conn, rpcBufferSize), handle)}
	c.enc = codec.NewEncoderBytes(&c.buf, handle)
	return c
}

// NewClientCodec returns a net/rpc client codec speaking msgpack on conn.
func NewClientCodec(conn io.ReadWriteCloser) rpc.ClientCodec { return newRPCCodec(conn) }

// NewServerCodec returns a net/rpc server codec speaking msgpack on conn.
func NewServerCodec(conn io.ReadWriteCloser) rpc.ServerCodec { return newRPCCodec(conn) }

func (c *rpcCodec) write(header, body any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cap(c.buf) > maxKeptBuffer {
		c.buf = nil
	}
	c.buf = c.buf[:0]
	c.enc.ResetBytes(&c.buf)
	if err := c.enc.Encode(header); err != nil {
		return err
	}
	if err := c.enc.Encode(body); err != nil {
		return err
	}
	_, err := c.conn.Write(c.buf)
	return err
}

// read decodes the next value into v; a nil v reads the value and drops
// it.
func (c *rpcCodec) read(v any) error {
	if v == nil {
		var discard any
		return c.dec.Decode(&discard)
	}
	return c.dec.Decode(v)
}

func (c *rpcCodec) WriteRequest(r *rpc.Request, body any) error   { return c.write(r, body) }
func (c *rpcCodec) ReadResponseHeader(r *rpc.Response) error      { return c.read(r) }
func (c *rpcCodec) ReadResponseBody(body any) error               { return c.read(body) }
func (c *rpcCodec) ReadRequestHeader(r *rpc.Request) error        { return c.read(r) }
func (c *rpcCodec) ReadRequestBody(body any) error                { return c.read(body) }
func (c *rpcCodec) WriteResponse(r *rpc.Response, body any) error { return c.write(r, body) }
func (c *rpcCodec) Close() error                                  { return c.conn.Close() }
