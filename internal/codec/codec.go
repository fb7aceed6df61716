// Package codec is Roam's binary encoding of the messages servers and
// clients exchange and store: RPC calls, Raft log entries and state
// snapshots. It is msgpack (hashicorp/go-msgpack, as Raft and Nomad use),
// configured so that a value decodes as it would from JSON: fields are
// named by their json tags (omitempty and "-" honored), time.Time keeps
// its zone offset, and a map decoded into an interface{} is a
// map[string]interface{}. Unlike JSON, integers in interface{} values stay
// integers (int64) instead of becoming float64, and durations of types
// with a custom MarshalJSON stay integers.
package codec

import (
	"bytes"
	"io"
	"reflect"
	"sync"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// Format opens every body this package encodes for storage (a Raft log
// entry's body, a snapshot stream), so that readers tell it from the JSON
// Roam wrote before, which opens with '{'.
const Format byte = 0x01

// handle is the msgpack configuration every encoder and decoder shares; it
// caches type information, so it must be one value.
var handle = func() *codec.MsgpackHandle {
	h := &codec.MsgpackHandle{}
	// The msgpack spec's string and binary types, so that []byte and
	// strings stay apart, in interface{} values too.
	h.WriteExt = true
	// time.Time in its binary form, which keeps the zone offset, as JSON's
	// RFC 3339 does (msgpack's timestamp is UTC only).
	h.TimeNotBuiltin = true
	h.MapType = reflect.TypeOf(map[string]any(nil))
	h.SignedInteger = true
	// ReaderBufferSize stays 0: the codec's own read buffer loses what it
	// read ahead when a Decode ends (TestStreamEndsWithEOF fails), so
	// streams are read through a bufio.Reader instead.
	return h
}()

// encoders reuses encoders and their buffers between Marshal calls.
var encoders = sync.Pool{New: func() any {
	var buf []byte
	return &bytesEncoder{enc: codec.NewEncoderBytes(&buf, handle)}
}}

type bytesEncoder struct {
	buf []byte
	enc *codec.Encoder
}

// Marshal encodes v.
func Marshal(v any) ([]byte, error) {
	return AppendMarshal(nil, v)
}

// AppendMarshal appends the encoding of v to dst.
func AppendMarshal(dst []byte, v any) ([]byte, error) {
	e := encoders.Get().(*bytesEncoder)
	defer encoders.Put(e)
	e.buf = e.buf[:0]
	e.enc.ResetBytes(&e.buf)
	if err := e.enc.Encode(v); err != nil {
		return dst, err
	}
	return append(dst, e.buf...), nil
}

// Unmarshal decodes data into v, a pointer.
func Unmarshal(data []byte, v any) error {
	return codec.NewDecoderBytes(data, handle).Decode(v)
}

// Encoder writes a stream of values.
type Encoder struct{ enc *codec.Encoder }

// NewEncoder returns an encoder writing to w. It does not buffer: give it
// a buffered writer.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{enc: codec.NewEncoder(w, handle)} }

// Encode writes v.
func (e *Encoder) Encode(v any) error { return e.enc.Encode(v) }

// Decoder reads a stream of values.
type Decoder struct{ dec *codec.Decoder }

// NewDecoder returns a decoder reading from r. Give it a buffered reader.
func NewDecoder(r io.Reader) *Decoder { return &Decoder{dec: codec.NewDecoder(r, handle)} }

// Decode reads the next value into v, a pointer; it returns io.EOF at the
// end of the stream.
func (d *Decoder) Decode(v any) error { return d.dec.Decode(v) }

// IsJSON reports whether body, a stored body, was written as JSON (by a
// Roam that predates this encoding): it opens with '{' after any space.
func IsJSON(body []byte) bool {
	body = bytes.TrimLeft(body, " \t\r\n")
	return len(body) > 0 && body[0] == '{'
}
