package command

import (
	"os"
	"testing"
	"time"
)

// TestMain pins the local zone so that formatted times are stable.
func TestMain(m *testing.M) {
	time.Local = time.UTC
	os.Exit(m.Run())
}

// testNow is the fixed "now" of the tests.
var testNow = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

func TestFormatList(t *testing.T) {
	cases := []struct {
		name string
		rows []string
		want string
	}{
		{
			name: "columns aligned with two spaces, last column unpadded",
			rows: []string{"ID|Type|Priority|Status", "example|service|50|running", "a|batch|100|dead"},
			want: "ID       Type     Priority  Status\n" +
				"example  service  50        running\n" +
				"a        batch    100       dead",
		},
		{
			name: "empty cells read <none>",
			rows: []string{"ID|Class|Status", "f7780117||ready"},
			want: "ID        Class   Status\n" +
				"f7780117  <none>  ready",
		},
		{
			name: "cells are trimmed",
			rows: []string{" a | b ", "ccc|d"},
			want: "a    b\nccc  d",
		},
		{
			name: "single row",
			rows: []string{"only"},
			want: "only",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatList(tc.rows); got != tc.want {
				t.Errorf("formatList:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestFormatKV(t *testing.T) {
	cases := []struct {
		name string
		rows []string
		want string
	}{
		{
			name: "keys padded to the widest",
			rows: []string{"ID|example", "Submit Date|2026-11-25T08:00:00Z", "Type|service"},
			want: "ID          = example\nSubmit Date = 2026-11-25T08:00:00Z\nType        = service",
		},
		{
			name: "empty value reads <none>",
			rows: []string{"Desired Description|", "ID|x"},
			want: "Desired Description = <none>\nID                  = x",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatKV(tc.rows); got != tc.want {
				t.Errorf("formatKV:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestPrettyTimeDiff(t *testing.T) {
	cases := []struct {
		name string
		then time.Time
		want string
	}{
		{"seconds", testNow.Add(-10 * time.Second), "10s ago"},
		{"now", testNow, "0s ago"},
		{"minutes and seconds", testNow.Add(-(3*time.Minute + 12*time.Second)), "3m12s ago"},
		{"whole minute keeps zero seconds", testNow.Add(-time.Minute), "1m0s ago"},
		{"hours drop seconds", testNow.Add(-(time.Hour + 5*time.Minute + 9*time.Second)), "1h5m ago"},
		{"days and hours", testNow.Add(-(51 * time.Hour)), "2d3h ago"},
		{"future", testNow.Add(90 * time.Second), "1m30s from now"},
		{"rounds to seconds", testNow.Add(-(1600 * time.Millisecond)), "2s ago"},
		{"zero time is empty", time.Time{}, ""},
		{"unix zero is empty", time.Unix(0, 0), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := prettyTimeDiff(tc.then, testNow); got != tc.want {
				t.Errorf("prettyTimeDiff = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFormatTime(t *testing.T) {
	cases := []struct {
		name string
		in   time.Time
		want string
	}{
		{"RFC 3339 in the local zone", testNow, "2026-11-25T08:00:00Z"},
		{"zero", time.Time{}, ""},
		{"other zone converted", time.Date(2026, 11, 25, 9, 0, 0, 0, time.FixedZone("CET", 3600)), "2026-11-25T08:00:00Z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatTime(tc.in); got != tc.want {
				t.Errorf("formatTime = %q, want %q", got, tc.want)
			}
		})
	}
	if got := formatUnixNano(testNow.UnixNano()); got != "2026-11-25T08:00:00Z" {
		t.Errorf("formatUnixNano = %q", got)
	}
}

func TestHumanBytes(t *testing.T) {
	cases := []struct {
		name string
		in   uint64
		want string
	}{
		{"bytes", 300, "300 B"},
		{"zero", 0, "0 B"},
		{"kibibytes with a decimal below ten", 1536, "1.5 KiB"},
		{"mebibytes", 256 << 20, "256 MiB"},
		{"gibibytes", 3 << 30, "3.0 GiB"},
		{"large mebibytes", 300 << 20, "300 MiB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := humanBytes(tc.in); got != tc.want {
				t.Errorf("humanBytes(%d) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestShortID(t *testing.T) {
	cases := []struct {
		name    string
		id      string
		verbose bool
		want    string
	}{
		{"uuid shortened", "5cbf23a1-7d38-9d1a-7f06-8a1e1d1e2f3a", false, "5cbf23a1"},
		{"verbose keeps it", "5cbf23a1-7d38-9d1a-7f06-8a1e1d1e2f3a", true, "5cbf23a1-7d38-9d1a-7f06-8a1e1d1e2f3a"},
		{"short id unchanged", "abc", false, "abc"},
		{"empty", "", false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := shortID(tc.id, tc.verbose); got != tc.want {
				t.Errorf("shortID = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSanitizeUUIDPrefix(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"even kept", "abcd", "abcd"},
		{"odd shortened", "abcde", "abcd"},
		{"hyphen not counted", "5cbf23a1-7", "5cbf23a1-"},
		{"hyphen even", "5cbf23a1-7d", "5cbf23a1-7d"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := sanitizeUUIDPrefix(tc.in); got != tc.want {
				t.Errorf("sanitizeUUIDPrefix(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
