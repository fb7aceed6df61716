package ingress

import (
	"bytes"
	"strconv"
)

// The serving loop's HTTP/1.x heads, parsed in place: the request line,
// status line and header fields are slices of the connection's read
// buffer, with no maps, strings or copies. The request parser takes only
// what the loop serves (origin-form targets, HTTP/1.0 and 1.1, no body,
// no upgrade, no Expect) and is strict: anything else, well-formed or
// not, is left to net/http, which answers it (or refuses it: 400, 431,
// 505) as it always has.

// field is one header line: its name as sent and its value, trimmed.
type field struct{ name, value []byte }

// parseResult is what a parser made of the bytes it was given.
type parseResult int

const (
	parseDone  parseResult = iota // a whole head
	parseMore                     // the head is not all here yet
	parseOther                    // not for the loop (request), or malformed (response)
)

// requestHead is a request head the loop serves.
type requestHead struct {
	size           int // bytes of the head, the final empty line included
	method, target []byte
	http10         bool
	isHead         bool   // method HEAD: the response has no body
	host           []byte // the Host header's value; nil when absent (HTTP/1.0)
	keepAlive      bool   // the client keeps the connection after the response
	teTrailers     bool   // TE lists "trailers"
	fields         []field
	dropped        [][]byte // header names listed in Connection: hop-by-hop
}

// parseRequest parses the request head at the start of buf into h.
func parseRequest(buf []byte, h *requestHead) parseResult {
	*h = requestHead{fields: h.fields[:0], dropped: h.dropped[:0]}
	line, next, res := nextLine(buf, 0, true)
	if res != parseDone {
		return res
	}
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || !isToken(line[:sp]) {
		return parseOther
	}
	h.method, line = line[:sp], line[sp+1:]
	sp = bytes.IndexByte(line, ' ')
	if sp <= 0 || line[0] != '/' || !validTarget(line[:sp]) {
		return parseOther // also absolute-form, authority-form and "*"
	}
	h.target = line[:sp]
	switch string(line[sp+1:]) {
	case "HTTP/1.1":
	case "HTTP/1.0":
		h.http10 = true
	default:
		return parseOther
	}
	h.isHead = string(h.method) == "HEAD"
	var closeTok, keepTok, sawLength bool
	for {
		line, next, res = nextLine(buf, next, true)
		if res != parseDone {
			return res
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := splitField(line)
		if !ok {
			return parseOther
		}
		switch {
		case asciiEqualFold(name, "host"):
			if h.host != nil || !validHost(value) {
				return parseOther
			}
			h.host = value
			continue
		case asciiEqualFold(name, "content-length"):
			if sawLength || string(value) != "0" {
				return parseOther // a body: net/http's path
			}
			sawLength = true
		case asciiEqualFold(name, "transfer-encoding"), asciiEqualFold(name, "upgrade"), asciiEqualFold(name, "expect"):
			return parseOther
		case asciiEqualFold(name, "connection"):
			h.dropped = connectionOptions(value, &closeTok, &keepTok, h.dropped)
		case asciiEqualFold(name, "te"):
			forEachToken(value, func(tok []byte) { h.teTrailers = h.teTrailers || asciiEqualFold(tok, "trailers") })
		}
		h.fields = append(h.fields, field{name, value})
	}
	if h.host == nil && !h.http10 {
		return parseOther // net/http answers 400: HTTP/1.1 requires Host
	}
	h.size = next
	h.keepAlive = !closeTok && (!h.http10 || keepTok)
	return parseDone
}

// responseHead is an instance's response head.
type responseHead struct {
	size          int
	status        int
	statusText    []byte // the status line after the version: "200 OK"
	http10        bool
	fields        []field
	dropped       [][]byte // header names listed in Connection
	contentLength int64    // -1: none
	chunked       bool
	keepAlive     bool // the instance keeps the connection
	hasDate       bool
}

// parseResponse parses the response head at the start of buf into h;
// parseOther means a malformed head. Like net/http's client it takes
// lines ended by a bare LF.
func parseResponse(buf []byte, h *responseHead) parseResult {
	*h = responseHead{fields: h.fields[:0], dropped: h.dropped[:0], contentLength: -1}
	line, next, res := nextLine(buf, 0, false)
	if res != parseDone {
		return res
	}
	if len(line) < 12 || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return parseOther
	}
	switch string(line[:8]) {
	case "HTTP/1.1":
	case "HTTP/1.0":
		h.http10 = true
	default:
		return parseOther
	}
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil || code < 100 {
		return parseOther
	}
	h.status, h.statusText = code, line[9:]
	var closeTok, keepTok bool
	for {
		line, next, res = nextLine(buf, next, false)
		if res != parseDone {
			return res
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := splitField(line)
		if !ok {
			return parseOther
		}
		switch {
		case asciiEqualFold(name, "content-length"):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 || (h.contentLength >= 0 && n != h.contentLength) {
				return parseOther
			}
			h.contentLength = n
		case asciiEqualFold(name, "transfer-encoding"):
			// The last coding decides: chunked, or read to the end.
			h.chunked = false
			forEachToken(value, func(tok []byte) { h.chunked = asciiEqualFold(tok, "chunked") })
			if !h.chunked {
				closeTok = true
			}
		case asciiEqualFold(name, "connection"):
			h.dropped = connectionOptions(value, &closeTok, &keepTok, h.dropped)
		case asciiEqualFold(name, "date"):
			h.hasDate = true
		}
		h.fields = append(h.fields, field{name, value})
	}
	if h.chunked {
		h.contentLength = -1
	}
	h.size = next
	h.keepAlive = !closeTok && (!h.http10 || keepTok)
	return parseDone
}

// nextLine returns the line of buf starting at off, without its ending,
// and where the next starts. strict: only CRLF ends a line, a bare LF is
// parseOther.
func nextLine(buf []byte, off int, strict bool) (line []byte, next int, res parseResult) {
	i := bytes.IndexByte(buf[off:], '\n')
	if i < 0 {
		return nil, 0, parseMore
	}
	end := off + i
	switch {
	case end > off && buf[end-1] == '\r':
		return buf[off : end-1], end + 1, parseDone
	case strict:
		return nil, 0, parseOther
	}
	return buf[off:end], end + 1, parseDone
}

// splitField splits a header line into its name (a token followed at
// once by a colon) and its value, trimmed; a line folded onto the
// previous one, a bad name or a control byte in the value is refused.
func splitField(line []byte) (name, value []byte, ok bool) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || !isToken(line[:colon]) {
		return nil, nil, false
	}
	value = trimOWS(line[colon+1:])
	for _, b := range value {
		if (b < ' ' && b != '\t') || b == 0x7f {
			return nil, nil, false
		}
	}
	return line[:colon], value, true
}

