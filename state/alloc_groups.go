package state

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/hashicorp/go-memdb"
)

// Allocations are stored in groups, rows that each hold many of them,
// not one go-memdb row each: a row, or an index entry, costs a radix
// leaf, a node and their two watch channels, about 500 bytes, where a
// group holds one pointer. The allocations table holds buckets, by the
// first allocBucketLen characters of their IDs; a node's allocations and
// a job's are looked up as a group each. A group is replaced, like any
// stored object, when one of its allocations changes, so that its watch
// fires as an index's did (a bucket's for every allocation in it, where
// a row's fired for that one alone: a blocking query on one allocation
// may wake for another and wait again).
const (
	tableNodeAllocs = "node_allocs"
	tableJobAllocs  = "job_allocs"
)

// allocBucketLen is the length of the ID prefix that names an
// allocation's bucket: 4,096 buckets of random UUIDs, some 250
// allocations each at a million.
const allocBucketLen = 3

// allocBucketKey is the bucket of the allocation id.
func allocBucketKey(id string) string { return id[:min(len(id), allocBucketLen)] }

// compareRowID orders rows by ID.
func compareRowID(r *allocRow, id string) int { return cmp.Compare(r.ID, id) }

// lookupAlloc returns the stored allocation id, or nil, adding the watch
// of its bucket to ws when ws is not nil.
func lookupAlloc(txn *memdb.Txn, ws memdb.WatchSet, id string) (*allocRow, error) {
	rows, err := readGroup(txn, ws, tableAllocs, allocBucketKey(id))
	if err != nil {
		return nil, err
	}
	if i, ok := slices.BinarySearchFunc(rows, id, compareRowID); ok {
		return rows[i], nil
	}
	return nil, nil
}

// allocByID returns the allocation id as this transaction has it, or nil.
func (tx *writeTxn) allocByID(id string) (*allocRow, error) {
	if row, ok := tx.groups[groupRef{tableAllocs, allocBucketKey(id)}][id]; ok {
		return row, nil
	}
	return lookupAlloc(tx.Txn, nil, id)
}

// allocGroup is the allocations of one node or one job, sorted by ID.
// Its Key is the node ID, or the namespace and job ID, each NUL-ended.
type allocGroup struct {
	Key    string
	Allocs []*allocRow
}

// groupTableSchema is the schema of a group table.
func groupTableSchema(name string) *memdb.TableSchema {
	return &memdb.TableSchema{Name: name, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: groupIndexer{}},
	}}
}

// groupIndexer indexes allocGroup by its Key. (An allocation bucket's
// Key has no terminator: its order among the others is its IDs'.)
type groupIndexer struct{}

func (groupIndexer) FromObject(obj any) (bool, []byte, error) {
	g, ok := obj.(*allocGroup)
	if !ok {
		return false, nil, fmt.Errorf("alloc group index: unexpected %T", obj)
	}
	return true, []byte(g.Key), nil
}

// FromArgs takes a group's Key, terminators included.
func (groupIndexer) FromArgs(args ...any) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("alloc group index: want one key, got %d arguments", len(args))
	}
	key, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("alloc group index: want a string key, got %T", args[0])
	}
	return []byte(key), nil
}

// PrefixFromArgs joins its strings NUL-ended, the last one open.
func (groupIndexer) PrefixFromArgs(args ...any) ([]byte, error) { return stringArgs(args, false) }

// bucketGroupKey, nodeGroupKey and jobGroupKey are the keys of an
// allocation's groups; "" (an allocation without node or job) is in no
// group.
func bucketGroupKey(r *allocRow) string { return allocBucketKey(r.ID) }

func nodeGroupKey(r *allocRow) string {
	if r.NodeID == "" {
		return ""
	}
	return r.NodeID + "\x00"
}

func jobGroupKey(r *allocRow) string {
	if r.Namespace == "" || r.JobID == "" {
		return ""
	}
	return r.Namespace + "\x00" + r.JobID + "\x00"
}

// allocGroupTables are the group tables an allocation is stored in, each
// with the key of the allocation's group there.
var allocGroupTables = []struct {
	table string
	key   func(*allocRow) string
}{{tableAllocs, bucketGroupKey}, {tableNodeAllocs, nodeGroupKey}, {tableJobAllocs, jobGroupKey}}

// groupRef names a group.
type groupRef struct{ table, key string }

// groupEdits are a write transaction's changes to groups, applied to the
// stored groups when the transaction reads a group or commits: by group,
// the allocations set (or, nil, removed) by ID.
type groupEdits map[groupRef]map[string]*allocRow

