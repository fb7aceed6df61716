package codec

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// maxRawNesting bounds how deep ReadRaw follows maps and arrays, so that a
// hostile stream fails instead of exhausting the stack.
const maxRawNesting = 10000

// ReadRaw appends the bytes of the next msgpack value in r to dst,
// undecoded, for Unmarshal to decode later (or elsewhere): it reads only
// the value's type bytes and lengths, so that one reader can split a
// stream for many decoders. It returns io.EOF at the end of the stream,
// and io.ErrUnexpectedEOF when the stream ends inside the value.
func ReadRaw(r *bufio.Reader, dst []byte) ([]byte, error) {
	start := len(dst)
	out, err := readValue(r, dst, 0)
	if errors.Is(err, io.EOF) {
		if len(out) == start {
			return dst, io.EOF
		}
		return dst, io.ErrUnexpectedEOF
	}
	return out, err
}

// readValue appends one value (and, for a map or array, its elements).
func readValue(r *bufio.Reader, dst []byte, depth int) ([]byte, error) {
	if depth > maxRawNesting {
		return dst, fmt.Errorf("msgpack value nested over %d deep", maxRawNesting)
	}
	b, err := r.ReadByte()
	if err != nil {
		return dst, err
	}
	dst = append(dst, b)
	// The value's payload after its type byte (and length), and the
	// elements it contains.
	var payload, elems uint64
	switch {
	case b <= 0x7f, b >= 0xe0, b == 0xc0, b == 0xc2, b == 0xc3: // fixint, nil, bool
	case b&0xf0 == 0x80: // fixmap
		elems = 2 * uint64(b&0x0f)
	case b&0xf0 == 0x90: // fixarray
		elems = uint64(b & 0x0f)
	case b&0xe0 == 0xa0: // fixstr
		payload = uint64(b & 0x1f)
	default:
		var n uint64
		switch b {
		case 0xcc, 0xd0: // uint8, int8
			payload = 1
		case 0xcd, 0xd1: // uint16, int16
			payload = 2
		case 0xce, 0xd2, 0xca: // uint32, int32, float32
			payload = 4
		case 0xcf, 0xd3, 0xcb: // uint64, int64, float64
			payload = 8
		case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16, with their type
			payload = 1 + 1<<(b-0xd4)
		case 0xc4, 0xd9: // bin8, str8
			dst, n, err = readLength(r, dst, 1)
			payload = n
		case 0xc5, 0xda: // bin16, str16
			dst, n, err = readLength(r, dst, 2)
			payload = n
		case 0xc6, 0xdb: // bin32, str32
			dst, n, err = readLength(r, dst, 4)
			payload = n
		case 0xc7, 0xc8, 0xc9: // ext8, ext16, ext32, with their type
			dst, n, err = readLength(r, dst, 1<<(b-0xc7))
			payload = n + 1
		case 0xdc, 0xdd: // array16, array32
			dst, n, err = readLength(r, dst, 2<<(b-0xdc))
			elems = n
		case 0xde, 0xdf: // map16, map32
			dst, n, err = readLength(r, dst, 2<<(b-0xde))
			elems = 2 * n
		default:
			return dst, fmt.Errorf("msgpack: invalid type byte %#02x", b)
		}
		if err != nil {
			return dst, err
		}
	}
	if payload > 0 {
		if payload > maxRawLen {
			return dst, fmt.Errorf("msgpack value of %d bytes: damaged stream", payload)
		}
		n := len(dst)
		dst = slices.Grow(dst, int(payload))[:n+int(payload)]
		if _, err := io.ReadFull(r, dst[n:]); err != nil {
			return dst, io.ErrUnexpectedEOF
		}
	}
	for ; elems > 0; elems-- {
		if dst, err = readValue(r, dst, depth+1); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return dst, err
		}
	}
	return dst, nil
}

// maxRawLen bounds one string or binary value, so that a damaged length
// fails instead of allocating what it says.
const maxRawLen = 1 << 30

// readLength appends and returns a big-endian length of size bytes.
func readLength(r *bufio.Reader, dst []byte, size int) ([]byte, uint64, error) {
	var b [4]byte
	if _, err := io.ReadFull(r, b[:size]); err != nil {
		return dst, 0, io.ErrUnexpectedEOF
	}
	dst = append(dst, b[:size]...)
	switch size {
	case 1:
		return dst, uint64(b[0]), nil
	case 2:
		return dst, uint64(binary.BigEndian.Uint16(b[:2])), nil
	}
	return dst, uint64(binary.BigEndian.Uint32(b[:4])), nil
}
