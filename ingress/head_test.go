package ingress

import (
	"strings"
	"testing"
)

// TestParseRequest checks what the serving loop takes (parseDone), waits
// for (parseMore) and leaves to net/http (parseOther).
func TestParseRequest(t *testing.T) {
	cases := []struct {
		name, head string
		want       parseResult
		keepAlive  bool
		host       string
		dropped    string // the names listed in Connection, comma-separated
	}{
		{"plain GET", "GET /a?b=1 HTTP/1.1\r\nHost: web.test\r\nAccept: */*\r\n\r\n", parseDone, true, "web.test", ""},
		{"not all here yet", "GET / HTTP/1.1\r\nHost: web.te", parseMore, false, "", ""},
		{"request line not all here", "GET / HT", parseMore, false, "", ""},
		{"HTTP/1.0 closes by default", "GET / HTTP/1.0\r\nHost: web.test\r\n\r\n", parseDone, false, "web.test", ""},
		{"HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nHost: web.test\r\nConnection: Keep-Alive\r\n\r\n", parseDone, true, "web.test", ""},
		{"HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", parseDone, false, "", ""},
		{"Connection: close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", parseDone, false, "a", ""},
		{"Connection lists hop-by-hop headers", "GET / HTTP/1.1\r\nhost: a\r\nConnection: X-Secret, ,keep-alive\r\n\r\n", parseDone, true, "a", "X-Secret"},
		{"Content-Length 0 is no body", "DELETE /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", parseDone, true, "a", ""},
		{"value trimmed", "GET / HTTP/1.1\r\nHost: \t a  \r\n\r\n", parseDone, true, "a", ""},

		{"bad request line: two spaces", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", parseOther, false, "", ""},
		{"bad request line: extra field", "GET / HTTP/1.1 x\r\nHost: a\r\n\r\n", parseOther, false, "", ""},
		{"bad request line: no version", "GET /\r\nHost: a\r\n\r\n", parseOther, false, "", ""},
		{"bad request line: method not a token", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", parseOther, false, "", ""},
		{"bad request line: control byte in target", "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", parseOther, false, "", ""},
		{"bad request line: bad escape", "GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n", parseOther, false, "", ""},
		{"bad request line: bare LF", "GET / HTTP/1.1\nHost: a\n\n", parseOther, false, "", ""},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", parseOther, false, "", ""},
		{"HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", parseOther, false, "", ""},
		{"absolute-form target", "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", parseOther, false, "", ""},
		{"asterisk-form target", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", parseOther, false, "", ""},
		{"HTTP/1.1 without Host", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", parseOther, false, "", ""},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", parseOther, false, "", ""},
		{"bad Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", parseOther, false, "", ""},
		{"folded header", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n 2\r\n\r\n", parseOther, false, "", ""},
		{"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", parseOther, false, "", ""},
		{"control byte in a value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\x00\r\n\r\n", parseOther, false, "", ""},
		{"header line without colon", "GET / HTTP/1.1\r\nHost: a\r\nX-A\r\n\r\n", parseOther, false, "", ""},
		{"a body", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", parseOther, false, "", ""},
		{"a chunked body", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", parseOther, false, "", ""},
		{"two Content-Lengths", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n", parseOther, false, "", ""},
		{"an upgrade", "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", parseOther, false, "", ""},
		{"Expect", "GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n", parseOther, false, "", ""},
	}
	var h requestHead
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := parseRequest([]byte(tc.head), &h)
			if got != tc.want {
				t.Fatalf("parse = %d, want %d", got, tc.want)
			}
			if got != parseDone {
				return
			}
			var dropped []string
			for _, d := range h.dropped {
				dropped = append(dropped, string(d))
			}
			if h.keepAlive != tc.keepAlive || string(h.host) != tc.host || strings.Join(dropped, ",") != tc.dropped || h.size != len(tc.head) {
				t.Fatalf("keepAlive %v host %q dropped %q size %d, want %v %q %q %d",
					h.keepAlive, h.host, dropped, h.size, tc.keepAlive, tc.host, tc.dropped, len(tc.head))
			}
		})
	}
}

// TestParseResponse checks the framing and connection reuse read from
// an instance's response heads.
func TestParseResponse(t *testing.T) {
	cases := []struct {
		name, head    string
		want          parseResult
		status        int
		contentLength int64
		chunked       bool
		keepAlive     bool
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", parseDone, 200, 5, false, true},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", parseDone, 200, -1, true, true},
		{"chunked wins over a length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", parseDone, 200, -1, true, true},
		{"not chunked last: read to the close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", parseDone, 200, -1, false, false},
		{"no length: read to the close", "HTTP/1.1 200 OK\r\n\r\n", parseDone, 200, -1, false, true},
		{"Connection: close", "HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", parseDone, 404, 0, false, false},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", parseDone, 200, 1, false, false},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n", parseDone, 200, 1, false, true},
		{"no reason phrase", "HTTP/1.1 204\r\n\r\n", parseDone, 204, -1, false, true},
		{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 2\n\n", parseDone, 200, 2, false, true},
		{"equal lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n", parseDone, 200, 2, false, true},
		{"not all here yet", "HTTP/1.1 200 OK\r\nContent-Le", parseMore, 0, 0, false, false},
		{"different lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n", parseOther, 0, 0, false, false},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", parseOther, 0, 0, false, false},
		{"bad status", "HTTP/1.1 2x0 OK\r\n\r\n", parseOther, 0, 0, false, false},
		{"bad version", "HTTP/2.0 200 OK\r\n\r\n", parseOther, 0, 0, false, false},
		{"bad header line", "HTTP/1.1 200 OK\r\nX-A\r\n\r\n", parseOther, 0, 0, false, false},
	}
	var h responseHead
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := parseResponse([]byte(tc.head), &h)
			if got != tc.want {
				t.Fatalf("parse = %d, want %d", got, tc.want)
			}
			if got != parseDone {
				return
			}
			if h.status != tc.status || h.contentLength != tc.contentLength || h.chunked != tc.chunked || h.keepAlive != tc.keepAlive || h.size != len(tc.head) {
				t.Fatalf("status %d length %d chunked %v keepAlive %v size %d, want %d %d %v %v %d", h.status, h.contentLength, h.chunked, h.keepAlive, h.size,
					tc.status, tc.contentLength, tc.chunked, tc.keepAlive, len(tc.head))
			}
		})
	}
}
