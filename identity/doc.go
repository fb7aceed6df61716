// Package identity is workload identity: the JSON Web Tokens a server
// signs for each task it places, their verification, and the public key
// set (JWKS) and OIDC discovery document third parties verify them with.
package identity