// setAllocGroups records in the groups that row (nil when deleted)
// replaces old (nil when new).
func (tx *writeTxn) setAllocGroups(old, row *allocRow) {
	for _, g := range allocGroupTables {
		newKey := ""
		if row != nil {
			newKey = g.key(row)
		}
		if old != nil {
			if oldKey := g.key(old); oldKey != "" && oldKey != newKey {
				tx.editGroup(groupRef{g.table, oldKey})[old.ID] = nil
			}
		}
		if newKey != "" {
			tx.editGroup(groupRef{g.table, newKey})[row.ID] = row
		}
	}
}

func (tx *writeTxn) editGroup(ref groupRef) map[string]*allocRow {
	if tx.groups == nil {
		tx.groups = groupEdits{}
	}
	e := tx.groups[ref]
	if e == nil {
		e = map[string]*allocRow{}
		tx.groups[ref] = e
	}
	return e
}

// group is a group as this transaction has it, its edits applied.
func (tx *writeTxn) group(table, key string) ([]*allocRow, error) {
	if err := tx.applyGroupEdits(groupRef{table, key}); err != nil {
		return nil, err
	}
	return readGroup(tx.Txn, nil, table, key)
}

// applyAllGroupEdits applies every edit, before the transaction commits.
func (tx *writeTxn) applyAllGroupEdits() error {
	for ref := range tx.groups {
		if err := tx.applyGroupEdits(ref); err != nil {
			return err
		}
	}
	return nil
}

// applyGroupEdits stores ref's group with its edits merged in: a new
// group (stored ones are never changed), or none when it is left empty.
func (tx *writeTxn) applyGroupEdits(ref groupRef) error {
	edits := tx.groups[ref]
	if len(edits) == 0 {
		return nil
	}
	delete(tx.groups, ref)
	raw, err := tx.First(ref.table, "id", ref.key)
	if err != nil {
		return fmt.Errorf("%s lookup: %w", ref.table, err)
	}
	var stored []*allocRow
	if raw != nil {
		stored = raw.(*allocGroup).Allocs
	}
	// Stored runs between the edits are copied whole: each edit costs a
	// binary search, not a comparison with every allocation.
	ids := slices.Sorted(maps.Keys(edits))
	merged := make([]*allocRow, 0, len(stored)+len(ids))
	next := 0
	for _, id := range ids {
		i, found := slices.BinarySearchFunc(stored[next:], id, compareRowID)
		i += next
		merged = append(merged, stored[next:i]...)
		if found {
			i++ // replaced, or removed
		}
		if row := edits[id]; row != nil {
			merged = append(merged, row)
		}
		next = i
	}
	merged = append(merged, stored[next:]...)
	if len(merged) == 0 {
		if raw != nil {
			if err := tx.Delete(ref.table, raw); err != nil {
				return fmt.Errorf("delete from %s: %w", ref.table, err)
			}
		}
		return nil
	}
	if err := tx.Insert(ref.table, &allocGroup{Key: ref.key, Allocs: slices.Clip(merged)}); err != nil {
		return fmt.Errorf("insert into %s: %w", ref.table, err)
	}
	return nil
}

// readGroup returns a stored group's allocations, adding its watch to ws
// when ws is not nil.
func readGroup(txn *memdb.Txn, ws memdb.WatchSet, table, key string) ([]*allocRow, error) {
	ch, raw, err := txn.FirstWatch(table, "id", key)
	if err != nil {
		return nil, fmt.Errorf("%s lookup: %w", table, err)
	}
	if ws != nil {
		ws.Add(ch)
	}
	if raw == nil {
		return nil, nil
	}
	return raw.(*allocGroup).Allocs, nil
}

// groupsBuilder collects the groups of allocations restored from a
// snapshot, which come in ID order, to store each group once.
type groupsBuilder map[groupRef][]*allocRow

func (b groupsBuilder) add(row *allocRow) {
	for _, g := range allocGroupTables {
		if k := g.key(row); k != "" {
			ref := groupRef{g.table, k}
			b[ref] = append(b[ref], row)
		}
	}
}

// store inserts the groups into txn.
func (b groupsBuilder) store(txn *memdb.Txn) error {
	byID := func(a, b *allocRow) int { return cmp.Compare(a.ID, b.ID) }
	for ref, rows := range b {
		if !slices.IsSortedFunc(rows, byID) {
			slices.SortFunc(rows, byID)
		}
		// A copy of its size: rows grew by appending.
		if err := txn.Insert(ref.table, &allocGroup{Key: ref.key, Allocs: slices.Clone(rows)}); err != nil {
			return fmt.Errorf("insert into %s: %w", ref.table, err)
		}
	}
	return nil
}
