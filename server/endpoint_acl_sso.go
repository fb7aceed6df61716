package server

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/go-bexpr"
	"github.com/hashicorp/go-uuid"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// defaultTokenNameFormat names the tokens an auth method's logins create,
// as in Nomad.
const defaultTokenNameFormat = "${auth_method_type}-${auth_method_name}"

// UpsertACLAuthMethod validates and stores an auth method (single sign-on
// configuration: OIDC or JWT). Roam stores and serves auth methods and
// binding rules; it does not log users in through them.
func (s *Server) UpsertACLAuthMethod(args *structs.ACLAuthMethodUpsertArgs) (*structs.ACLAuthMethodReply, error) {
	var reply structs.ACLAuthMethodReply
	if done, err := s.forward("ACL.UpsertAuthMethod", args, &reply); done {
		return &reply, err
	}
	if args.AuthMethod == nil {
		return nil, fmt.Errorf("%w: missing auth method", ErrInvalid)
	}
	m := *args.AuthMethod
	if err := validateAuthMethod(&m); err != nil {
		return nil, err
	}
	snap := s.State().Snapshot()
	existing, err := snap.ACLAuthMethodByName(m.Name)
	if err != nil {
		return nil, err
	}
	if args.Update && existing == nil {
		return nil, fmt.Errorf("cannot find auth method %s: %w", m.Name, ErrNotFound)
	}
	if m.Default {
		methods, err := snap.ACLAuthMethods()
		if err != nil {
			return nil, err
		}
		for _, other := range methods {
			if other.Default && other.Type == m.Type && other.Name != m.Name {
				return nil, fmt.Errorf("%w: default ACL auth method for type %s already exists: %s", ErrInvalid, m.Type, other.Name)
			}
		}
	}
	now := time.Now().UTC()
	m.CreateTime, m.ModifyTime = now, now
	index, err := s.raftApply(structs.ACLAuthMethodUpsertRequestType, &structs.ACLAuthMethodUpsertRequest{AuthMethods: []*api.ACLAuthMethod{&m}})
	if err != nil {
		return nil, err
	}
	stored, err := s.State().Snapshot().ACLAuthMethodByName(m.Name)
	return &structs.ACLAuthMethodReply{AuthMethod: stored, Index: index}, err
}

// validateAuthMethod checks an auth method as Nomad does, and fills in its
// defaults (the type upper-cased, the token name format).
func validateAuthMethod(m *api.ACLAuthMethod) error {
	var problems []string
	if !validACLName.MatchString(m.Name) {
		problems = append(problems, fmt.Sprintf("invalid name %q: 1 to 128 letters, digits and dashes", m.Name))
	}
	m.Type = strings.ToUpper(m.Type)
	if m.Type != api.ACLAuthMethodTypeOIDC && m.Type != api.ACLAuthMethodTypeJWT {
		problems = append(problems, fmt.Sprintf("invalid type %q: must be %s or %s", m.Type, api.ACLAuthMethodTypeOIDC, api.ACLAuthMethodTypeJWT))
	}
	if m.TokenLocality != api.ACLAuthMethodTokenLocalityLocal && m.TokenLocality != api.ACLAuthMethodTokenLocalityGlobal {
		problems = append(problems, fmt.Sprintf("invalid token locality %q: must be %s or %s", m.TokenLocality,
			api.ACLAuthMethodTokenLocalityLocal, api.ACLAuthMethodTokenLocalityGlobal))
	}
	if m.MaxTokenTTL < structs.ACLTokenMinExpirationTTL || m.MaxTokenTTL > structs.ACLTokenMaxExpirationTTL {
		problems = append(problems, fmt.Sprintf("invalid max token TTL %s: must be between %s and %s", m.MaxTokenTTL,
			structs.ACLTokenMinExpirationTTL, structs.ACLTokenMaxExpirationTTL))
	}
	if m.TokenNameFormat == "" {
		m.TokenNameFormat = defaultTokenNameFormat
	}
	switch c := m.Config; {
	case c == nil:
		problems = append(problems, "missing config")
	case m.Type == api.ACLAuthMethodTypeOIDC && (c.OIDCDiscoveryURL == "" || c.OIDCClientID == ""):
		problems = append(problems, "an OIDC auth method needs OIDCDiscoveryURL and OIDCClientID")
	case m.Type == api.ACLAuthMethodTypeJWT && c.OIDCDiscoveryURL == "" && c.JWKSURL == "" && len(c.JWTValidationPubKeys) == 0:
		problems = append(problems, "a JWT auth method needs one of JWTValidationPubKeys, JWKSURL and OIDCDiscoveryURL")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: auth method: %s", ErrInvalid, strings.Join(problems, "; "))
	}
	return nil
}

// DeleteACLAuthMethods deletes auth methods by name, with their binding
// rules.
func (s *Server) DeleteACLAuthMethods(args *structs.ACLAuthMethodDeleteArgs) (uint64, error) {
	var reply structs.IndexReply
	if done, err := s.forward("ACL.DeleteAuthMethods", args, &reply); done {
		return reply.Index, err
	}
	return s.raftApply(structs.ACLAuthMethodDeleteRequestType, &structs.ACLAuthMethodDeleteRequest{Names: args.Names})
}

