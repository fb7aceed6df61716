package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// The tables of single sign-on: auth methods by name, binding rules by
// ID and by auth method.
const (
	tableACLAuthMethods  = "acl_auth_methods"
	tableACLBindingRules = "acl_binding_rules"
)

func aclSSOTableSchemas() []*memdb.TableSchema {
	return []*memdb.TableSchema{
		{Name: tableACLAuthMethods, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Name"}},
		}},
		{Name: tableACLBindingRules, Indexes: map[string]*memdb.IndexSchema{
			"id":          {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
			"auth_method": {Name: "auth_method", Indexer: &memdb.StringFieldIndex{Field: "AuthMethod"}},
		}},
	}
}

// UpsertACLAuthMethods creates or replaces auth methods, keeping each
// one's CreateIndex and CreateTime.
func (s *Store) UpsertACLAuthMethods(index uint64, req *structs.ACLAuthMethodUpsertRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		for _, m := range req.AuthMethods {
			stored := *m
			stored.CreateIndex, stored.ModifyIndex = index, index
			if raw, err := tx.First(tableACLAuthMethods, "id", m.Name); err != nil {
				return fmt.Errorf("auth method lookup: %w", err)
			} else if raw != nil {
				old := raw.(*api.ACLAuthMethod)
				stored.CreateIndex, stored.CreateTime = old.CreateIndex, old.CreateTime
			}
			if err := tx.insert(tableACLAuthMethods, &stored); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteACLAuthMethods deletes auth methods, every one of which must
// exist, and the binding rules that belong to them.
func (s *Store) DeleteACLAuthMethods(index uint64, req *structs.ACLAuthMethodDeleteRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		for _, name := range req.Names {
			raw, err := tx.First(tableACLAuthMethods, "id", name)
			if err != nil {
				return fmt.Errorf("auth method lookup: %w", err)
			}
			if raw == nil {
				return fmt.Errorf("ACL auth method %q: %w", name, ErrNotFound)
			}
			if err := tx.delete(tableACLAuthMethods, raw); err != nil {
				return err
			}
			it, err := tx.Get(tableACLBindingRules, "auth_method", name)
			if err != nil {
				return fmt.Errorf("binding rule lookup: %w", err)
			}
			var rules []any
			for r := it.Next(); r != nil; r = it.Next() {
				rules = append(rules, r)
			}
			for _, r := range rules {
				if err := tx.delete(tableACLBindingRules, r); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// UpsertACLBindingRules creates or replaces binding rules, keeping each
// one's CreateIndex and CreateTime; their auth methods must exist.
func (s *Store) UpsertACLBindingRules(index uint64, req *structs.ACLBindingRuleUpsertRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		for _, r := range req.BindingRules {
			if raw, err := tx.First(tableACLAuthMethods, "id", r.AuthMethod); err != nil {
				return fmt.Errorf("auth method lookup: %w", err)
			} else if raw == nil {
				return refusedf("ACL auth method %q not found", r.AuthMethod)
			}
			stored := *r
			stored.CreateIndex, stored.ModifyIndex = index, index
			if raw, err := tx.First(tableACLBindingRules, "id", r.ID); err != nil {
				return fmt.Errorf("binding rule lookup: %w", err)
			} else if raw != nil {
				old := raw.(*api.ACLBindingRule)
				stored.CreateIndex, stored.CreateTime = old.CreateIndex, old.CreateTime
			}
			if err := tx.insert(tableACLBindingRules, &stored); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteACLBindingRules deletes binding rules; every ID must exist.
func (s *Store) DeleteACLBindingRules(index uint64, req *structs.ACLBindingRuleDeleteRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		for _, id := range req.IDs {
			raw, err := tx.First(tableACLBindingRules, "id", id)
			if err != nil {
				return fmt.Errorf("binding rule lookup: %w", err)
			}
			if raw == nil {
				return fmt.Errorf("ACL binding rule %q: %w", id, ErrNotFound)
			}
			if err := tx.delete(tableACLBindingRules, raw); err != nil {
				return err
			}
		}
		return nil
	})
}

// ACLAuthMethodsIndex is the index of the auth method table.
func (s *Snapshot) ACLAuthMethodsIndex() uint64 { return s.Index(tableACLAuthMethods) }

// ACLBindingRulesIndex is the index of the binding rule table.
func (s *Snapshot) ACLBindingRulesIndex() uint64 { return s.Index(tableACLBindingRules) }

// ACLAuthMethodByName returns an auth method, or nil.
func (s *Snapshot) ACLAuthMethodByName(name string) (*api.ACLAuthMethod, error) {
	raw, err := s.first(tableACLAuthMethods, "id", name)
	if raw == nil {
		return nil, err
	}
	return raw.(*api.ACLAuthMethod), nil
}

// ACLAuthMethods lists auth methods ordered by name.
func (s *Snapshot) ACLAuthMethods() ([]*api.ACLAuthMethod, error) {
	var out []*api.ACLAuthMethod
	err := s.each(tableACLAuthMethods, "id", func(raw any) { out = append(out, raw.(*api.ACLAuthMethod)) })
	return out, err
}

// ACLBindingRuleByID returns a binding rule, or nil.
func (s *Snapshot) ACLBindingRuleByID(id string) (*api.ACLBindingRule, error) {
	raw, err := s.first(tableACLBindingRules, "id", id)
	if raw == nil {
		return nil, err
	}
	return raw.(*api.ACLBindingRule), nil
}

// ACLBindingRules lists binding rules ordered by ID.
func (s *Snapshot) ACLBindingRules() ([]*api.ACLBindingRule, error) {
	var out []*api.ACLBindingRule
	err := s.each(tableACLBindingRules, "id", func(raw any) { out = append(out, raw.(*api.ACLBindingRule)) })
	return out, err
}
