package state

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/hashicorp/nomad/api"

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
}

// Persist writes every object of the snapshot to w as a JSON stream.
func (s *Snapshot) Persist(w io.Writer) error {
	enc := json.NewEncoder(w)
	emit := func(table string, fill func(raw any) snapshotRecord) error {
		it, err := s.txn.Get(table, "id")
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", table, err)
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			rec := fill(raw)
			rec.Table = table
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
		{tableAllocs, func(r any) snapshotRecord { return snapshotRecord{Alloc: r.(*api.Allocation)} }},
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
	}
	for _, st := range steps {
		if err := emit(st.table, st.fill); err != nil {
			return err
		}
	}
	return nil
}

// Restore builds a new store from a stream written by Persist.
func Restore(r io.Reader) (*Store, error) {
	s, err := New()
	if err != nil {
		return nil, err
	}
	tx := s.db.Txn(true)
	defer tx.Abort()
	dec := json.NewDecoder(r)
	for {
		var rec snapshotRecord
		if err := dec.Decode(&rec); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("read snapshot: %w", err)
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
			obj = rec.Alloc
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
		default:
			return nil, fmt.Errorf("read snapshot: empty record for table %q", rec.Table)
		}
		if err := tx.Insert(rec.Table, obj); err != nil {
			return nil, fmt.Errorf("restore %s: %w", rec.Table, err)
		}
	}
	tx.Commit()
	return s, nil
}

// CountRecords reads a stream written by Persist and counts its objects by
// table, for `operator snapshot inspect`.
func CountRecords(r io.Reader) (map[string]int, error) {
	counts := map[string]int{}
	dec := json.NewDecoder(r)
	for {
		var rec snapshotRecord
		if err := dec.Decode(&rec); err == io.EOF {
			return counts, nil
		} else if err != nil {
			return nil, fmt.Errorf("read snapshot: %w", err)
		}
		counts[rec.Table]++
	}
}
