package server

import "errors"

// Errors callers can branch on with errors.Is; the HTTP layer maps them to
// status codes (400, 404, 503).
var (
	ErrInvalid  = errors.New("invalid request")
	ErrNotFound = errors.New("not found")
	// ErrNoLeader is a request no leader could take within the hold
	// time: one to retry shortly.
	ErrNoLeader = errors.New("No cluster leader")
)
