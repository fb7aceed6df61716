package identity

import (
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/hashicorp/go-uuid"
	"github.com/hashicorp/nomad/api"
)

// DefaultName is the name of the identity every task has.
const DefaultName = "default"

// DefaultAudience is the audience of the default identity, as Nomad's.
const DefaultAudience = "nomad.io"

// Claims are a workload identity's claims, as Nomad names them.
type Claims struct {
	Namespace    string `json:"nomad_namespace"`
	JobID        string `json:"nomad_job_id"`
	AllocationID string `json:"nomad_allocation_id"`
	Task         string `json:"nomad_task,omitempty"`
	jwt.Claims
}

// Workload is what an identity is issued for: one task of one allocation.
type Workload struct {
	Region, Namespace, JobID, Group, Task, AllocID string
}

// Subject is the `sub` claim of the workload's identity name:
// region:namespace:job:group:task:identity.
func (w Workload) Subject(identity string) string {
	return strings.Join([]string{w.Region, w.Namespace, w.JobID, w.Group, w.Task, identity}, ":")
}

// NewClaims builds the claims of identity wid for workload w, issued now by
// issuer (empty: no `iss`). A TTL sets `exp`; without one the identity is
// valid as long as its allocation runs.
func NewClaims(w Workload, wid *api.WorkloadIdentity, issuer string, now time.Time) *Claims {
	jti, _ := uuid.GenerateUUID()
	c := &Claims{
		Namespace: w.Namespace, JobID: w.JobID, AllocationID: w.AllocID, Task: w.Task,
		Claims: jwt.Claims{
			ID:        jti,
			Issuer:    issuer,
			Subject:   w.Subject(Name(wid)),
			Audience:  jwt.Audience(wid.Audience),
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
		},
	}
	if wid.TTL > 0 {
		c.Expiry = jwt.NewNumericDate(now.Add(wid.TTL))
	}
	return c
}

// Name is an identity's name ("default" when unnamed).
func Name(wid *api.WorkloadIdentity) string {
	if wid.Name == "" {
		return DefaultName
	}
	return wid.Name
}

// TaskIdentities lists the identities task is given: its default identity
// (the task's unnamed identity block, else Nomad's default: audience
// nomad.io, neither env nor file), then the named ones.
func TaskIdentities(task *api.Task) []*api.WorkloadIdentity {
	def := task.Identity
	if def == nil {
		def = &api.WorkloadIdentity{}
	}
	d := *def
	d.Name = DefaultName
	if len(d.Audience) == 0 {
		d.Audience = []string{DefaultAudience}
	}
	return append([]*api.WorkloadIdentity{&d}, task.Identities...)
}
