package state

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/internal/codec"
	"github.com/roam-project/roam/structs"
)

// snapshotRecord is one object in a persisted snapshot stream.
type snapshotRecord struct {
	Table       string
	Index       *indexEntry              `json:",omitempty"`
	Job         *api.Job                 `json:",omitempty"`
	Submission  *api.JobSubmission       `json:",omitempty"`
	Summary     *api.JobSummary          `json:",omitempty"`
	Eval        *api.Evaluation          `json:",omitempty"`
	Alloc       *api.Allocation          `json:",omitempty"`
	Node        *api.Node                `json:",omitempty"`
	Service     *api.ServiceRegistration `json:",omitempty"`
	Var         *structs.Var             `json:",omitempty"`
	Deployment  *api.Deployment          `json:",omitempty"`
	RootKey     *structs.RootKey         `json:",omitempty"`
	Namespace   *api.Namespace           `json:",omitempty"`
	ACLPolicy   *api.ACLPolicy           `json:",omitempty"`
	ACLToken    *api.ACLToken            `json:",omitempty"`
	SubnetLease *structs.SubnetLease     `json:",omitempty"`
	ACLRole     *api.ACLRole             `json:",omitempty"`
	Config      *ConfigEntry             `json:",omitempty"`
	NodePool    *api.NodePool            `json:",omitempty"`
	Scaling     *ScalingEvents           `json:",omitempty"`
	// JobRef links an allocation to the job it runs, written once before
	// the first allocation of that job version as a record of the table
	// allocJobsTable; 0 means the allocation carries its job itself (or
	// has none).
	JobRef       int                 `json:",omitempty"`
	HostVolume   *api.HostVolume     `json:",omitempty"`
	OneTimeToken *api.OneTimeToken   `json:",omitempty"`
	AuthMethod   *api.ACLAuthMethod  `json:",omitempty"`
	BindingRule  *api.ACLBindingRule `json:",omitempty"`
}

// allocJobsTable names the records that carry the jobs allocations run:
// they fill no table, and a million allocations of one job store (and
// restore into) one job, not a million copies.
const allocJobsTable = "alloc_jobs"

