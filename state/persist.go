package state

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"

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
	JobRef int `json:",omitempty"`
	// Metric is an allocation's placement metric in the store's own
	// encoding (encodeMetric), which Alloc then leaves out: restoring
	// it decodes and encodes nothing. A change to that encoding must
	// rename the field.
	Metric       []byte              `json:",omitempty"`
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
	write := func(table string, rec snapshotRecord) error {
		rec.Table = table
		var err error
		if rec.Alloc != nil && rec.Alloc.Job != nil {
			if rec, err = refAllocJob(enc, jobRefs, rec); err != nil {
				return fmt.Errorf("snapshot %s: %w", table, err)
			}
		}
		if err := enc.Encode(&rec); err != nil {
			return fmt.Errorf("snapshot %s: %w", table, err)
		}
		return nil
	}
	emit := func(table string, fill func(raw any) snapshotRecord) error {
		it, err := s.txn.Get(table, "id")
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", table, err)
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			if table == tableAllocs {
				// A bucket of allocations, a record each.
				// Each with its tasks' events, decoded: their encoding
				// is the process's own (see splitTaskEvents).
				for _, row := range raw.(*allocGroup).Allocs {
					a, err := row.withTaskEvents()
					if err != nil {
						return fmt.Errorf("snapshot %s: %w", table, err)
					}
					if err := write(table, snapshotRecord{Alloc: a, Metric: row.metric}); err != nil {
						return err
					}
				}
				continue
			}
			if err := write(table, fill(raw)); err != nil {
				return err
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
		{tableAllocs, nil},
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

// openSnapshotStream reads the byte a stream written by Persist opens
// with: codec.Format, or '{' for the JSON stream of earlier versions
// (whose byte it leaves).
func openSnapshotStream(r io.Reader) (*bufio.Reader, byte, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	first, err := br.Peek(1)
	switch {
	case err == io.EOF:
		return br, '{', nil
	case err != nil:
		return nil, 0, fmt.Errorf("read snapshot: %w", err)
	case first[0] == codec.Format:
		_, _ = br.Discard(1)
		return br, codec.Format, nil
	}
	return br, '{', nil
}

// newRecordDecoder reads the records of a stream written by Persist, of
// any version, one after the other.
func newRecordDecoder(r io.Reader) (recordDecoder, error) {
	br, format, err := openSnapshotStream(r)
	if err != nil {
		return nil, err
	}
	if format == codec.Format {
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

// Restore builds a new store from a stream written by Persist. Records
// in msgpack are decoded in parallel, in batches (one goroutine only
// splits the stream into records), and stored in their order in one
// transaction.
func Restore(r io.Reader) (*Store, error) {
	s, err := New()
	if err != nil {
		return nil, err
	}
	br, format, err := openSnapshotStream(r)
	if err != nil {
		return nil, err
	}
	var batches <-chan restoredBatch
	done := make(chan struct{})
	defer close(done)
	if format == codec.Format {
		batches = decodeParallel(br, done, max(1, runtime.GOMAXPROCS(0)))
	} else {
		batches = decodeSequential(json.NewDecoder(br), done)
	}
	tx := s.db.Txn(true)
	defer tx.Abort()
	rs := restorer{tx: tx, allocJobs: map[int]*api.Job{}, groups: groupsBuilder{}, usage: map[string]*structs.NodeUsage{}}
	for batch := range batches {
		if batch.err != nil {
			return nil, fmt.Errorf("read snapshot: %w", batch.err)
		}
		for i := range batch.recs {
			if err := rs.store(&batch.recs[i]); err != nil {
				return nil, err
			}
		}
	}
	if err := rs.groups.store(tx); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if err := storeUsages(tx, rs.usage); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	tx.Commit()
	return s, nil
}

// restoredRecord is a decoded record, with the stored row of its
// allocation when it is one.
type restoredRecord struct {
	snapshotRecord
	row *allocRow
}

// restoredBatch is records decoded in their order, or the error that
// ended the stream.
type restoredBatch struct {
	recs []restoredRecord
	err  error
}

// restoreBatchSize is how many records a batch holds.
const restoreBatchSize = 512

// decodeSequential decodes the records of a JSON stream one after the
// other, in batches, until the stream ends or done closes.
func decodeSequential(dec recordDecoder, done <-chan struct{}) <-chan restoredBatch {
	out := make(chan restoredBatch, 2)
	go func() {
		defer close(out)
		var allocs compactor
		for {
			batch := restoredBatch{recs: make([]restoredRecord, 0, restoreBatchSize)}
			for len(batch.recs) < restoreBatchSize {
				var rec restoredRecord
				if err := dec.Decode(&rec.snapshotRecord); err == io.EOF {
					break
				} else if err != nil {
					batch.err = err
					break
				}
				if batch.err = prepareRecord(&rec, &allocs); batch.err != nil {
					break
				}
				batch.recs = append(batch.recs, rec)
			}
			if len(batch.recs) == 0 && batch.err == nil {
				return
			}
			select {
			case out <- batch:
			case <-done:
				return
			}
			if batch.err != nil || len(batch.recs) < restoreBatchSize {
				return
			}
		}
	}()
	return out
}

// decodeParallel splits a msgpack stream into records, in batches, which
// workers decode; the batches come out in the stream's order.
func decodeParallel(br *bufio.Reader, done <-chan struct{}, workers int) <-chan restoredBatch {
	type job struct {
		raws   [][]byte
		result chan restoredBatch
	}
	jobs := make(chan job, workers)
	pending := make(chan chan restoredBatch, 2*workers)
	go func() {
		defer close(jobs)
		defer close(pending)
		for {
			raws, err := readRaw(br, restoreBatchSize)
			if len(raws) > 0 {
				result := make(chan restoredBatch, 1)
				select {
				case pending <- result:
				case <-done:
					return
				}
				select {
				case jobs <- job{raws: raws, result: result}:
				case <-done:
					return
				}
			}
			if err == io.EOF {
				return
			} else if err != nil {
				// In order: after the records read before it.
				result := make(chan restoredBatch, 1)
				result <- restoredBatch{err: err}
				select {
				case pending <- result:
				case <-done:
				}
				return
			}
		}
	}()
	for range workers {
		go func() {
			for j := range jobs {
				var allocs compactor
				batch := restoredBatch{recs: make([]restoredRecord, len(j.raws))}
				for i, f := range j.raws {
					rec := &batch.recs[i]
					if err := codec.Unmarshal(f, &rec.snapshotRecord); err != nil {
						batch = restoredBatch{err: err}
						break
					}
					if err := prepareRecord(rec, &allocs); err != nil {
						batch = restoredBatch{err: err}
						break
					}
				}
				j.result <- batch
			}
		}()
	}
	out := make(chan restoredBatch)
	go func() {
		defer close(out)
		for result := range pending {
			var batch restoredBatch
			select {
			case batch = <-result:
			case <-done:
				return
			}
			select {
			case out <- batch:
			case <-done:
				return
			}
			if batch.err != nil {
				return
			}
		}
	}()
	return out
}

// readRaw reads up to n records undecoded, most of them into one array.
// Its error is io.EOF when the stream ended after them.
func readRaw(br *bufio.Reader, n int) ([][]byte, error) {
	var raws [][]byte
	slab := make([]byte, 0, 1<<20)
	for len(raws) < n {
		start := len(slab)
		next, err := codec.ReadRaw(br, slab)
		if err != nil {
			return raws, err
		}
		if &next[0] != &slab[:1][0] {
			// The slab was full: the record has an array of its own,
			// and the next ones a new slab.
			raws = append(raws, next[start:])
			slab = make([]byte, 0, 1<<20)
			continue
		}
		slab = next
		raws = append(raws, slab[start:len(slab):len(slab)])
	}
	return raws, nil
}

// prepareRecord builds the stored row of an allocation record, sharing
// what it has in common with the allocations allocs compacted before it.
// Its job, which an earlier record may carry, is linked when it is stored.
func prepareRecord(rec *restoredRecord, allocs *compactor) error {
	a := rec.Alloc
	if a == nil {
		return nil
	}
	allocs.compact(a, nil)
	allocs.compactTaskStates(a.TaskStates)
	row, err := newAllocRow(a, nil)
	if err != nil {
		return fmt.Errorf("restore %s: %w", rec.Table, err)
	}
	if rec.Metric != nil && a.Metrics == nil {
		row.metric = slices.Clone(rec.Metric)
		rec.Metric = nil
	}
	rec.row = row
	return nil
}

// restorer stores restored records in a transaction.
type restorer struct {
	tx *memdb.Txn
	// allocJobs are the jobs of allocJobsTable records, by reference.
	allocJobs map[int]*api.Job
	groups    groupsBuilder
	usage     map[string]*structs.NodeUsage
}

// store stores one record.
func (rs *restorer) store(rec *restoredRecord) error {
	if rec.Table == allocJobsTable {
		if rec.Job == nil {
			return fmt.Errorf("read snapshot: job record %d without a job", rec.JobRef)
		}
		rs.allocJobs[rec.JobRef] = sharedJob(rs.tx, rec.Job)
		return nil
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
		a := rec.row.Allocation
		if rec.JobRef != 0 {
			job, ok := rs.allocJobs[rec.JobRef]
			if !ok {
				return fmt.Errorf("read snapshot: allocation %s refers to job record %d, not written before it", a.ID, rec.JobRef)
			}
			// The row's own copy, not yet stored.
			a.Job = job
		}
		if a.ID == "" {
			return fmt.Errorf("read snapshot: allocation without an ID")
		}
		// Stored in its groups at the end.
		rs.groups.add(rec.row)
		if countsForUsage(a) {
			if rs.usage[a.NodeID] == nil {
				rs.usage[a.NodeID] = &structs.NodeUsage{}
			}
			rs.usage[a.NodeID].Add(a, 1)
		}
		return nil
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
		return fmt.Errorf("read snapshot: empty record for table %q", rec.Table)
	}
	if err := rs.tx.Insert(rec.Table, obj); err != nil {
		return fmt.Errorf("restore %s: %w", rec.Table, err)
	}
	return nil
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
