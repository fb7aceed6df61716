package server

import "errors"

// Errors callers can branch on with errors.Is; the HTTP layer maps them to
// status codes (400, 404).
var (
	ErrInvalid  = errors.New("invalid request")
	ErrNotFound = errors.New("not found")
)
