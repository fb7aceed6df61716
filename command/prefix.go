package command

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

// sanitizeUUIDPrefix shortens an identifier prefix to an even number of hex
// digits, the only prefixes a UUID index can be searched by.
func sanitizeUUIDPrefix(prefix string) string {
	digits := len(prefix) - strings.Count(prefix, "-")
	if digits%2 == 0 {
		return prefix
	}
	return prefix[:len(prefix)-1]
}

// withPrefix returns the items whose ID, as id reads it, starts with prefix.
func withPrefix[T any](items []T, prefix string, id func(T) string) []T {
	var matches []T
	for _, item := range items {
		if strings.HasPrefix(id(item), prefix) {
			matches = append(matches, item)
		}
	}
	return matches
}

// resolveJob finds the job whose ID is id or starts with it. It returns the
// job's ID and namespace, or a user-facing error: no match, or several
// matches listed as Nomad lists them (with their namespaces when the same
// ID lives in several, as with -namespace=*).
func resolveJob(client *api.Client, id string) (string, string, error) {
	jobs, _, err := client.Jobs().PrefixList(id)
	if err != nil {
		return "", "", fmt.Errorf("Error querying job: %s", err)
	}
	var exact, matches []*api.JobListStub
	namespaces := map[string]bool{}
	for _, j := range jobs {
		if j.ID == id {
			exact = append(exact, j)
		}
		if strings.HasPrefix(j.ID, id) {
			matches = append(matches, j)
			namespaces[j.Namespace] = true
		}
	}
	if len(exact) == 1 {
		return exact[0].ID, exact[0].Namespace, nil
	}
	switch len(matches) {
	case 0:
		return "", "", fmt.Errorf("No job(s) with prefix or id %q found", id)
	case 1:
		return matches[0].ID, matches[0].Namespace, nil
	}
	return "", "", fmt.Errorf("Prefix matched multiple jobs\n\n%s", formatJobList(matches, len(namespaces) > 1))
}

// resolveAlloc finds the allocation whose ID starts with prefix and returns
// it in full.
func resolveAlloc(client *api.Client, prefix string, now time.Time) (*api.Allocation, error) {
	if len(prefix) == 1 {
		return nil, fmt.Errorf("Alloc ID must contain at least two characters.")
	}
	stubs, _, err := client.Allocations().PrefixList(sanitizeUUIDPrefix(prefix))
	if err != nil {
		return nil, fmt.Errorf("Error querying allocation: %s", err)
	}
	matches := withPrefix(stubs, prefix, func(a *api.AllocationListStub) string { return a.ID })
	switch len(matches) {
	case 0:
		return nil, fmt.Errorf("No allocation(s) with prefix or id %q found", prefix)
	case 1:
	default:
		return nil, fmt.Errorf("Prefix matched multiple allocations\n\n%s",
			formatAllocListStubs(matches, true, now))
	}
	alloc, _, err := client.Allocations().Info(matches[0].ID, nil)
	if err != nil {
		return nil, fmt.Errorf("Error querying allocation: %s", err)
	}
	return alloc, nil
}

// resolveNode finds the node whose ID starts with prefix and returns it in
// full.
func resolveNode(client *api.Client, prefix string, verbose bool) (*api.Node, error) {
	if len(prefix) == 1 {
		return nil, fmt.Errorf("Identifier must contain at least two characters.")
	}
	stubs, _, err := client.Nodes().PrefixList(sanitizeUUIDPrefix(prefix))
	if err != nil {
		return nil, fmt.Errorf("Error querying node info: %s", err)
	}
	matches := withPrefix(stubs, prefix, func(n *api.NodeListStub) string { return n.ID })
	switch len(matches) {
	case 0:
		return nil, fmt.Errorf("No node(s) with prefix %q found", prefix)
	case 1:
	default:
		return nil, fmt.Errorf("Prefix matched multiple nodes\n\n%s", formatNodeList(matches, verbose))
	}
	node, _, err := client.Nodes().Info(matches[0].ID, nil)
	if err != nil {
		return nil, fmt.Errorf("Error querying node info: %s", err)
	}
	return node, nil
}

// resolveEval finds the evaluation whose ID starts with prefix.
func resolveEval(client *api.Client, prefix string) (*api.Evaluation, error) {
	if len(prefix) == 1 {
		return nil, fmt.Errorf("Identifier must contain at least two characters.")
	}
	evals, _, err := client.Evaluations().PrefixList(sanitizeUUIDPrefix(prefix))
	if err != nil {
		return nil, fmt.Errorf("Error querying evaluation: %v", err)
	}
	matches := withPrefix(evals, prefix, func(e *api.Evaluation) string { return e.ID })
	switch len(matches) {
	case 0:
		return nil, fmt.Errorf("No evaluation(s) with prefix or id %q found", prefix)
	case 1:
		return matches[0], nil
	}
	return nil, fmt.Errorf("Prefix matched multiple evaluations\n\n%s", formatEvalList(matches, false))
}
