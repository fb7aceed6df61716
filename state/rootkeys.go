package state

import (
	"fmt"
	"sort"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-project/roam/structs"
)

// tableRootKeys holds the keyring's wrapped root keys, keyed by ID.
const tableRootKeys = "root_keys"

// RootKeyUpsert adds a root key at index. Keys are immutable: upserting
// an ID already stored keeps the stored key.
func (s *Store) RootKeyUpsert(index uint64, req *structs.RootKeyUpsertRequest) error {
	if req.Key == nil || req.Key.KeyID == "" || len(req.Key.WrappedKey) == 0 {
		return fmt.Errorf("root key upsert: request has no key")
	}
	return s.write(index, func(tx *writeTxn) error {
		raw, err := tx.First(tableRootKeys, "id", req.Key.KeyID)
		if err != nil {
			return fmt.Errorf("root key lookup: %w", err)
		}
		if raw != nil {
			return nil
		}
		stored := *req.Key
		stored.CreateIndex = index
		return tx.insert(tableRootKeys, &stored)
	})
}

// RootKeyDelete removes a root key; a missing one is no error.
func (s *Store) RootKeyDelete(index uint64, req *structs.RootKeyDeleteRequest) error {
	return s.write(index, func(tx *writeTxn) error {
		raw, err := tx.First(tableRootKeys, "id", req.KeyID)
		if err != nil {
			return fmt.Errorf("root key lookup: %w", err)
		}
		if raw == nil {
			return nil
		}
		return tx.delete(tableRootKeys, raw)
	})
}

// RootKey returns the root key with id, or nil.
func (s *Snapshot) RootKey(id string) (*structs.RootKey, error) {
	raw, err := s.txn.First(tableRootKeys, "id", id)
	if err != nil {
		return nil, fmt.Errorf("root key lookup: %w", err)
	}
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.RootKey), nil
}

// RootKeys lists the root keys, oldest first; the last is the active one.
func (s *Snapshot) RootKeys() ([]*structs.RootKey, error) {
	it, err := s.txn.Get(tableRootKeys, "id")
	if err != nil {
		return nil, fmt.Errorf("root key list: %w", err)
	}
	s.watch(it.WatchCh())
	var out []*structs.RootKey
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.RootKey))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].CreateIndex != out[j].CreateIndex {
			return out[i].CreateIndex < out[j].CreateIndex
		}
		return out[i].KeyID < out[j].KeyID
	})
	return out, nil
}

// RootKeysIndex is the index of the last change to the keyring.
func (s *Snapshot) RootKeysIndex() uint64 { return s.Index(tableRootKeys) }

func rootKeysTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableRootKeys, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "KeyID"}},
	}}
}
