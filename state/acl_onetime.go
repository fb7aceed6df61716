package state

import (
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// tableACLOneTimeTokens holds one-time tokens by their secret.
const tableACLOneTimeTokens = "acl_onetime_tokens"

// Errors of a one-time token exchange.
var (
	ErrOneTimeTokenNotFound = errors.New("one-time token not found")
	ErrOneTimeTokenExpired  = errors.New("one-time token expired")
)

func oneTimeTokensTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableACLOneTimeTokens, Indexes: map[string]*memdb.IndexSchema{
		"id":       {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "OneTimeSecretID"}},
		"accessor": {Name: "accessor", Indexer: &memdb.StringFieldIndex{Field: "AccessorID"}},
	}}
}

// UpsertOneTimeToken stores a one-time token.
func (s *Store) UpsertOneTimeToken(index uint64, req *structs.OneTimeTokenUpsertRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		stored := *req.Token
		stored.CreateIndex, stored.ModifyIndex = index, index
		return tx.insert(tableACLOneTimeTokens, &stored)
	})
}

// ExchangeOneTimeToken deletes a one-time token, once: a second exchange
// finds it no more. An expired token is deleted too, and refused.
func (s *Store) ExchangeOneTimeToken(index uint64, req *structs.OneTimeTokenExchangeRequest) error {
	var expired bool
	err := s.write(index, func(tx *writeTxn) error {
		raw, err := tx.First(tableACLOneTimeTokens, "id", req.OneTimeSecretID)
		if err != nil {
			return fmt.Errorf("one-time token lookup: %w", err)
		}
		if raw == nil {
			return ErrOneTimeTokenNotFound
		}
		ott := raw.(*api.OneTimeToken)
		expired = !ott.ExpiresAt.After(time.Unix(0, req.Time))
		return tx.delete(tableACLOneTimeTokens, raw)
	})
	if err == nil && expired {
		return ErrOneTimeTokenExpired
	}
	return err
}

// ExpireOneTimeTokens deletes the one-time tokens expired at req.Time.
func (s *Store) ExpireOneTimeTokens(index uint64, req *structs.OneTimeTokenExpireRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		now := time.Unix(0, req.Time)
		it, err := tx.Get(tableACLOneTimeTokens, "id")
		if err != nil {
			return fmt.Errorf("one-time token list: %w", err)
		}
		var expired []any
		for raw := it.Next(); raw != nil; raw = it.Next() {
			if !raw.(*api.OneTimeToken).ExpiresAt.After(now) {
				expired = append(expired, raw)
			}
		}
		for _, raw := range expired {
			if err := tx.delete(tableACLOneTimeTokens, raw); err != nil {
				return err
			}
		}
		return nil
	})
}

// OneTimeTokenBySecret returns a one-time token, or nil.
func (s *Snapshot) OneTimeTokenBySecret(secret string) (*api.OneTimeToken, error) {
	raw, err := s.first(tableACLOneTimeTokens, "id", secret)
	if raw == nil {
		return nil, err
	}
	return raw.(*api.OneTimeToken), nil
}

// OneTimeTokens lists one-time tokens ordered by secret.
func (s *Snapshot) OneTimeTokens() ([]*api.OneTimeToken, error) {
	var out []*api.OneTimeToken
	err := s.each(tableACLOneTimeTokens, "id", func(raw any) { out = append(out, raw.(*api.OneTimeToken)) })
	return out, err
}
