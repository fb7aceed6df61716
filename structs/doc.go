// Package structs holds Roam's cluster model and the rules that go with it.
//
// Roam stores and schedules the wire types of github.com/hashicorp/nomad/api
// (api.Job, api.Allocation, api.Evaluation, api.Node, ...) directly, so that
// what the HTTP API returns is JSON-identical to Nomad by construction and no
// conversion layer can drift. This package adds what the wire types lack:
// constants for statuses, the types that exist only inside the server (plans,
// Raft messages), validation, canonical defaults and resource arithmetic.
// One entity per file.
package structs
