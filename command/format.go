package command

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// emptyCell is what Nomad prints in a table or key/value cell that has no
// value.
const emptyCell = "<none>"

// formatList aligns rows of "|"-separated cells into columns glued by two
// spaces, the layout of every table Nomad prints. The last column is not
// padded and empty cells read "<none>".
func formatList(rows []string) string {
	return columnize(rows, "  ")
}

// formatKV aligns "key|value" rows as "key = value", padding the keys to the
// widest one, as Nomad's header blocks do.
func formatKV(rows []string) string {
	return columnize(rows, " = ")
}

// columnize splits each row on "|" and pads every cell but the last of each
// row to its column's width, joining cells with glue.
func columnize(rows []string, glue string) string {
	cells := make([][]string, len(rows))
	var widths []int
	for i, row := range rows {
		cells[i] = strings.Split(row, "|")
		for j, cell := range cells[i] {
			cell = strings.TrimSpace(cell)
			if cell == "" {
				cell = emptyCell
			}
			cells[i][j] = cell
			if j >= len(widths) {
				widths = append(widths, 0)
			}
			if n := len([]rune(cell)); n > widths[j] {
				widths[j] = n
			}
		}
	}
	lines := make([]string, len(rows))
	for i, row := range cells {
		var b strings.Builder
		for j, cell := range row {
			if j == len(row)-1 {
				b.WriteString(cell)
				break
			}
			b.WriteString(cell)
			b.WriteString(strings.Repeat(" ", widths[j]-len([]rune(cell))))
			b.WriteString(glue)
		}
		lines[i] = b.String()
	}
	return strings.Join(lines, "\n")
}

// shortID returns the first eight characters of id unless verbose output was
// asked for, as Nomad shortens UUIDs in its tables.
func shortID(id string, verbose bool) string {
	if verbose || len(id) <= shortIDLength {
		return id
	}
	return id[:shortIDLength]
}

// shortIDLength is the length of an identifier shown in non-verbose output.
const shortIDLength = 8

// formatTime prints t in RFC 3339 in the local zone, or "" for a zero time.
func formatTime(t time.Time) string {
	if t.IsZero() || t.UnixNano() == 0 {
		return ""
	}
	return t.Local().Format(time.RFC3339)
}

// formatUnixNano prints a nanosecond Unix timestamp as formatTime does.
func formatUnixNano(ns int64) string {
	if ns == 0 {
		return ""
	}
	return formatTime(time.Unix(0, ns))
}

// prettyTimeDiff says how long before (or after) now t is, in at most its two
// largest units: "3m12s ago", "1h5m ago", "2d3h ago", "10s from now".
func prettyTimeDiff(t, now time.Time) string {
	if t.IsZero() || t.UnixNano() == 0 {
		return ""
	}
	t, now = t.Round(time.Second), now.Round(time.Second)
	d, suffix := now.Sub(t), " ago"
	if d < 0 {
		d, suffix = -d, " from now"
	}
	secs := int64(d / time.Second)
	units := []struct {
		n    int64
		name string
	}{{secs / 86400, "d"}, {secs % 86400 / 3600, "h"}, {secs % 3600 / 60, "m"}, {secs % 60, "s"}}
	first := len(units) - 1
	for i, u := range units {
		if u.n > 0 {
			first = i
			break
		}
	}
	out := fmt.Sprintf("%d%s", units[first].n, units[first].name)
	if first+1 < len(units) {
		out += fmt.Sprintf("%d%s", units[first+1].n, units[first+1].name)
	}
	return out + suffix
}

// humanBytes prints a byte count in binary units as Nomad does ("256 MiB",
// "1.5 GiB", "300 B").
func humanBytes(n uint64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v, i := float64(n)/1024, 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if v < 10 {
		return fmt.Sprintf("%.1f %s", v, units[i])
	}
	return fmt.Sprintf("%.0f %s", v, units[i])
}

// formatJSON renders v as Nomad's -json output does: indented by four
// spaces.
func formatJSON(v any) (string, error) {
	out, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return "", fmt.Errorf("encode JSON: %w", err)
	}
	return string(out), nil
}

// sortedKeys returns the keys of m in ascending order, so that output built
// from a map is stable.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// deref returns *p, or the zero value when p is nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// indent prefixes every non-empty line of s with prefix.
func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}
