// Package paginate applies the list parameters Nomad's HTTP API accepts on
// every list endpoint: a go-bexpr ?filter= expression, per_page,
// next_token and reverse. Filtering comes first, paging second, as in
// Nomad, so that a page holds per_page matching objects.
package paginate

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/go-bexpr"
)

// ErrInvalid marks a parameter that cannot be used: a filter that does not
// parse or names a field the objects lack, a per_page that is no number.
var ErrInvalid = errors.New("invalid list parameter")

// Options are a list request's filter and paging parameters.
type Options struct {
	// Filter is a go-bexpr expression over the listed objects' fields.
	Filter string
	// PerPage caps a page; 0 means all.
	PerPage int
	// NextToken is the key of the first object of the page wanted, as the
	// previous page's X-Nomad-NextToken gave it.
	NextToken string
	// Reverse lists in descending key order.
	Reverse bool
}

// FromQuery reads the options from a request's query string.
func FromQuery(q url.Values) (Options, error) {
	opts := Options{Filter: q.Get("filter"), NextToken: q.Get("next_token")}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return opts, fmt.Errorf("%w: per_page %q is not a whole number", ErrInvalid, v)
		}
		opts.PerPage = n
	}
	if v := q.Get("reverse"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return opts, fmt.Errorf("%w: reverse %q is not a boolean", ErrInvalid, v)
		}
		opts.Reverse = b
	}
	return opts, nil
}

// paging reports whether the options ask for an order: a page, a token or
// the reverse order.
func (o Options) paging() bool { return o.PerPage > 0 || o.NextToken != "" || o.Reverse }

// Apply returns the page of items the options select, and the token of the
// next page ("" on the last one). key gives an object's token, unique in
// the list; a paged list is ordered by it, an unpaged one keeps the order
// it came in.
func Apply[T any](items []T, key func(T) string, opts Options) ([]T, string, error) {
	out := items
	if opts.Filter != "" {
		eval, err := bexpr.CreateEvaluator(opts.Filter)
		if err != nil {
			return nil, "", fmt.Errorf("%w: failed to read filter expression: %v", ErrInvalid, err)
		}
		out = make([]T, 0, len(items))
		for _, it := range items {
			ok, err := eval.Evaluate(it)
			if err != nil {
				return nil, "", fmt.Errorf("%w: failed to apply filter expression: %v", ErrInvalid, err)
			}
			if ok {
				out = append(out, it)
			}
		}
	}
	if !opts.paging() {
		return out, "", nil
	}
	out = slices.Clone(out)
	slices.SortStableFunc(out, func(a, b T) int {
		if opts.Reverse {
			return strings.Compare(key(b), key(a))
		}
		return strings.Compare(key(a), key(b))
	})
	if opts.NextToken != "" {
		// The first object at or past the token: the one it names, or its
		// successor when that one is gone since.
		start, _ := slices.BinarySearchFunc(out, opts.NextToken, func(it T, tok string) int {
			if opts.Reverse {
				return strings.Compare(tok, key(it))
			}
			return strings.Compare(key(it), tok)
		})
		out = out[start:]
	}
	if opts.PerPage > 0 && len(out) > opts.PerPage {
		return out[:opts.PerPage], key(out[opts.PerPage]), nil
	}
	return out, "", nil
}
