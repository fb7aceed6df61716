package state

import (
	"errors"
	"fmt"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// The ACL tables, and the index-table key recording the bootstrap.
const (
	tableACLPolicies = "acl_policy"
	tableACLTokens   = "acl_token"
	tableACLRoles    = "acl_roles"
	aclBootstrapKey  = "acl_token_bootstrap"
)

// ErrACLBootstrapped refuses a second bootstrap.
var ErrACLBootstrapped = errors.New("ACL bootstrap already done")

// aclTableSchemas index policies by name, tokens by accessor and secret,
// and roles by ID and name.
func aclTableSchemas() []*memdb.TableSchema {
	return []*memdb.TableSchema{
		{Name: tableACLPolicies, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Name"}},
		}},
		{Name: tableACLTokens, Indexes: map[string]*memdb.IndexSchema{
			"id":     {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "AccessorID"}},
			"secret": {Name: "secret", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "SecretID"}},
		}},
		{Name: tableACLRoles, Indexes: map[string]*memdb.IndexSchema{
			"id":   {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
			"name": {Name: "name", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Name"}},
		}},
	}
}

// UpsertACLPolicies creates or replaces policies, keeping each one's
// CreateIndex.
func (s *Store) UpsertACLPolicies(index uint64, req *structs.ACLPolicyUpsertRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		for _, p := range req.Policies {
			stored := *p
			stored.CreateIndex, stored.ModifyIndex = index, index
			if raw, err := tx.First(tableACLPolicies, "id", p.Name); err != nil {
				return fmt.Errorf("policy lookup: %w", err)
			} else if raw != nil {
				stored.CreateIndex = raw.(*api.ACLPolicy).CreateIndex
			}
			if err := tx.insert(tableACLPolicies, &stored); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteACLPolicies deletes policies; every name must exist.
func (s *Store) DeleteACLPolicies(index uint64, req *structs.ACLPolicyDeleteRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		for _, name := range req.Names {
			raw, err := tx.First(tableACLPolicies, "id", name)
			if err != nil {
				return fmt.Errorf("policy lookup: %w", err)
			}
			if raw == nil {
				return fmt.Errorf("ACL policy %q: %w", name, ErrNotFound)
			}
			if err := tx.delete(tableACLPolicies, raw); err != nil {
				return err
			}
		}
		return nil
	})
}

// UpsertACLTokens creates or updates tokens, keeping each one's
// CreateIndex.
func (s *Store) UpsertACLTokens(index uint64, req *structs.ACLTokenUpsertRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		return tx.upsertACLTokens(req.Tokens)
	})
}

func (tx *writeTxn) upsertACLTokens(tokens []*api.ACLToken) error {
	for _, t := range tokens {
		stored := *t
		stored.CreateIndex, stored.ModifyIndex = tx.index, tx.index
		if raw, err := tx.First(tableACLTokens, "id", t.AccessorID); err != nil {
			return fmt.Errorf("token lookup: %w", err)
		} else if raw != nil {
			stored.CreateIndex = raw.(*api.ACLToken).CreateIndex
		}
		if err := tx.insert(tableACLTokens, &stored); err != nil {
			return err
		}
	}
	return nil
}

// DeleteACLTokens deletes tokens; every accessor must exist.
func (s *Store) DeleteACLTokens(index uint64, req *structs.ACLTokenDeleteRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		for _, id := range req.AccessorIDs {
			raw, err := tx.First(tableACLTokens, "id", id)
			if err != nil {
				return fmt.Errorf("token lookup: %w", err)
			}
			if raw == nil {
				return fmt.Errorf("ACL token %q: %w", id, ErrNotFound)
			}
			if err := tx.delete(tableACLTokens, raw); err != nil {
				return err
			}
		}
		return nil
	})
}

// BootstrapACLToken stores the bootstrap management token and records
// the bootstrap's index. A second bootstrap fails with ErrACLBootstrapped
// unless req.ResetIndex is the index of the last one.
func (s *Store) BootstrapACLToken(index uint64, req *structs.ACLTokenBootstrapRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		raw, err := tx.First(tableIndex, "id", aclBootstrapKey)
		if err != nil {
			return fmt.Errorf("bootstrap lookup: %w", err)
		}
		if raw != nil && raw.(*indexEntry).Value != req.ResetIndex {
			return fmt.Errorf("%w (reset index: %d)", ErrACLBootstrapped, raw.(*indexEntry).Value)
		}
		if err := tx.upsertACLTokens([]*api.ACLToken{req.Token}); err != nil {
			return err
		}
		if err := tx.Insert(tableIndex, &indexEntry{Key: aclBootstrapKey, Value: index}); err != nil {
			return fmt.Errorf("record bootstrap: %w", err)
		}
		return nil
	})
}

