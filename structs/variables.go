package structs

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

// VarOp is the operation a VarApplyRequest carries.
type VarOp string

// The variable operations, as Nomad names them.
const (
	// VarOpSet creates or overwrites a variable.
	VarOpSet VarOp = "set"
	// VarOpDelete removes a variable; a missing one is no error.
	VarOpDelete VarOp = "delete"
	// VarOpCAS writes only when CheckIndex equals the stored ModifyIndex
	// (0: only when the variable does not exist).
	VarOpCAS VarOp = "cas"
	// VarOpDeleteCAS deletes only when CheckIndex equals the stored
	// ModifyIndex (0: only when the variable does not exist, a no-op).
	VarOpDeleteCAS VarOp = "delete-cas"
	// VarOpLockAcquire takes the variable's lock (creating the variable
	// when needed), unless someone holds it.
	VarOpLockAcquire VarOp = "lock-acquire"
	// VarOpLockRelease gives the lock back; the request's lock ID must be
	// the holder's.
	VarOpLockRelease VarOp = "lock-release"
	// VarOpLockRenew restarts the lease of a held lock. The leader times
	// leases; a renewal is never written to Raft.
	VarOpLockRenew VarOp = "lock-renew"
)

// VarLock is a variable's lock (Nomad's variable locks): the holder's ID,
// how long the lock lasts without a renewal, and how long after it lapses
// no one may take it. While it is held, only requests that carry its ID
// may change the variable.
type VarLock struct {
	ID        string
	TTL       time.Duration
	LockDelay time.Duration
}

// APILock is the lock as the API shows it.
func (l *VarLock) APILock() *api.VariableLock {
	if l == nil {
		return nil
	}
	return &api.VariableLock{ID: l.ID, TTL: l.TTL.String(), LockDelay: l.LockDelay.String()}
}

// Var is a variable as the state store keeps it: metadata in the clear,
// Items sealed. Data is the AES-GCM sealed JSON of the items (nonce first),
// under the keyring key KeyID, bound to the namespace and path.
type Var struct {
	Namespace   string
	Path        string
	CreateIndex uint64
	ModifyIndex uint64
	CreateTime  int64
	ModifyTime  int64
	KeyID       string
	Data        []byte
	Lock        *VarLock `json:",omitempty"`
}

// Metadata is the variable's listing entry.
func (v *Var) Metadata() *api.VariableMetadata {
	return &api.VariableMetadata{
		Namespace:   v.Namespace,
		Path:        v.Path,
		CreateIndex: v.CreateIndex,
		ModifyIndex: v.ModifyIndex,
		CreateTime:  v.CreateTime,
		ModifyTime:  v.ModifyTime,
		Lock:        v.Lock.APILock(),
	}
}

// VarApplyRequest is the Raft entry that writes or deletes a variable. For
// deletes only Var's Namespace and Path matter.
type VarApplyRequest struct {
	Op         VarOp
	Var        *Var
	CheckIndex uint64
	Time       int64
}

// VarApplyArgs asks the leader to apply a variable operation; Var carries
// the items in the clear, which the leader seals before they reach Raft.
type VarApplyArgs struct {
	Op         VarOp
	Var        *api.Variable
	CheckIndex uint64
	WriteRequest
}

// VarApplyReply is the outcome: the stored variable (Output) or, when a
// check-and-set failed, the current one (Conflict), and the write's index.
type VarApplyReply struct {
	Output   *api.Variable
	Conflict *api.Variable
	Index    uint64
}

// MaxVarSize bounds a variable's encoded items, as Nomad's 64 KiB limit.
const MaxVarSize = 64 * 1024

var validVarPath = regexp.MustCompile(`^[a-zA-Z0-9\-_~/]{1,128}$`)

// ValidateVarPath checks a variable path as Nomad does: URL-safe
// characters that do not clash with templates (letters, digits, - _ ~ /),
// at most 128 of them, and nothing under the reserved "nomad/" tree but
// nomad/jobs/<job>/<group>/<task>, nomad/job-templates/<name> and (Roam's
// own) nomad/ingress/certs/<name>, the ingress's TLS certificates.
func ValidateVarPath(path string) error {
	if !validVarPath.MatchString(path) {
		return fmt.Errorf("invalid path %q: a path is 1 to 128 letters, digits and the characters - _ ~ /", path)
	}
	parts := strings.Split(path, "/")
	if parts[0] != "nomad" {
		return nil
	}
	if len(parts) == 4 && parts[1] == "ingress" && parts[2] == "certs" && parts[3] != "" {
		return nil
	}
	if len(parts) == 1 || (parts[1] != "jobs" && parts[1] != "job-templates") {
		return fmt.Errorf(`invalid path %q: "nomad" is a reserved top-level directory path, but you may write variables to "nomad/jobs", "nomad/job-templates", or below`, path)
	}
	if parts[1] == "jobs" && len(parts) > 5 {
		return fmt.Errorf(`invalid path %q: below "nomad/jobs" a path is at most nomad/jobs/<job>/<group>/<task>`, path)
	}
	if parts[1] == "job-templates" && len(parts) > 3 {
		return fmt.Errorf(`invalid path %q: below "nomad/job-templates" a path is at most nomad/job-templates/<name>`, path)
	}
	return nil
}

// ValidateVar checks a variable a user wants to write.
func ValidateVar(v *api.Variable) error {
	if err := ValidateVarPath(v.Path); err != nil {
		return err
	}
	if len(v.Items) == 0 {
		return fmt.Errorf("variable missing required Items object")
	}
	size := 0
	for k, val := range v.Items {
		if k == "" {
			return fmt.Errorf("variable %q: item keys must not be empty", v.Path)
		}
		size += len(k) + len(val)
	}
	if size > MaxVarSize {
		return fmt.Errorf("variable %q: items total %d bytes, more than the %d allowed", v.Path, size, MaxVarSize)
	}
	return nil
}
