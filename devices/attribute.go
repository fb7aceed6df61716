package devices

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// unit is a unit of a device attribute: its family (values of one family
// compare with each other) and its size in the family's base unit.
type unit struct {
	family string
	scale  float64
}

// units are the units device attributes carry, as Nomad's plugins write
// them: bytes (decimal and binary), byte rates, power and frequency.
var units = func() map[string]unit {
	m := map[string]unit{
		"B": {"bytes", 1}, "B/s": {"rate", 1},
		"mW": {"power", 1e-3}, "W": {"power", 1}, "kW": {"power", 1e3}, "MW": {"power", 1e6}, "GW": {"power", 1e9},
		"Hz": {"frequency", 1}, "KHz": {"frequency", 1e3}, "MHz": {"frequency", 1e6}, "GHz": {"frequency", 1e9},
	}
	for i, p := range []string{"K", "M", "G", "T", "P", "E"} {
		dec, bin := math.Pow(1000, float64(i+1)), math.Pow(1024, float64(i+1))
		m[p+"B"] = unit{"bytes", dec}
		m[p+"iB"] = unit{"bytes", bin}
		m[p+"B/s"] = unit{"rate", dec}
		m[p+"iB/s"] = unit{"rate", bin}
	}
	return m
}()

// ParseAttribute reads a constraint's value as an attribute: a number with
// an optional known unit ("40 GiB", "250W", "7.5"), a boolean, or else a
// string.
func ParseAttribute(s string) *api.Attribute {
	s = strings.TrimSpace(s)
	num, u := splitUnit(s)
	if _, known := units[u]; u == "" || known {
		if i, err := strconv.ParseInt(num, 10, 64); err == nil {
			return &api.Attribute{IntVal: &i, Unit: u}
		}
		if f, err := strconv.ParseFloat(num, 64); err == nil {
			return &api.Attribute{FloatVal: &f, Unit: u}
		}
	}
	if b, err := strconv.ParseBool(s); err == nil {
		return &api.Attribute{BoolVal: &b}
	}
	return &api.Attribute{StringVal: &s}
}

// splitUnit splits "40 GiB" or "40GiB" into "40" and "GiB".
func splitUnit(s string) (string, string) {
	i := strings.IndexFunc(s, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r == '.' || r == '-' || r == '+' || r == 'e')
	})
	if i <= 0 {
		return s, ""
	}
	return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i:])
}

// numeric is an attribute's value in its family's base unit.
func numeric(a *api.Attribute) (float64, string, bool) {
	var v float64
	switch {
	case a.IntVal != nil:
		v = float64(*a.IntVal)
	case a.FloatVal != nil:
		v = *a.FloatVal
	default:
		return 0, "", false
	}
	if a.Unit == "" {
		return v, "", true
	}
	u, ok := units[a.Unit]
	if !ok {
		return 0, "", false
	}
	return v * u.scale, u.family, true
}

// CompareAttributes orders a against b: numbers of the same unit family
// (or without units) by value after conversion, strings and booleans by
// equality and strings by order. ok is false when they cannot be compared.
func CompareAttributes(a, b *api.Attribute) (cmp int, ok bool) {
	if a == nil || b == nil {
		return 0, false
	}
	a, b = sameUnit(a, b), sameUnit(b, a)
	if av, af, aok := numeric(a); aok {
		bv, bf, bok := numeric(b)
		if !bok || (af != bf && af != "" && bf != "") {
			return 0, false
		}
		switch {
		case av < bv:
			return -1, true
		case av > bv:
			return 1, true
		}
		return 0, true
	}
	switch {
	case a.StringVal != nil && b.StringVal != nil:
		return strings.Compare(*a.StringVal, *b.StringVal), true
	case a.BoolVal != nil && b.BoolVal != nil:
		if *a.BoolVal == *b.BoolVal {
			return 0, true
		}
		return 1, true
	}
	return 0, false
}

// sameUnit gives a number without a unit the unit of other, so that "40960"
// compares with "40960 MiB" as equal.
func sameUnit(a, other *api.Attribute) *api.Attribute {
	if a.Unit != "" || other.Unit == "" || (a.IntVal == nil && a.FloatVal == nil) {
		return a
	}
	c := *a
	c.Unit = other.Unit
	return &c
}

// FormatAttribute renders an attribute as Nomad prints it: "40960 MiB".
func FormatAttribute(a *api.Attribute) string {
	if a == nil {
		return ""
	}
	var s string
	switch {
	case a.IntVal != nil:
		s = strconv.FormatInt(*a.IntVal, 10)
	case a.FloatVal != nil:
		s = strconv.FormatFloat(*a.FloatVal, 'f', -1, 64)
	case a.BoolVal != nil:
		s = strconv.FormatBool(*a.BoolVal)
	case a.StringVal != nil:
		s = *a.StringVal
	}
	if a.Unit != "" {
		s = fmt.Sprintf("%s %s", s, a.Unit)
	}
	return s
}