// Persist writes every object of the snapshot to w, one record after the
// other: the byte codec.Format, then a stream of msgpack records.
func (s *Snapshot) Persist(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := bw.WriteByte(codec.Format); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	enc := codec.NewEncoder(bw)
	jobRefs := map[*api.Job]int{}
	var fillErr error // a stored allocation's metric that does not decode
	emit := func(table string, fill func(raw any) snapshotRecord) error {
		it, err := s.txn.Get(table, "id")
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", table, err)
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			rec := fill(raw)
			if fillErr != nil {
				return fmt.Errorf("snapshot %s: %w", table, fillErr)
			}
			rec.Table = table
			if rec.Alloc != nil && rec.Alloc.Job != nil {
				if rec, err = refAllocJob(enc, jobRefs, rec); err != nil {
					return fmt.Errorf("snapshot %s: %w", table, err)
				}
			}
			if err := enc.Encode(&rec); err != nil {
				return fmt.Errorf("snapshot %s: %w", table, err)
			}
		}
		return nil
	}
	steps := []struct {
		table string
		fill  func(raw any) snapshotRecord
	}{
		{tableIndex, func(r any) snapshotRecord { return snapshotRecord{Index: r.(*indexEntry)} }},
		{tableJobs, func(r any) snapshotRecord { return snapshotRecord{Job: r.(*jobRow).Job} }},
		{tableJobVersions, func(r any) snapshotRecord {
			row := r.(*jobRow)
			return snapshotRecord{Job: row.Job, Submission: row.Submission}
		}},
		{tableJobSummary, func(r any) snapshotRecord { return snapshotRecord{Summary: r.(*summaryRow).Summary} }},
		{tableEvals, func(r any) snapshotRecord { return snapshotRecord{Eval: r.(*api.Evaluation)} }},
		{tableAllocs, func(r any) snapshotRecord {
			a, err := r.(*allocRow).full()
			fillErr = err
			return snapshotRecord{Alloc: a}
		}},
		{tableNodes, func(r any) snapshotRecord { return snapshotRecord{Node: r.(*api.Node)} }},
		{tableServices, func(r any) snapshotRecord { return snapshotRecord{Service: r.(*api.ServiceRegistration)} }},
		{tableVars, func(r any) snapshotRecord { return snapshotRecord{Var: r.(*structs.Var)} }},
		{tableDeployments, func(r any) snapshotRecord { return snapshotRecord{Deployment: r.(*api.Deployment)} }},
		{tableRootKeys, func(r any) snapshotRecord { return snapshotRecord{RootKey: r.(*structs.RootKey)} }},
		{tableNamespaces, func(r any) snapshotRecord { return snapshotRecord{Namespace: r.(*api.Namespace)} }},
		{tableACLPolicies, func(r any) snapshotRecord { return snapshotRecord{ACLPolicy: r.(*api.ACLPolicy)} }},
		{tableACLTokens, func(r any) snapshotRecord { return snapshotRecord{ACLToken: r.(*api.ACLToken)} }},
		{tableACLRoles, func(r any) snapshotRecord { return snapshotRecord{ACLRole: r.(*api.ACLRole)} }},
		{tableSubnetLeases, func(r any) snapshotRecord { return snapshotRecord{SubnetLease: r.(*structs.SubnetLease)} }},
		{tableConfig, func(r any) snapshotRecord { return snapshotRecord{Config: r.(*ConfigEntry)} }},
		{tableNodePools, func(r any) snapshotRecord { return snapshotRecord{NodePool: r.(*api.NodePool)} }},
		{tableScalingEvents, func(r any) snapshotRecord { return snapshotRecord{Scaling: r.(*ScalingEvents)} }},
		{tableHostVolumes, func(r any) snapshotRecord { return snapshotRecord{HostVolume: r.(*api.HostVolume)} }},
		{tableACLOneTimeTokens, func(r any) snapshotRecord { return snapshotRecord{OneTimeToken: r.(*api.OneTimeToken)} }},
		{tableACLAuthMethods, func(r any) snapshotRecord { return snapshotRecord{AuthMethod: r.(*api.ACLAuthMethod)} }},
		{tableACLBindingRules, func(r any) snapshotRecord { return snapshotRecord{BindingRule: r.(*api.ACLBindingRule)} }},
	}
	for _, st := range steps {
		if err := emit(st.table, st.fill); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// recordDecoder reads the records of a snapshot stream.
type recordDecoder interface{ Decode(v any) error }

// newRecordDecoder reads a stream written by Persist: msgpack after
// codec.Format, or the JSON stream earlier versions wrote.
func newRecordDecoder(r io.Reader) (recordDecoder, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	first, err := br.Peek(1)
	switch {
	case err == io.EOF:
		return json.NewDecoder(br), nil
	case err != nil:
		return nil, fmt.Errorf("read snapshot: %w", err)
	case first[0] == codec.Format:
		_, _ = br.Discard(1)
		return codec.NewDecoder(br), nil
	}
	return json.NewDecoder(br), nil
}

// refAllocJob replaces the job of rec's allocation by a reference,
// writing the job first if it is the first allocation of it.
func refAllocJob(enc *codec.Encoder, refs map[*api.Job]int, rec snapshotRecord) (snapshotRecord, error) {
	job := rec.Alloc.Job
	ref, ok := refs[job]
	if !ok {
		ref = len(refs) + 1
		refs[job] = ref
		if err := enc.Encode(&snapshotRecord{Table: allocJobsTable, Job: job, JobRef: ref}); err != nil {
			return rec, err
		}
	}
	slim := *rec.Alloc
	slim.Job = nil
	rec.Alloc, rec.JobRef = &slim, ref
	return rec, nil
}

// Restore builds a new store from a stream written by Persist.
func Restore(r io.Reader) (*Store, error) {
	s, err := New()
	if err != nil {
		return nil, err
	}
	dec, err := newRecordDecoder(r)
	if err != nil {
		return nil, err
	}
	tx := s.db.Txn(true)
	defer tx.Abort()
	allocJobs := map[int]*api.Job{}
	var allocs compactor
	groups := groupsBuilder{}
	usage := map[string]*structs.NodeUsage{}
	for {
		var rec snapshotRecord
		if err := dec.Decode(&rec); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("read snapshot: %w", err)
		}
		if rec.Table == allocJobsTable {
			if rec.Job == nil {
				return nil, fmt.Errorf("read snapshot: job record %d without a job", rec.JobRef)
			}
			allocJobs[rec.JobRef] = sharedJob(tx, rec.Job)
			continue
		}
		if rec.Alloc != nil && rec.JobRef != 0 {
			job, ok := allocJobs[rec.JobRef]
			if !ok {
				return nil, fmt.Errorf("read snapshot: allocation %s refers to job record %d, not written before it", rec.Alloc.ID, rec.JobRef)
			}
			rec.Alloc.Job = job
		}
		var obj any
		switch {
		case rec.Index != nil:
			obj = rec.Index
		case rec.Job != nil:
			row := newJobRow(rec.Job)
			row.Submission = rec.Submission
			obj = row
		case rec.Summary != nil:
			obj = &summaryRow{Namespace: rec.Summary.Namespace, JobID: rec.Summary.JobID, Summary: rec.Summary}
		case rec.Eval != nil:
			obj = rec.Eval
		case rec.Alloc != nil:
			allocs.compact(rec.Alloc, nil)
			row, err := newAllocRow(rec.Alloc, nil)
			if err != nil {
				return nil, fmt.Errorf("restore %s: %w", rec.Table, err)
			}
			groups.add(row)
			obj = row
			if countsForUsage(rec.Alloc) {
				if usage[rec.Alloc.NodeID] == nil {
					usage[rec.Alloc.NodeID] = &structs.NodeUsage{}
				}
				usage[rec.Alloc.NodeID].Add(rec.Alloc, 1)
			}
		case rec.Node != nil:
			obj = rec.Node
		case rec.Service != nil:
			obj = rec.Service
		case rec.Var != nil:
			obj = rec.Var
		case rec.Deployment != nil:
			obj = rec.Deployment
		case rec.RootKey != nil:
			obj = rec.RootKey
		case rec.Namespace != nil:
			obj = rec.Namespace
		case rec.ACLPolicy != nil:
			obj = rec.ACLPolicy
		case rec.ACLToken != nil:
			obj = rec.ACLToken
		case rec.ACLRole != nil:
			obj = rec.ACLRole
		case rec.SubnetLease != nil:
			obj = rec.SubnetLease
		case rec.Config != nil:
			obj = rec.Config
		case rec.NodePool != nil:
			obj = rec.NodePool
		case rec.Scaling != nil:
			obj = rec.Scaling
		case rec.HostVolume != nil:
			obj = rec.HostVolume
		case rec.OneTimeToken != nil:
			obj = rec.OneTimeToken
		case rec.AuthMethod != nil:
			obj = rec.AuthMethod
		case rec.BindingRule != nil:
			obj = rec.BindingRule
		default:
			return nil, fmt.Errorf("read snapshot: empty record for table %q", rec.Table)
		}
		if err := tx.Insert(rec.Table, obj); err != nil {
			return nil, fmt.Errorf("restore %s: %w", rec.Table, err)
		}
	}
	if err := groups.store(tx); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if err := storeUsages(tx, usage); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	tx.Commit()
	return s, nil
}