// connectionOptions reads a Connection header's value: close and
// keep-alive set their flags, every other token is a header name to drop,
// appended to dropped.
func connectionOptions(value []byte, closeTok, keepTok *bool, dropped [][]byte) [][]byte {
	forEachToken(value, func(tok []byte) {
		switch {
		case asciiEqualFold(tok, "close"):
			*closeTok = true
		case asciiEqualFold(tok, "keep-alive"):
			*keepTok = true
		default:
			dropped = append(dropped, tok)
		}
	})
	return dropped
}

// forEachToken calls f with each comma-separated element of a list
// header's value, trimmed; empty ones are skipped.
func forEachToken(value []byte, f func([]byte)) {
	for len(value) > 0 {
		tok := value
		if i := bytes.IndexByte(value, ','); i >= 0 {
			tok, value = value[:i], value[i+1:]
		} else {
			value = nil
		}
		if tok = trimOWS(tok); len(tok) > 0 {
			f(tok)
		}
	}
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// asciiEqualFold reports whether b is lower, an ASCII lower-case word,
// ignoring case.
func asciiEqualFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// hopByHopName reports the headers that concern one connection only (RFC
// 9110 7.6.1), as hopByHop does for canonical names.
func hopByHopName(name []byte) bool {
	switch len(name) {
	case 2:
		return asciiEqualFold(name, "te")
	case 7:
		return asciiEqualFold(name, "trailer") || asciiEqualFold(name, "upgrade")
	case 10:
		return asciiEqualFold(name, "connection") || asciiEqualFold(name, "keep-alive")
	case 16:
		return asciiEqualFold(name, "proxy-connection")
	case 17:
		return asciiEqualFold(name, "transfer-encoding")
	case 18:
		return asciiEqualFold(name, "proxy-authenticate")
	case 19:
		return asciiEqualFold(name, "proxy-authorization")
	}
	return false
}

// forwardingName reports the incoming forwarding headers the ingress
// replaces, as forwarding does for canonical names.
func forwardingName(name []byte) bool {
	return asciiEqualFold(name, "forwarded") || asciiEqualFold(name, "x-forwarded-for") ||
		asciiEqualFold(name, "x-forwarded-host") || asciiEqualFold(name, "x-forwarded-proto")
}

// listed reports whether name is one of names, ignoring case.
func listed(names [][]byte, name []byte) bool {
	for _, n := range names {
		if bytes.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// isToken reports whether b is an RFC 9110 token (a method, a header
// name).
func isToken(b []byte) bool {
	for _, c := range b {
		if !tokenByte[c] {
			return false
		}
	}
	return len(b) > 0
}

// validTarget reports whether an origin-form target has only the bytes
// a URL may hold (no fragment: a client does not send one) and its path
// only well-formed escapes, as net/http's URL parser wants.
func validTarget(b []byte) bool {
	inPath := true
	for i, c := range b {
		switch {
		case c <= ' ' || c >= 0x7f || c == '#':
			return false
		case c == '?':
			inPath = false
		case c == '%' && inPath && (i+2 >= len(b) || !isHex(b[i+1]) || !isHex(b[i+2])):
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// validHost reports whether a Host value has only the bytes net/http
// accepts in one.
func validHost(b []byte) bool {
	for _, c := range b {
		if !hostByte[c] {
			return false
		}
	}
	return true
}

var tokenByte, hostByte [256]bool

func init() {
	for c := '0'; c <= '9'; c++ {
		tokenByte[c], hostByte[c] = true, true
	}
	for c := 'a'; c <= 'z'; c++ {
		tokenByte[c], hostByte[c] = true, true
		tokenByte[c-'a'+'A'], hostByte[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		tokenByte[c] = true
	}
	for _, c := range "!$&'()*+,-.:;=@[]_~%" {
		hostByte[c] = true
	}
}
