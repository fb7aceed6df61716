package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-uuid"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/acl"
	"github.com/roam-project/roam/identity"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// validACLName is the form of policy and role names, as in Nomad.
var validACLName = regexp.MustCompile(`^[a-zA-Z0-9-]{1,128}$`)

// BootstrapACL creates the first management token, once. The secret is
// the operator's when given (a UUID), generated otherwise.
func (s *Server) BootstrapACL(args *structs.ACLBootstrapArgs) (*api.ACLToken, error) {
	var reply structs.ACLTokenReply
	if done, err := s.forward("ACL.Bootstrap", args, &reply); done {
		return reply.Token, err
	}
	if !s.config.ACLEnabled {
		return nil, fmt.Errorf("%w: ACL support disabled", ErrInvalid)
	}
	secret := args.BootstrapSecret
	if secret == "" {
		secret, _ = uuid.GenerateUUID()
	} else if _, err := uuid.ParseUUID(secret); err != nil {
		return nil, fmt.Errorf("%w: invalid acl token", ErrInvalid)
	}
	accessor, _ := uuid.GenerateUUID()
	token := &api.ACLToken{AccessorID: accessor, SecretID: secret, Name: "Bootstrap Token",
		Type: structs.ACLManagementToken, Global: true, CreateTime: time.Now().UTC()}
	req := &structs.ACLTokenBootstrapRequest{Token: token, ResetIndex: s.aclResetIndex()}
	if _, err := s.raftApply(structs.ACLTokenBootstrapRequestType, req); err != nil {
		if errors.Is(err, state.ErrACLBootstrapped) {
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		return nil, err
	}
	return s.State().Snapshot().ACLTokenByAccessor(accessor)
}

// aclResetIndex reads the bootstrap reset index an operator wrote to the
// data directory to allow one more bootstrap, as in Nomad.
func (s *Server) aclResetIndex() uint64 {
	if s.config.DataDir == "" {
		return 0
	}
	raw, err := os.ReadFile(filepath.Join(s.config.DataDir, "server", "acl-bootstrap-reset"))
	if err != nil {
		return 0
	}
	idx, _ := strconv.ParseUint(strings.TrimSpace(string(raw)), 10, 64)
	return idx
}

// UpsertACLPolicies validates and stores policies.
func (s *Server) UpsertACLPolicies(args *structs.ACLPolicyUpsertArgs) (uint64, error) {
	var reply structs.IndexReply
	if done, err := s.forward("ACL.UpsertPolicies", args, &reply); done {
		return reply.Index, err
	}
	if len(args.Policies) == 0 {
		return 0, fmt.Errorf("%w: must specify as least one policy", ErrInvalid)
	}
	for _, p := range args.Policies {
		if !validACLName.MatchString(p.Name) {
			return 0, fmt.Errorf("%w: invalid policy name %q", ErrInvalid, p.Name)
		}
		if len(p.Description) > 256 {
			return 0, fmt.Errorf("%w: policy description longer than 256 characters", ErrInvalid)
		}
		if _, err := acl.Parse(p.Rules); err != nil {
			return 0, fmt.Errorf("%w: policy %q: %v", ErrInvalid, p.Name, err)
		}
		if err := validateJobACL(p.JobACL); err != nil {
			return 0, fmt.Errorf("%w: policy %q: %v", ErrInvalid, p.Name, err)
		}
	}
	return s.raftApply(structs.ACLPolicyUpsertRequestType, &structs.ACLPolicyUpsertRequest{Policies: args.Policies})
}

// DeleteACLPolicies deletes policies by name.
func (s *Server) DeleteACLPolicies(args *structs.ACLPolicyDeleteArgs) (uint64, error) {
	var reply structs.IndexReply
	if done, err := s.forward("ACL.DeletePolicies", args, &reply); done {
		return reply.Index, err
	}
	return s.raftApply(structs.ACLPolicyDeleteRequestType, &structs.ACLPolicyDeleteRequest{Names: args.Names})
}

// UpsertACLToken creates a token (no AccessorID: new accessor and secret,
// ExpirationTime from ExpirationTTL) or updates one's name, policies and
// roles.
func (s *Server) UpsertACLToken(args *structs.ACLTokenUpsertArgs) (*structs.ACLTokenReply, error) {
	var reply structs.ACLTokenReply
	if done, err := s.forward("ACL.UpsertToken", args, &reply); done {
		return &reply, err
	}
	in := args.Token
	if in == nil {
		return nil, fmt.Errorf("%w: missing token", ErrInvalid)
	}
	snap := s.State().Snapshot()
	token := *in
	if in.AccessorID == "" {
		token.AccessorID, _ = uuid.GenerateUUID()
		token.SecretID, _ = uuid.GenerateUUID()
		token.CreateTime = time.Now().UTC()
		token.ExpirationTime = nil
		if in.ExpirationTTL < 0 {
			return nil, fmt.Errorf("%w: token expiration TTL must not be negative", ErrInvalid)
		}
		if in.ExpirationTTL > 0 {
			exp := token.CreateTime.Add(in.ExpirationTTL)
			token.ExpirationTime = &exp
		}
	} else {
		existing, err := snap.ACLTokenByAccessor(in.AccessorID)
		if err != nil {
			return nil, err
		}
		if existing == nil && in.SecretID != "" {
			return s.uploadACLToken(snap, in)
		}
		if existing == nil {
			return nil, fmt.Errorf("cannot find token %s: %w", in.AccessorID, ErrNotFound)
		}
		if in.Global != existing.Global {
			return nil, fmt.Errorf("%w: cannot toggle global mode", ErrInvalid)
		}
		if in.ExpirationTTL != 0 && in.ExpirationTTL != existing.ExpirationTTL {
			return nil, fmt.Errorf("%w: cannot update expiration TTL", ErrInvalid)
		}
		if in.ExpirationTime != nil && (existing.ExpirationTime == nil || !in.ExpirationTime.Equal(*existing.ExpirationTime)) {
			return nil, fmt.Errorf("%w: cannot update expiration time", ErrInvalid)
		}
		token.SecretID, token.CreateTime = existing.SecretID, existing.CreateTime
		token.ExpirationTime, token.ExpirationTTL = existing.ExpirationTime, existing.ExpirationTTL
	}
	if err := validateToken(snap, &token); err != nil {
		return nil, err
	}
	index, err := s.raftApply(structs.ACLTokenUpsertRequestType, &structs.ACLTokenUpsertRequest{Tokens: []*api.ACLToken{&token}})
	if err != nil {
		return nil, err
	}
	stored, err := s.State().Snapshot().ACLTokenByAccessor(token.AccessorID)
	return &structs.ACLTokenReply{Token: stored, Index: index}, err
}

// uploadACLToken creates a client token with the accessor and secret IDs
// it names (`acl token create` of a token made elsewhere), as Nomad does:
// both must be UUIDs not in use; management tokens cannot be uploaded.
func (s *Server) uploadACLToken(snap *state.Snapshot, in *api.ACLToken) (*structs.ACLTokenReply, error) {
	if in.Type == structs.ACLManagementToken {
		return nil, fmt.Errorf("%w: cannot upload management tokens", ErrInvalid)
	}
	for _, id := range []string{in.AccessorID, in.SecretID} {
		if _, err := uuid.ParseUUID(id); err != nil {
			return nil, fmt.Errorf("%w: invalid token ID %q: must be a UUID", ErrInvalid, id)
		}
	}
	if taken, err := snap.ACLTokenBySecret(in.SecretID); err != nil {
		return nil, err
	} else if taken != nil {
		return nil, fmt.Errorf("%w: secret ID already in use", ErrInvalid)
	}
	token := *in
	token.CreateTime = time.Now().UTC()
	token.ExpirationTime = nil
	if in.ExpirationTTL > 0 {
		exp := token.CreateTime.Add(in.ExpirationTTL)
		token.ExpirationTime = &exp
	}
	if err := validateToken(snap, &token); err != nil {
		return nil, err
	}
	index, err := s.raftApply(structs.ACLTokenUpsertRequestType, &structs.ACLTokenUpsertRequest{Tokens: []*api.ACLToken{&token}})
	if err != nil {
		return nil, err
	}
	stored, err := s.State().Snapshot().ACLTokenByAccessor(token.AccessorID)
	return &structs.ACLTokenReply{Token: stored, Index: index}, err
}

// validateToken checks a token's type against its policies and roles, and
// links roles (named by ID or name) to existing roles. Policies are named,
// not linked, and need not exist yet, as in Nomad: a policy that does not
// exist grants nothing until it is created.
func validateToken(snap *state.Snapshot, t *api.ACLToken) error {
	switch t.Type {
	case structs.ACLClientToken:
		if len(t.Policies) == 0 && len(t.Roles) == 0 {
			return fmt.Errorf("%w: client token missing policies or roles", ErrInvalid)
		}
	case structs.ACLManagementToken:
		if len(t.Policies) > 0 || len(t.Roles) > 0 {
			return fmt.Errorf("%w: management token cannot be associated with policies or roles", ErrInvalid)
		}
	default:
		return fmt.Errorf("%w: token type must be client or management", ErrInvalid)
	}
	if len(t.Name) > 256 {
		return fmt.Errorf("%w: token name too long", ErrInvalid)
	}
	links := make([]*api.ACLTokenRoleLink, 0, len(t.Roles))
	for _, link := range t.Roles {
		var role *api.ACLRole
		var err error
		switch {
		case link.ID != "":
			role, err = snap.ACLRoleByID(link.ID)
		case link.Name != "":
			role, err = snap.ACLRoleByName(link.Name)
		default:
			return fmt.Errorf("%w: role link needs an ID or a name", ErrInvalid)
		}
		if err != nil {
			return err
		}
		if role == nil {
			return fmt.Errorf("%w: cannot find role %s%s", ErrInvalid, link.ID, link.Name)
		}
		links = append(links, &api.ACLTokenRoleLink{ID: role.ID, Name: role.Name})
	}
	t.Roles = links
	return nil
}

// DeleteACLTokens deletes tokens by accessor ID.
func (s *Server) DeleteACLTokens(args *structs.ACLTokenDeleteArgs) (uint64, error) {
	var reply structs.IndexReply
	if done, err := s.forward("ACL.DeleteTokens", args, &reply); done {
		return reply.Index, err
	}
	return s.raftApply(structs.ACLTokenDeleteRequestType, &structs.ACLTokenDeleteRequest{AccessorIDs: args.AccessorIDs})
}

// UpsertACLRole creates (no ID) or updates a role.
func (s *Server) UpsertACLRole(args *structs.ACLRoleUpsertArgs) (*structs.ACLRoleReply, error) {
	var reply structs.ACLRoleReply
	if done, err := s.forward("ACL.UpsertRole", args, &reply); done {
		return &reply, err
	}
	if args.Role == nil {
		return nil, fmt.Errorf("%w: missing role", ErrInvalid)
	}
	role := *args.Role
	if !validACLName.MatchString(role.Name) {
		return nil, fmt.Errorf("%w: invalid role name %q", ErrInvalid, role.Name)
	}
	if len(role.Policies) == 0 {
		return nil, fmt.Errorf("%w: at least one policy should be specified", ErrInvalid)
	}
	snap := s.State().Snapshot()
	for _, p := range role.Policies {
		if p == nil {
			return nil, fmt.Errorf("%w: empty policy link", ErrInvalid)
		}
		policy, err := snap.ACLPolicyByName(p.Name)
		if err != nil {
			return nil, err
		}
		if policy == nil {
			return nil, fmt.Errorf("%w: cannot find policy %s", ErrInvalid, p.Name)
		}
	}
	if role.ID == "" {
		role.ID, _ = uuid.GenerateUUID()
	} else if existing, err := snap.ACLRoleByID(role.ID); err != nil {
		return nil, err
	} else if existing == nil {
		return nil, fmt.Errorf("cannot find role %s: %w", role.ID, ErrNotFound)
	}
	if other, err := snap.ACLRoleByName(role.Name); err != nil {
		return nil, err
	} else if other != nil && other.ID != role.ID {
		return nil, fmt.Errorf("%w: role with name %s already exists", ErrInvalid, role.Name)
	}
	index, err := s.raftApply(structs.ACLRoleUpsertRequestType, &structs.ACLRoleUpsertRequest{Roles: []*api.ACLRole{&role}})
	if err != nil {
		return nil, err
	}
	stored, err := s.State().Snapshot().ACLRoleByID(role.ID)
	return &structs.ACLRoleReply{Role: stored, Index: index}, err
}

// DeleteACLRoles deletes roles by ID.
func (s *Server) DeleteACLRoles(args *structs.ACLRoleDeleteArgs) (uint64, error) {
	var reply structs.IndexReply
	if done, err := s.forward("ACL.DeleteRoles", args, &reply); done {
		return reply.Index, err
	}
	return s.raftApply(structs.ACLRoleDeleteRequestType, &structs.ACLRoleDeleteRequest{IDs: args.IDs})
}

// aclEndpoint serves "ACL.*". Every write but Bootstrap needs a
// management token, checked here on the server that applies it.
type aclEndpoint struct{ s *Server }

func (e *aclEndpoint) Bootstrap(args *structs.ACLBootstrapArgs, reply *structs.ACLTokenReply) error {
	t, err := e.s.BootstrapACL(args)
	reply.Token = t
	return err
}

func (e *aclEndpoint) UpsertPolicies(args *structs.ACLPolicyUpsertArgs, reply *structs.IndexReply) error {
	if err := e.s.authorize(args.AuthToken, isManagement); err != nil {
		return err
	}
	var err error
	reply.Index, err = e.s.UpsertACLPolicies(args)
	return err
}

func (e *aclEndpoint) DeletePolicies(args *structs.ACLPolicyDeleteArgs, reply *structs.IndexReply) error {
	if err := e.s.authorize(args.AuthToken, isManagement); err != nil {
		return err
	}
	var err error
	reply.Index, err = e.s.DeleteACLPolicies(args)
	return err
}

func (e *aclEndpoint) UpsertToken(args *structs.ACLTokenUpsertArgs, reply *structs.ACLTokenReply) error {
	if err := e.s.authorize(args.AuthToken, isManagement); err != nil {
		return err
	}
	r, err := e.s.UpsertACLToken(args)
	if r != nil {
		*reply = *r
	}
	return err
}

func (e *aclEndpoint) DeleteTokens(args *structs.ACLTokenDeleteArgs, reply *structs.IndexReply) error {
	if err := e.s.authorize(args.AuthToken, isManagement); err != nil {
		return err
	}
	var err error
	reply.Index, err = e.s.DeleteACLTokens(args)
	return err
}

func (e *aclEndpoint) UpsertRole(args *structs.ACLRoleUpsertArgs, reply *structs.ACLRoleReply) error {
	if err := e.s.authorize(args.AuthToken, isManagement); err != nil {
		return err
	}
	r, err := e.s.UpsertACLRole(args)
	if r != nil {
		*reply = *r
	}
	return err
}

func (e *aclEndpoint) DeleteRoles(args *structs.ACLRoleDeleteArgs, reply *structs.IndexReply) error {
	if err := e.s.authorize(args.AuthToken, isManagement); err != nil {
		return err
	}
	var err error
	reply.Index, err = e.s.DeleteACLRoles(args)
	return err
}

// ResolveToken answers a client-only agent resolving a request's token:
// the live token and the policies it holds.
func (e *aclEndpoint) ResolveToken(args *structs.ACLResolveArgs, reply *structs.ACLResolveReply) error {
	if !e.s.config.ACLEnabled {
		return fmt.Errorf("%w: ACL support disabled", ErrInvalid)
	}
	snap := e.s.State().Snapshot()
	if identity.LooksLike(args.SecretID) {
		r, err := e.s.lookupIdentity(snap, args.SecretID)
		if err != nil {
			return err
		}
		*reply = structs.ACLResolveReply{Token: r.token, Policies: r.policies, Workload: r.grant}
		return nil
	}
	token, err := lookupToken(snap, args.SecretID, time.Now())
	if err != nil {
		return err
	}
	reply.Token = token
	if token.Type != structs.ACLManagementToken {
		reply.Policies, err = tokenPolicies(snap, token)
	}
	return err
}