// UpsertACLBindingRule validates and stores a binding rule: a new one
// (no ID) gets an ID, an update must name an existing one.
func (s *Server) UpsertACLBindingRule(args *structs.ACLBindingRuleUpsertArgs) (*structs.ACLBindingRuleReply, error) {
	var reply structs.ACLBindingRuleReply
	if done, err := s.forward("ACL.UpsertBindingRule", args, &reply); done {
		return &reply, err
	}
	if args.BindingRule == nil {
		return nil, fmt.Errorf("%w: missing binding rule", ErrInvalid)
	}
	r := *args.BindingRule
	snap := s.State().Snapshot()
	if r.ID == "" {
		r.ID, _ = uuid.GenerateUUID()
	} else if existing, err := snap.ACLBindingRuleByID(r.ID); err != nil {
		return nil, err
	} else if existing == nil {
		return nil, fmt.Errorf("cannot find binding rule %s: %w", r.ID, ErrNotFound)
	} else if r.AuthMethod == "" {
		r.AuthMethod = existing.AuthMethod
	} else if r.AuthMethod != existing.AuthMethod {
		return nil, fmt.Errorf("%w: binding rule: cannot change the auth method", ErrInvalid)
	}
	if err := validateBindingRule(&r); err != nil {
		return nil, err
	}
	if m, err := snap.ACLAuthMethodByName(r.AuthMethod); err != nil {
		return nil, err
	} else if m == nil {
		return nil, fmt.Errorf("%w: binding rule: ACL auth method %q not found", ErrInvalid, r.AuthMethod)
	}
	now := time.Now().UTC()
	r.CreateTime, r.ModifyTime = now, now
	index, err := s.raftApply(structs.ACLBindingRuleUpsertRequestType, &structs.ACLBindingRuleUpsertRequest{BindingRules: []*api.ACLBindingRule{&r}})
	if err != nil {
		return nil, err
	}
	stored, err := s.State().Snapshot().ACLBindingRuleByID(r.ID)
	return &structs.ACLBindingRuleReply{BindingRule: stored, Index: index}, err
}

// validateBindingRule checks a binding rule as Nomad does: a known bind
// type, a bind name unless it binds management, a selector that parses.
func validateBindingRule(r *api.ACLBindingRule) error {
	var problems []string
	if r.AuthMethod == "" {
		problems = append(problems, "missing auth method")
	}
	if len(r.Description) > 256 {
		problems = append(problems, "description longer than 256 characters")
	}
	switch r.BindType {
	case api.ACLBindingRuleBindTypeRole, api.ACLBindingRuleBindTypePolicy:
		if r.BindName == "" {
			problems = append(problems, fmt.Sprintf("bind type %s needs a bind name", r.BindType))
		}
	case api.ACLBindingRuleBindTypeManagement:
		if r.BindName != "" {
			problems = append(problems, "bind type management takes no bind name")
		}
	default:
		problems = append(problems, fmt.Sprintf("invalid bind type %q: must be %s, %s or %s", r.BindType,
			api.ACLBindingRuleBindTypeRole, api.ACLBindingRuleBindTypePolicy, api.ACLBindingRuleBindTypeManagement))
	}
	if r.Selector != "" {
		if _, err := bexpr.CreateEvaluator(r.Selector); err != nil {
			problems = append(problems, fmt.Sprintf("invalid selector %q: %v", r.Selector, err))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: binding rule: %s", ErrInvalid, strings.Join(problems, "; "))
	}
	return nil
}

// DeleteACLBindingRules deletes binding rules by ID.
func (s *Server) DeleteACLBindingRules(args *structs.ACLBindingRuleDeleteArgs) (uint64, error) {
	var reply structs.IndexReply
	if done, err := s.forward("ACL.DeleteBindingRules", args, &reply); done {
		return reply.Index, err
	}
	return s.raftApply(structs.ACLBindingRuleDeleteRequestType, &structs.ACLBindingRuleDeleteRequest{IDs: args.IDs})
}

func (e *aclEndpoint) UpsertAuthMethod(args *structs.ACLAuthMethodUpsertArgs, reply *structs.ACLAuthMethodReply) error {
	if err := e.s.authorize(args.AuthToken, isManagement); err != nil {
		return err
	}
	r, err := e.s.UpsertACLAuthMethod(args)
	if r != nil {
		*reply = *r
	}
	return err
}

func (e *aclEndpoint) DeleteAuthMethods(args *structs.ACLAuthMethodDeleteArgs, reply *structs.IndexReply) error {
	if err := e.s.authorize(args.AuthToken, isManagement); err != nil {
		return err
	}
	var err error
	reply.Index, err = e.s.DeleteACLAuthMethods(args)
	return err
}

func (e *aclEndpoint) UpsertBindingRule(args *structs.ACLBindingRuleUpsertArgs, reply *structs.ACLBindingRuleReply) error {
	if err := e.s.authorize(args.AuthToken, isManagement); err != nil {
		return err
	}
	r, err := e.s.UpsertACLBindingRule(args)
	if r != nil {
		*reply = *r
	}
	return err
}

func (e *aclEndpoint) DeleteBindingRules(args *structs.ACLBindingRuleDeleteArgs, reply *structs.IndexReply) error {
	if err := e.s.authorize(args.AuthToken, isManagement); err != nil {
		return err
	}
	var err error
	reply.Index, err = e.s.DeleteACLBindingRules(args)
	return err
}
