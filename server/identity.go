package server

import (
	"crypto/rsa"
	"fmt"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/identity"
	"github.com/roam-project/roam/state"
	"github.com/roam-project/roam/structs"
)

// SignIdentities signs the workload identities of task taskName of
// allocation allocID with the keyring's active signing key: one JWT per
// identity, the default one first. Any server can sign (every server holds
// the keys); one that does not know the allocation yet asks the leader.
func (s *Server) SignIdentities(args *structs.AllocSignIdentitiesArgs) ([]*structs.SignedIdentity, error) {
	snap := s.State().Snapshot()
	alloc, err := snap.AllocByID(args.AllocID)
	if err != nil {
		return nil, err
	}
	if alloc == nil {
		var reply structs.AllocSignIdentitiesReply
		if done, err := s.forward("Alloc.SignIdentities", args, &reply); done {
			return reply.Identities, err
		}
		return nil, fmt.Errorf("allocation %s: %w", args.AllocID, ErrNotFound)
	}
	if args.AuthNodeID != "" && alloc.NodeID != args.AuthNodeID {
		return nil, fmt.Errorf("Permission denied: allocation %s does not run on node %s", alloc.ID, args.AuthNodeID)
	}
	if structs.AllocTerminal(alloc) {
		return nil, fmt.Errorf("%w: allocation %s is terminal: it gets no identities", ErrInvalid, alloc.ID)
	}
	task := allocTask(alloc, args.TaskName)
	if task == nil {
		return nil, fmt.Errorf("task %q of allocation %s: %w", args.TaskName, alloc.ID, ErrNotFound)
	}
	kid, key, err := s.signingKey(snap)
	if err != nil {
		return nil, err
	}
	w := identity.Workload{Region: s.config.Region, Namespace: alloc.Namespace, JobID: alloc.JobID,
		Group: alloc.TaskGroup, Task: task.Name, AllocID: alloc.ID}
	now := time.Now()
	var out []*structs.SignedIdentity
	for _, wid := range identity.TaskIdentities(task) {
		jwt, err := identity.Sign(key, kid, identity.NewClaims(w, wid, s.config.OIDCIssuer, now))
		if err != nil {
			return nil, err
		}
		out = append(out, &structs.SignedIdentity{IdentityName: identity.Name(wid), JWT: jwt})
	}
	return out, nil
}

// allocTask finds a task in the allocation's copy of its job.
func allocTask(alloc *api.Allocation, name string) *api.Task {
	if alloc.Job == nil {
		return nil
	}
	for _, tg := range alloc.Job.TaskGroups {
		if tg.Name == nil || *tg.Name != alloc.TaskGroup {
			continue
		}
		for _, t := range tg.Tasks {
			if t.Name == name {
				return t
			}
		}
	}
	return nil
}

// signingKey returns the newest root key that signs, unwrapped.
func (s *Server) signingKey(snap *state.Snapshot) (string, *rsa.PrivateKey, error) {
	keys, err := snap.RootKeys()
	if err != nil {
		return "", nil, err
	}
	for i := len(keys) - 1; i >= 0; i-- {
		rk := keys[i]
		if len(rk.WrappedSigningKey) == 0 {
			continue
		}
		if signer, ok := s.keys.cachedSigner(rk.KeyID); ok {
			return rk.KeyID, signer, nil
		}
		signer, err := s.keys.unwrapSigner(rk)
		if err != nil {
			return "", nil, err
		}
		s.keys.rememberSigner(rk.KeyID, signer)
		return rk.KeyID, signer, nil
	}
	return "", nil, fmt.Errorf("keyring: %w (the leader makes one at start)", errNoSigningKey)
}

// verifyIdentity checks a workload identity against the keyring of snap
// (the key must still be there) and the allocation it names, which must
// not be terminal; it returns the claims and the allocation.
func verifyIdentity(snap *state.Snapshot, token string, now time.Time) (*identity.Claims, *api.Allocation, error) {
	keys := func(kid string) (*rsa.PublicKey, error) {
		rk, err := snap.RootKey(kid)
		if err != nil || rk == nil {
			return nil, fmt.Errorf("key %s: %w", kid, errUnknownKey)
		}
		return publicKey(rk)
	}
	claims, err := identity.Verify(token, keys, now)
	if err != nil {
		return nil, nil, err
	}
	alloc, err := snap.AllocByID(claims.AllocationID)
	if err != nil {
		return nil, nil, err
	}
	if alloc == nil || structs.AllocTerminal(alloc) || alloc.Namespace != claims.Namespace || alloc.JobID != claims.JobID {
		return nil, nil, errIdentityAllocGone
	}
	return claims, alloc, nil
}
