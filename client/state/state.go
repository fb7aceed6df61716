// Package state persists the client's knowledge of its allocations and of
// the tasks it started (driver handles) in a bbolt file, so that a restarted
// client re-attaches to running tasks instead of starting them again.
package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hashicorp/nomad/api"
	"go.etcd.io/bbolt"

	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/network"
)

var (
	allocsBucket = []byte("allocs")
	tasksBucket  = []byte("tasks")
	// networksBucket holds allocations' network set-ups, by alloc ID.
	networksBucket = []byte("networks")
	// metaBucket holds facts about the client itself.
	metaBucket     = []byte("meta")
	lastContactKey = []byte("last_contact")
	// nodeMetaKey holds the dynamic node metadata set through the API.
	nodeMetaKey = []byte("node_meta")
	// nodeIdentityKey holds the node identity the servers signed.
	nodeIdentityKey = []byte("node_identity")
)

// TaskRecord is what the client keeps about one task.
type TaskRecord struct {
	State  *api.TaskState
	Handle *drivers.TaskHandle
}

// DB is the client's state file.
type DB struct {
	db *bbolt.DB
}

// Open opens (creating if needed) the state file at path.
func Open(path string) (*DB, error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open client state %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{allocsBucket, tasksBucket, networksBucket, metaBucket} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("init client state: %w", err)
	}
	return &DB{db: db}, nil
}

// Close closes the file.
func (d *DB) Close() error { return d.db.Close() }

// PutAlloc stores an allocation.
func (d *DB) PutAlloc(a *api.Allocation) error {
	return d.put(allocsBucket, []byte(a.ID), a)
}

// Allocs returns every stored allocation.
func (d *DB) Allocs() ([]*api.Allocation, error) {
	var out []*api.Allocation
	err := d.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(allocsBucket).ForEach(func(k, v []byte) error {
			var a api.Allocation
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("decode alloc %s: %w", k, err)
			}
			out = append(out, &a)
			return nil
		})
	})
	return out, err
}

// DeleteAlloc removes an allocation and its tasks.
func (d *DB) DeleteAlloc(id string) error {
	return d.db.Update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket(allocsBucket).Delete([]byte(id)); err != nil {
			return err
		}
		prefix := []byte(id + "/")
		c := tx.Bucket(tasksBucket).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

// PutTask stores a task's record.
func (d *DB) PutTask(allocID, task string, rec *TaskRecord) error {
	return d.put(tasksBucket, []byte(allocID+"/"+task), rec)
}

// Tasks returns the stored records of an allocation's tasks, by task name.
func (d *DB) Tasks(allocID string) (map[string]*TaskRecord, error) {
	out := make(map[string]*TaskRecord)
	prefix := []byte(allocID + "/")
	err := d.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(tasksBucket).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var rec TaskRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode task %s: %w", k, err)
			}
			out[string(k[len(prefix):])] = &rec
		}
		return nil
	})
	return out, err
}

// PutNetwork stores an allocation's network set-up.
func (d *DB) PutNetwork(s *network.Status) error {
	return d.put(networksBucket, []byte(s.AllocID), s)
}

// DeleteNetwork forgets an allocation's network set-up.
func (d *DB) DeleteNetwork(allocID string) error {
	return d.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(networksBucket).Delete([]byte(allocID))
	})
}

// Networks returns every stored network set-up.
func (d *DB) Networks() ([]*network.Status, error) {
	var out []*network.Status
	err := d.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(networksBucket).ForEach(func(k, v []byte) error {
			var s network.Status
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("decode network %s: %w", k, err)
			}
			out = append(out, &s)
			return nil
		})
	})
	return out, err
}

// PutLastContact records when the client last reached the servers.
func (d *DB) PutLastContact(t time.Time) error {
	return d.put(metaBucket, lastContactKey, t)
}

// LastContact returns the time PutLastContact recorded, or the zero time
// when none was.
func (d *DB) LastContact() (time.Time, error) {
	var t time.Time
	err := d.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(metaBucket).Get(lastContactKey)
		if v == nil {
			return nil
		}
		return json.Unmarshal(v, &t)
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("read last contact: %w", err)
	}
	return t, nil
}

// PutNodeMeta records the dynamic node metadata: a nil value unsets a
// key of the static metadata.
func (d *DB) PutNodeMeta(meta map[string]*string) error {
	return d.put(metaBucket, nodeMetaKey, meta)
}

// NodeMeta returns what PutNodeMeta recorded, or nil.
func (d *DB) NodeMeta() (map[string]*string, error) {
	var meta map[string]*string
	err := d.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(metaBucket).Get(nodeMetaKey)
		if v == nil {
			return nil
		}
		return json.Unmarshal(v, &meta)
	})
	if err != nil {
		return nil, fmt.Errorf("read node meta: %w", err)
	}
	return meta, nil
}

// PutNodeIdentity records the node's signed identity.
func (d *DB) PutNodeIdentity(jwt string) error {
	return d.put(metaBucket, nodeIdentityKey, jwt)
}

// NodeIdentity returns what PutNodeIdentity recorded, or "".
func (d *DB) NodeIdentity() (string, error) {
	var jwt string
	err := d.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(metaBucket).Get(nodeIdentityKey)
		if v == nil {
			return nil
		}
		return json.Unmarshal(v, &jwt)
	})
	if err != nil {
		return "", fmt.Errorf("read node identity: %w", err)
	}
	return jwt, nil
}

func (d *DB) put(bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	err = d.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucket).Put(key, data)
	})
	if err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}
