package server

import (
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-uuid"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/identity"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// UpsertOneTimeToken creates a one-time token bound to the ACL token the
// request carries, exchangeable once within structs.OneTimeTokenTTL, as
// Nomad's `nomad ui -authenticate` uses. Anonymous requests and workload
// identities get none.
func (s *Server) UpsertOneTimeToken(args *structs.OneTimeTokenUpsertArgs) (*structs.OneTimeTokenReply, error) {
	var reply structs.OneTimeTokenReply
	if done, err := s.forward("ACL.UpsertOneTimeToken", args, &reply); done {
		return &reply, err
	}
	if !s.config.ACLEnabled {
		return nil, fmt.Errorf("%w: ACL support disabled", ErrInvalid)
	}
	if args.AuthToken == "" || identity.LooksLike(args.AuthToken) {
		return nil, ErrPermissionDenied
	}
	token, err := lookupToken(s.State().Snapshot(), args.AuthToken, time.Now())
	if err != nil {
		return nil, err
	}
	secret, err := uuid.GenerateUUID()
	if err != nil {
		return nil, err
	}
	ott := &api.OneTimeToken{OneTimeSecretID: secret, AccessorID: token.AccessorID,
		ExpiresAt: time.Now().UTC().Add(structs.OneTimeTokenTTL)}
	index, err := s.raftApply(structs.OneTimeTokenUpsertRequestType, &structs.OneTimeTokenUpsertRequest{Token: ott})
	if err != nil {
		return nil, err
	}
	stored, err := s.State().Snapshot().OneTimeTokenBySecret(secret)
	return &structs.OneTimeTokenReply{Token: stored, Index: index}, err
}

// ExchangeOneTimeToken consumes a one-time token and returns the ACL
// token it was made for. The exchange goes through Raft, so a second one
// fails on every server.
func (s *Server) ExchangeOneTimeToken(args *structs.OneTimeTokenExchangeArgs) (*structs.ACLTokenReply, error) {
	var reply structs.ACLTokenReply
	if done, err := s.forward("ACL.ExchangeOneTimeToken", args, &reply); done {
		return &reply, err
	}
	if !s.config.ACLEnabled {
		return nil, fmt.Errorf("%w: ACL support disabled", ErrInvalid)
	}
	if args.OneTimeSecretID == "" {
		return nil, fmt.Errorf("%w: missing one-time secret ID", ErrInvalid)
	}
	ott, err := s.State().Snapshot().OneTimeTokenBySecret(args.OneTimeSecretID)
	if err != nil {
		return nil, err
	}
	if ott == nil {
		return nil, ErrPermissionDenied
	}
	index, err := s.raftApply(structs.OneTimeTokenExchangeRequestType,
		&structs.OneTimeTokenExchangeRequest{OneTimeSecretID: args.OneTimeSecretID, Time: time.Now().UnixNano()})
	switch {
	case errors.Is(err, state.ErrOneTimeTokenNotFound):
		return nil, ErrPermissionDenied
	case errors.Is(err, state.ErrOneTimeTokenExpired):
		return nil, ErrTokenExpired
	case err != nil:
		return nil, err
	}
	token, err := s.State().Snapshot().ACLTokenByAccessor(ott.AccessorID)
	if err != nil {
		return nil, err
	}
	if token == nil {
		return nil, ErrTokenNotFound
	}
	if token.ExpirationTime != nil && !token.ExpirationTime.After(time.Now()) {
		return nil, ErrTokenExpired
	}
	return &structs.ACLTokenReply{Token: token, Index: index}, nil
}

// expireOneTimeTokens deletes the one-time tokens past their expiry.
func (s *Server) expireOneTimeTokens(now time.Time) error {
	tokens, err := s.State().Snapshot().OneTimeTokens()
	if err != nil {
		return err
	}
	for _, t := range tokens {
		if !t.ExpiresAt.After(now) {
			_, err := s.raftApply(structs.OneTimeTokenExpireRequestType, &structs.OneTimeTokenExpireRequest{Time: now.UnixNano()})
			return err
		}
	}
	return nil
}

// collectExpiredTokens deletes the ACL tokens that expired before cutoff.
// Global tokens belong to the authoritative region: another one leaves
// them to replication.
func (s *Server) collectExpiredTokens(cutoff time.Time) error {
	tokens, err := s.State().Snapshot().ACLTokens()
	if err != nil {
		return err
	}
	replica := s.config.AuthoritativeRegion != "" && s.config.AuthoritativeRegion != s.config.Region
	var expired []string
	for _, t := range tokens {
		if t.ExpirationTime != nil && t.ExpirationTime.Before(cutoff) && !(t.Global && replica) {
			expired = append(expired, t.AccessorID)
		}
	}
	if len(expired) == 0 {
		return nil
	}
	_, err = s.raftApply(structs.ACLTokenDeleteRequestType, &structs.ACLTokenDeleteRequest{AccessorIDs: expired})
	return err
}

func (e *aclEndpoint) UpsertOneTimeToken(args *structs.OneTimeTokenUpsertArgs, reply *structs.OneTimeTokenReply) error {
	r, err := e.s.UpsertOneTimeToken(args)
	if r != nil {
		*reply = *r
	}
	return err
}

func (e *aclEndpoint) ExchangeOneTimeToken(args *structs.OneTimeTokenExchangeArgs, reply *structs.ACLTokenReply) error {
	r, err := e.s.ExchangeOneTimeToken(args)
	if r != nil {
		*reply = *r
	}
	return err
}