// UpsertACLRoles creates or updates roles; role names stay unique.
func (s *Store) UpsertACLRoles(index uint64, req *structs.ACLRoleUpsertRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		for _, r := range req.Roles {
			stored := *r
			stored.CreateIndex, stored.ModifyIndex = index, index
			if raw, err := tx.First(tableACLRoles, "id", r.ID); err != nil {
				return fmt.Errorf("role lookup: %w", err)
			} else if raw != nil {
				stored.CreateIndex = raw.(*api.ACLRole).CreateIndex
			}
			if raw, err := tx.First(tableACLRoles, "name", r.Name); err != nil {
				return fmt.Errorf("role lookup: %w", err)
			} else if raw != nil && raw.(*api.ACLRole).ID != r.ID {
				return fmt.Errorf("ACL role with name %q already exists", r.Name)
			}
			if err := tx.insert(tableACLRoles, &stored); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteACLRoles deletes roles; every ID must exist.
func (s *Store) DeleteACLRoles(index uint64, req *structs.ACLRoleDeleteRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		for _, id := range req.IDs {
			raw, err := tx.First(tableACLRoles, "id", id)
			if err != nil {
				return fmt.Errorf("role lookup: %w", err)
			}
			if raw == nil {
				return fmt.Errorf("ACL role %q: %w", id, ErrNotFound)
			}
			if err := tx.delete(tableACLRoles, raw); err != nil {
				return err
			}
		}
		return nil
	})
}

// ACLIndex is the Raft index at which any ACL table last changed.
func (s *Snapshot) ACLIndex() uint64 {
	return s.Index(tableACLPolicies, tableACLTokens, tableACLRoles)
}

// ACLPoliciesIndex is the index of the policy table.
func (s *Snapshot) ACLPoliciesIndex() uint64 { return s.Index(tableACLPolicies) }

// ACLTokensIndex is the index of the token table.
func (s *Snapshot) ACLTokensIndex() uint64 { return s.Index(tableACLTokens) }

// ACLRolesIndex is the index of the role table.
func (s *Snapshot) ACLRolesIndex() uint64 { return s.Index(tableACLRoles) }

// ACLBootstrapIndex is the index of the last bootstrap, 0 before any.
func (s *Snapshot) ACLBootstrapIndex() uint64 {
	raw, err := s.txn.First(tableIndex, "id", aclBootstrapKey)
	if err != nil || raw == nil {
		return 0
	}
	return raw.(*indexEntry).Value
}

// ACLPolicyByName returns a policy, or nil.
func (s *Snapshot) ACLPolicyByName(name string) (*api.ACLPolicy, error) {
	raw, err := s.first(tableACLPolicies, "id", name)
	if raw == nil {
		return nil, err
	}
	return raw.(*api.ACLPolicy), nil
}

// ACLPolicies lists policies ordered by name.
func (s *Snapshot) ACLPolicies() ([]*api.ACLPolicy, error) {
	var out []*api.ACLPolicy
	err := s.each(tableACLPolicies, "id", func(raw any) { out = append(out, raw.(*api.ACLPolicy)) })
	return out, err
}

// ACLTokenByAccessor returns a token, or nil.
func (s *Snapshot) ACLTokenByAccessor(id string) (*api.ACLToken, error) {
	raw, err := s.first(tableACLTokens, "id", id)
	if raw == nil {
		return nil, err
	}
	return raw.(*api.ACLToken), nil
}

// ACLTokenBySecret returns the token with a secret, or nil.
func (s *Snapshot) ACLTokenBySecret(secret string) (*api.ACLToken, error) {
	raw, err := s.first(tableACLTokens, "secret", secret)
	if raw == nil {
		return nil, err
	}
	return raw.(*api.ACLToken), nil
}

// ACLTokens lists tokens ordered by accessor ID.
func (s *Snapshot) ACLTokens() ([]*api.ACLToken, error) {
	var out []*api.ACLToken
	err := s.each(tableACLTokens, "id", func(raw any) { out = append(out, raw.(*api.ACLToken)) })
	return out, err
}

// ACLRoleByID returns a role, or nil.
func (s *Snapshot) ACLRoleByID(id string) (*api.ACLRole, error) {
	raw, err := s.first(tableACLRoles, "id", id)
	if raw == nil {
		return nil, err
	}
	return raw.(*api.ACLRole), nil
}

// ACLRoleByName returns a role, or nil.
func (s *Snapshot) ACLRoleByName(name string) (*api.ACLRole, error) {
	raw, err := s.first(tableACLRoles, "name", name)
	if raw == nil {
		return nil, err
	}
	return raw.(*api.ACLRole), nil
}

// ACLRoles lists roles ordered by ID.
func (s *Snapshot) ACLRoles() ([]*api.ACLRole, error) {
	var out []*api.ACLRole
	err := s.each(tableACLRoles, "id", func(raw any) { out = append(out, raw.(*api.ACLRole)) })
	return out, err
}

// first reads one object, watching it.
func (s *Snapshot) first(table, index string, arg string) (any, error) {
	ch, raw, err := s.txn.FirstWatch(table, index, arg)
	if err != nil {
		return nil, fmt.Errorf("%s lookup: %w", table, err)
	}
	s.watch(ch)
	return raw, nil
}

// each calls fn for every object of table, watching the table.
func (s *Snapshot) each(table, index string, fn func(any)) error {
	it, err := s.txn.Get(table, index)
	if err != nil {
		return fmt.Errorf("%s list: %w", table, err)
	}
	s.watch(it.WatchCh())
	for raw := it.Next(); raw != nil; raw = it.Next() {
		fn(raw)
	}
	return nil
}
