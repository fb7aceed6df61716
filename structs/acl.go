package structs

import (
	"time"

	"github.com/hashicorp/nomad/api"
)

// ACL token types.
const (
	ACLClientToken     = "client"
	ACLManagementToken = "management"
)

// AnonymousPolicy is the policy applied to requests without a token.
const AnonymousPolicy = "anonymous"

// ACLPolicyUpsertRequest creates or replaces policies.
type ACLPolicyUpsertRequest struct {
	Policies []*api.ACLPolicy
}

// ACLPolicyDeleteRequest deletes policies by name.
type ACLPolicyDeleteRequest struct {
	Names []string
}

// ACLTokenUpsertRequest creates or updates tokens, complete with their
// secrets and expiration times.
type ACLTokenUpsertRequest struct {
	Tokens []*api.ACLToken
}

// ACLTokenDeleteRequest deletes tokens by accessor ID.
type ACLTokenDeleteRequest struct {
	AccessorIDs []string
}

// ACLTokenBootstrapRequest creates the first management token. It applies
// only while no bootstrap happened, or when ResetIndex names the index of
// the last one (an operator's reset).
type ACLTokenBootstrapRequest struct {
	Token      *api.ACLToken
	ResetIndex uint64
}

// ACLRoleUpsertRequest creates or updates roles.
type ACLRoleUpsertRequest struct {
	Roles []*api.ACLRole
}

// ACLRoleDeleteRequest deletes roles by ID.
type ACLRoleDeleteRequest struct {
	IDs []string
}

// WriteRequest carries the secret of the token a request acts with, so
// that the server serving a forwarded request checks it itself.
type WriteRequest struct {
	AuthToken string
}

// ACLBootstrapArgs bootstraps the ACL system; an empty BootstrapSecret
// lets the server generate one.
type ACLBootstrapArgs struct {
	BootstrapSecret string
}

// ACLPolicyUpsertArgs creates or replaces policies.
type ACLPolicyUpsertArgs struct {
	Policies []*api.ACLPolicy
	WriteRequest
}

// ACLPolicyDeleteArgs deletes policies.
type ACLPolicyDeleteArgs struct {
	Names []string
	WriteRequest
}

// ACLTokenUpsertArgs creates (no AccessorID) or updates a token.
type ACLTokenUpsertArgs struct {
	Token *api.ACLToken
	WriteRequest
}

// ACLTokenDeleteArgs deletes tokens.
type ACLTokenDeleteArgs struct {
	AccessorIDs []string
	WriteRequest
}

// ACLTokenReply is a token as stored, with the index it was written at.
type ACLTokenReply struct {
	Token *api.ACLToken
	Index uint64
}

// ACLRoleUpsertArgs creates (no ID) or updates a role.
type ACLRoleUpsertArgs struct {
	Role *api.ACLRole
	WriteRequest
}

// ACLRoleDeleteArgs deletes roles.
type ACLRoleDeleteArgs struct {
	IDs []string
	WriteRequest
}

// ACLRoleReply is a role as stored, with the index it was written at.
type ACLRoleReply struct {
	Role  *api.ACLRole
	Index uint64
}

// ACLResolveArgs asks a server for the token with SecretID and its
// policies, for an agent that resolves tokens without a state store.
type ACLResolveArgs struct {
	SecretID string
}

// ACLResolveReply is a live token and the policies it holds, directly
// and through its roles.
type ACLResolveReply struct {
	Token    *api.ACLToken
	Policies []*api.ACLPolicy
	// Workload is the implicit grant of a workload identity; nil for an
	// ACL token.
	Workload *WorkloadGrant
}

// OneTimeTokenTTL is how long a one-time token can be exchanged, as in
// Nomad.
const OneTimeTokenTTL = 10 * time.Minute

// OneTimeTokenUpsertRequest stores a new one-time token.
type OneTimeTokenUpsertRequest struct {
	Token *api.OneTimeToken
}

// OneTimeTokenExchangeRequest consumes a one-time token: it is deleted if
// it exists and had not expired at Time (the leader's clock, Unix ns).
type OneTimeTokenExchangeRequest struct {
	OneTimeSecretID string
	Time            int64
}

// OneTimeTokenExpireRequest deletes the one-time tokens expired at Time.
type OneTimeTokenExpireRequest struct {
	Time int64
}

// OneTimeTokenUpsertArgs creates a one-time token for the token the
// request carries.
type OneTimeTokenUpsertArgs struct {
	WriteRequest
}

// OneTimeTokenExchangeArgs exchanges a one-time secret for its token.
type OneTimeTokenExchangeArgs struct {
	OneTimeSecretID string
}

// OneTimeTokenReply is a one-time token as stored.
type OneTimeTokenReply struct {
	Token *api.OneTimeToken
	Index uint64
}

// The bounds of an auth method's MaxTokenTTL: Nomad's defaults of the
// ACL token expiration TTLs.
const (
	ACLTokenMinExpirationTTL = time.Minute
	ACLTokenMaxExpirationTTL = 24 * time.Hour
)

// ACLAuthMethodUpsertRequest creates or replaces auth methods.
type ACLAuthMethodUpsertRequest struct {
	AuthMethods []*api.ACLAuthMethod
}

// ACLAuthMethodDeleteRequest deletes auth methods, with their binding
// rules.
type ACLAuthMethodDeleteRequest struct {
	Names []string
}

// ACLBindingRuleUpsertRequest creates or replaces binding rules.
type ACLBindingRuleUpsertRequest struct {
	BindingRules []*api.ACLBindingRule
}

// ACLBindingRuleDeleteRequest deletes binding rules by ID.
type ACLBindingRuleDeleteRequest struct {
	IDs []string
}

// ACLAuthMethodUpsertArgs creates or updates an auth method; Update
// requires that it exists.
type ACLAuthMethodUpsertArgs struct {
	AuthMethod *api.ACLAuthMethod
	Update     bool
	WriteRequest
}

// ACLAuthMethodDeleteArgs deletes auth methods.
type ACLAuthMethodDeleteArgs struct {
	Names []string
	WriteRequest
}

// ACLAuthMethodReply is an auth method as stored.
type ACLAuthMethodReply struct {
	AuthMethod *api.ACLAuthMethod
	Index      uint64
}

// ACLBindingRuleUpsertArgs creates (no ID) or updates a binding rule.
type ACLBindingRuleUpsertArgs struct {
	BindingRule *api.ACLBindingRule
	WriteRequest
}

// ACLBindingRuleDeleteArgs deletes binding rules.
type ACLBindingRuleDeleteArgs struct {
	IDs []string
	WriteRequest
}

// ACLBindingRuleReply is a binding rule as stored.
type ACLBindingRuleReply struct {
	BindingRule *api.ACLBindingRule
	Index       uint64
}
