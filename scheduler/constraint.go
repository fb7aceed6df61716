package scheduler

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/go-version"
	"github.com/hashicorp/nomad/api"
)

// constraintString renders a constraint as Nomad prints it in
// ConstraintFiltered, e.g. "${attr.kernel.name} = windows".
func constraintString(c *api.Constraint) string {
	op := c.Operand
	if op == "" {
		op = "="
	}
	return fmt.Sprintf("%s %s %s", c.LTarget, op, c.RTarget)
}

// resolveTarget interpolates a constraint target against a node:
// ${attr.*}, ${meta.*} and ${node.*}. A target that is no interpolation is
// a literal. found is false when the node has no such value.
func resolveTarget(target string, node *api.Node, region string) (string, bool) {
	if !strings.HasPrefix(target, "${") || !strings.HasSuffix(target, "}") {
		return target, true
	}
	key := target[2 : len(target)-1]
	switch key {
	case "node.unique.id":
		return node.ID, true
	case "node.unique.name":
		return node.Name, true
	case "node.datacenter":
		return node.Datacenter, true
	case "node.class":
		return node.NodeClass, true
	case "node.pool":
		return nodePool(node), true
	case "node.region":
		return region, region != ""
	}
	if attr, ok := strings.CutPrefix(key, "attr."); ok {
		v, found := node.Attributes[attr]
		return v, found
	}
	if meta, ok := strings.CutPrefix(key, "meta."); ok {
		v, found := node.Meta[meta]
		return v, found
	}
	return "", false
}

// constraintMatcher evaluates constraint operators, caching the regular
// expressions and version constraints it compiles.
type constraintMatcher struct {
	regexps  map[string]*regexp.Regexp
	versions map[string]version.Constraints
}

func newConstraintMatcher() *constraintMatcher {
	return &constraintMatcher{
		regexps:  make(map[string]*regexp.Regexp),
		versions: make(map[string]version.Constraints),
	}
}

// meets reports whether node satisfies the constraint. distinct_hosts and
// distinct_property depend on other placements and are checked elsewhere.
func (m *constraintMatcher) meets(c *api.Constraint, node *api.Node, region string) bool {
	l, lFound := resolveTarget(c.LTarget, node, region)
	r, rFound := resolveTarget(c.RTarget, node, region)
	both := lFound && rFound
	switch c.Operand {
	case "", "=", "==", "is":
		return both && l == r
	case "!=", "not":
		return lFound != rFound || l != r
	case "<", "<=", ">", ">=":
		return both && compareOrder(c.Operand, l, r)
	case api.ConstraintAttributeIsSet:
		return lFound
	case api.ConstraintAttributeIsNotSet:
		return !lFound
	case api.ConstraintRegex:
		return both && m.matchRegexp(l, r)
	case api.ConstraintVersion:
		return both && m.matchVersion(l, r, false)
	case api.ConstraintSemver:
		return both && m.matchVersion(l, r, true)
	case api.ConstraintSetContains, api.ConstraintSetContainsAll:
		return both && setContains(l, r, true)
	case api.ConstraintSetContainsAny:
		return both && setContains(l, r, false)
	case api.ConstraintDistinctHosts, api.ConstraintDistinctProperty:
		return true
	}
	return false
}

// compareOrder compares as integers, then as floats, then as strings.
func compareOrder(op, l, r string) bool {
	var cmp int
	li, lErr := strconv.ParseInt(l, 10, 64)
	ri, rErr := strconv.ParseInt(r, 10, 64)
	if lErr == nil && rErr == nil {
		cmp = compare(li, ri)
	} else if lf, lErr := strconv.ParseFloat(l, 64); lErr == nil {
		rf, rErr := strconv.ParseFloat(r, 64)
		if rErr != nil {
			return false
		}
		cmp = compare(lf, rf)
	} else {
		cmp = strings.Compare(l, r)
	}
	switch op {
	case "<":
		return cmp < 0
	case "<=":
		return cmp <= 0
	case ">":
		return cmp > 0
	default:
		return cmp >= 0
	}
}

func compare[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (m *constraintMatcher) matchRegexp(value, pattern string) bool {
	re, ok := m.regexps[pattern]
	if !ok {
		re, _ = regexp.Compile(pattern) // an invalid pattern matches nothing
		m.regexps[pattern] = re
	}
	return re != nil && re.MatchString(value)
}

// matchVersion checks value against a version constraint such as
// ">= 1.2, < 2.0"; semver demands a strict semantic version.
func (m *constraintMatcher) matchVersion(value, constraint string, semver bool) bool {
	key := constraint
	if semver {
		key = "semver:" + constraint
	}
	cs, ok := m.versions[key]
	if !ok {
		cs, _ = version.NewConstraint(constraint) // invalid: matches nothing
		m.versions[key] = cs
	}
	if cs == nil {
		return false
	}
	var v *version.Version
	var err error
	if semver {
		v, err = version.NewSemver(value)
	} else {
		v, err = version.NewVersion(value)
	}
	return err == nil && cs.Check(v)
}

// setContains checks the comma-separated values of want against the
// comma-separated set have: all of them, or any of them.
func setContains(have, want string, all bool) bool {
	set := make(map[string]bool)
	for v := range strings.SplitSeq(have, ",") {
		set[strings.TrimSpace(v)] = true
	}
	for v := range strings.SplitSeq(want, ",") {
		in := set[strings.TrimSpace(v)]
		if all && !in {
			return false
		}
		if !all && in {
			return true
		}
	}
	return all
}

// globMatch matches s against a pattern in which "*" stands for any run of
// characters, as Nomad matches datacenters.
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}
