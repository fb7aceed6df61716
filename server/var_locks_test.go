package server

import (
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// TestVarLockLease: a renewed lease does not lapse; one left alone
// releases its lock, and the lock delay then holds off new holders.
func TestVarLockLease(t *testing.T) {
	expired := make(chan string, 1)
	l := newVarLocks(func(k varKey, id string) { expired <- id })
	key := varKey{"default", "app/leader"}
	l.start(key, &structs.VarLock{ID: "lock-1", TTL: 80 * time.Millisecond, LockDelay: time.Hour})
	time.Sleep(50 * time.Millisecond)
	if !l.renew(key, 80*time.Millisecond) {
		t.Fatal("renew of a running lease failed")
	}
	time.Sleep(50 * time.Millisecond)
	select {
	case id := <-expired:
		t.Fatalf("renewed lease %s lapsed", id)
	default:
	}
	select {
	case id := <-expired:
		if id != "lock-1" {
			t.Fatalf("lapsed lock %q", id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("lease never lapsed")
	}
	if !l.delayed(key) {
		t.Error("no lock delay after the lease lapsed")
	}
	if l.renew(key, time.Second) {
		t.Error("a lapsed lease was renewed")
	}
}

func TestNewLock(t *testing.T) {
	tests := []struct {
		name    string
		req     *api.VariableLock
		wantTTL time.Duration
		wantErr bool
	}{
		{name: "defaults", req: nil, wantTTL: defaultLockTTL},
		{name: "own TTL", req: &api.VariableLock{TTL: "30s", LockDelay: "1s"}, wantTTL: 30 * time.Second},
		{name: "TTL under the minimum", req: &api.VariableLock{TTL: "1s"}, wantErr: true},
		{name: "not a duration", req: &api.VariableLock{LockDelay: "soon"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lock, err := newLock(tc.req)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err == nil && (lock.TTL != tc.wantTTL || lock.ID == "") {
				t.Fatalf("lock = %+v", lock)
			}
		})
	}
}
