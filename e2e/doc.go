// Package e2e holds Roam's end-to-end tests: they build the roam binary and
// drive real agents (a dev agent, multi-process clusters, agents in Docker
// containers) with the official Nomad Go API client and the roam CLI.
package e2e
