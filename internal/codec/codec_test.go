package codec

import (
	"bufio"
	"bytes"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestValuesKeepTheirShape checks what the handle promises beyond JSON's
// behaviour: time zones kept, integers in interface{} values kept as
// int64, maps in them decoded as map[string]any, []byte apart from
// strings.
func TestValuesKeepTheirShape(t *testing.T) {
	type doc struct {
		When    time.Time
		Zero    time.Time
		Dynamic any
		Bytes   []byte
		Skipped string   `json:"-"`
		Omitted []string `json:",omitempty"`
	}
	zone := time.FixedZone("", -5*3600)
	cases := []struct {
		name string
		in   doc
		want doc
	}{
		{"time keeps its offset", doc{When: time.Date(2026, 1, 2, 3, 4, 5, 6, zone)}, doc{When: time.Date(2026, 1, 2, 3, 4, 5, 6, zone)}},
		{"utc time", doc{When: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}, doc{When: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}},
		{"integers stay integers", doc{Dynamic: []any{int64(7), 2.5, uint64(9)}}, doc{Dynamic: []any{int64(7), 2.5, int64(9)}}},
		{"nested maps have string keys", doc{Dynamic: map[string]any{"m": map[string]any{"k": "v"}}}, doc{Dynamic: map[string]any{"m": map[string]any{"k": "v"}}}},
		{"bytes stay bytes", doc{Bytes: []byte{0, 1, 2}, Dynamic: []byte("b")}, doc{Bytes: []byte{0, 1, 2}, Dynamic: []byte("b")}},
		{"json tags are honoured", doc{Skipped: "secret", Omitted: []string{}}, doc{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data, err := Marshal(&tc.in)
			if err != nil {
				t.Fatal(err)
			}
			var got doc
			if err := Unmarshal(data, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

// TestStreamEndsWithEOF writes values one after the other and reads them
// back until io.EOF, as snapshots do.
func TestStreamEndsWithEOF(t *testing.T) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	enc := NewEncoder(w)
	for i := 0; i < 3; i++ {
		if err := enc.Encode(map[string]int{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	dec := NewDecoder(bufio.NewReader(&buf))
	for i := 0; ; i++ {
		var got map[string]int
		err := dec.Decode(&got)
		if err == io.EOF {
			if i != 3 {
				t.Fatalf("EOF after %d values, want 3", i)
			}
			return
		}
		if err != nil || got["i"] != i {
			t.Fatalf("value %d: %v, %v", i, got, err)
		}
	}
}

// TestReadRaw reads a stream's values undecoded and decodes each: to the
// end of the stream (io.EOF), or to where a cut stream ends inside a value
// (io.ErrUnexpectedEOF). The values hold every kind msgpack has.
func TestReadRaw(t *testing.T) {
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	long := strings.Repeat("x", 70000)
	for i := 0; i < 3; i++ {
		v := map[string]any{"i": i, "s": []string{"a", "b", long[:40], long[:300]}, "neg": -5, "big": int64(-1) << 40,
			"u": uint64(1) << 63, "f": 1.5, "f32": float32(2.5), "nil": nil, "t": true, "bin": []byte("raw"),
			"long": long, "time": time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), "many": make([]int, 40),
			"bigmap": map[string]int{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8, "i": 9, "j": 10, "k": 11, "l": 12, "m": 13, "n": 14, "o": 15, "p": 16, "q": 17}}
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
	}
	whole := buf.Bytes()
	cases := []struct {
		name   string
		stream []byte
		values int
		end    error
	}{
		{"whole stream", whole, 3, io.EOF},
		{"cut inside the last value", whole[:len(whole)-2], 2, io.ErrUnexpectedEOF},
		{"empty stream", nil, 0, io.EOF},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := bufio.NewReader(bytes.NewReader(tc.stream))
			for i := 0; ; i++ {
				raw, err := ReadRaw(r, nil)
				if err != nil {
					if i != tc.values || err != tc.end {
						t.Fatalf("after %d values: %v, want %v after %d", i, err, tc.end, tc.values)
					}
					return
				}
				var got struct {
					I    int     `json:"i"`
					Long string  `json:"long"`
					F32  float32 `json:"f32"`
				}
				if err := Unmarshal(raw, &got); err != nil || got.I != i || got.Long != long || got.F32 != 2.5 {
					t.Fatalf("value %d decodes as %d, %d bytes, %v, %v", i, got.I, len(got.Long), got.F32, err)
				}
			}
		})
	}
}

// TestIsJSON tells the JSON bodies of earlier versions from others.
func TestIsJSON(t *testing.T) {
	cases := []struct {
		name string
		body []byte
		want bool
	}{
		{"object", []byte(`{"A":1}`), true},
		{"object after space", []byte(" \n{}"), true},
		{"msgpack", []byte{Format, 0x80}, false},
		{"empty", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsJSON(tc.body); got != tc.want {
				t.Errorf("IsJSON(%q) = %v, want %v", tc.body, got, tc.want)
			}
		})
	}
}

// TestHostileInputIsAnError decodes what a damaged entry or a hostile
// peer could send: lengths claiming gigabytes with nothing after them, and
// garbage. Each is an error, never a panic, and allocates as much as the
// input holds, not as much as it claims.
func TestHostileInputIsAnError(t *testing.T) {
	type doc struct {
		B []byte
		L []string
		M map[string]string
		S string
		A any
	}
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(i*7919 + i/3)
	}
	cases := []struct {
		name string
		data []byte
	}{
		{"huge binary", []byte{0x81, 0xa1, 'B', 0xc6, 0x7f, 0xff, 0xff, 0xff}},
		{"huge string", []byte{0x81, 0xa1, 'S', 0xdb, 0x7f, 0xff, 0xff, 0xff}},
		{"huge array", []byte{0x81, 0xa1, 'L', 0xdd, 0x7f, 0xff, 0xff, 0xff}},
		{"huge map", []byte{0x81, 0xa1, 'M', 0xdf, 0x7f, 0xff, 0xff, 0xff}},
		{"huge map in an interface", []byte{0x81, 0xa1, 'A', 0xdf, 0x7f, 0xff, 0xff, 0xff}},
		{"garbage", garbage},
		{"deep nesting", append([]byte{0x81, 0xa1, 'A'}, bytes.Repeat([]byte{0x91}, 1<<20)...)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			readers := []struct {
				name   string
				decode func(*doc) error
			}{
				{"bytes", func(d *doc) error { return Unmarshal(tc.data, d) }},
				{"stream", func(d *doc) error { return NewDecoder(bufio.NewReader(bytes.NewReader(tc.data))).Decode(d) }},
			}
			for _, r := range readers {
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				var d doc
				err := r.decode(&d)
				runtime.ReadMemStats(&after)
				if err == nil {
					t.Errorf("%s: decoded %q without an error", r.name, tc.data[:min(len(tc.data), 16)])
				}
				if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
					t.Errorf("%s: allocated %d MiB for %d bytes of input", r.name, grew>>20, len(tc.data))
				}
			}
		})
	}
}

// TestReadRawRejects fails on what no msgpack encoder writes, without
// allocating or recursing as a damaged length or nesting says.
func TestReadRawRejects(t *testing.T) {
	cases := []struct {
		name   string
		stream []byte
		want   string
	}{
		{"type byte msgpack never uses", []byte{0xc1}, "invalid type byte"},
		{"string longer than any", []byte{0xdb, 0xff, 0xff, 0xff, 0xff}, "damaged stream"},
		{"nesting past the bound", bytes.Repeat([]byte{0x91}, maxRawNesting+2), "nested"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadRaw(bufio.NewReader(bytes.NewReader(tc.stream)), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadRaw = %v, want an error with %q", err, tc.want)
			}
		})
	}
}