// sharedJob is the stored job when job is the version stored (the common
// case: allocations run the current version), so that both share it.
func sharedJob(tx *memdb.Txn, job *api.Job) *api.Job {
	// A multiregion job's allocations carry the job as it runs in their
	// region (structs.Regionalize), which differs from the stored one.
	if job.Namespace == nil || job.ID == nil || structs.IsMultiregion(job) {
		return job
	}
	raw, err := tx.First(tableJobs, "id", *job.Namespace, *job.ID)
	if err != nil || raw == nil {
		return job
	}
	if stored := raw.(*jobRow).Job; sameJobVersion(stored, job) {
		return stored
	}
	return job
}

// sameJobVersion reports whether a and b are the same version of the same
// registration of a job.
func sameJobVersion(a, b *api.Job) bool {
	eq := func(x, y *uint64) bool { return x != nil && y != nil && *x == *y }
	return eq(a.Version, b.Version) && eq(a.JobModifyIndex, b.JobModifyIndex) && eq(a.CreateIndex, b.CreateIndex)
}

// CountRecords reads a stream written by Persist and counts its objects by
// table, for `operator snapshot inspect`.
func CountRecords(r io.Reader) (map[string]int, error) {
	counts := map[string]int{}
	dec, err := newRecordDecoder(r)
	if err != nil {
		return nil, err
	}
	for {
		var rec snapshotRecord
		if err := dec.Decode(&rec); err == io.EOF {
			return counts, nil
		} else if err != nil {
			return nil, fmt.Errorf("read snapshot: %w", err)
		}
		if rec.Table != allocJobsTable {
			counts[rec.Table]++
		}
	}
}
