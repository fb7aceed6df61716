package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"
)

// Table names.
const (
	tableIndex       = "index"
	tableJobs        = "jobs"
	tableJobVersions = "job_versions"
	tableJobSummary  = "job_summary"
	tableEvals       = "evals"
	tableAllocs      = "allocs"
	tableNodes       = "nodes"
)

// indexEntry records the Raft index at which a table last changed.
type indexEntry struct {
	Key   string
	Value uint64
}

func schema() *memdb.DBSchema {
	nsJob := &memdb.CompoundIndex{Indexes: []memdb.Indexer{
		&memdb.StringFieldIndex{Field: "Namespace"},
		&memdb.StringFieldIndex{Field: "JobID"},
	}}
	db := &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		tableIndex: {Name: tableIndex, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Key"}},
		}},
		tableJobs: {Name: tableJobs, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &jobIndexer{}},
		}},
		tableJobVersions: {Name: tableJobVersions, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &jobVersionIndexer{}},
		}},
		tableJobSummary: {Name: tableJobSummary, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: nsJob},
		}},
		tableEvals: {Name: tableEvals, Indexes: map[string]*memdb.IndexSchema{
			"id":  {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
			"job": {Name: "job", Indexer: nsJob},
		}},
		tableAllocs:     groupTableSchema(tableAllocs),
		tableNodeAllocs: groupTableSchema(tableNodeAllocs),
		tableJobAllocs:  groupTableSchema(tableJobAllocs),
		tableNodes: {Name: tableNodes, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
		}},
		tableServices:         servicesTableSchema(),
		tableVars:             varsTableSchema(),
		tableDeployments:      deploymentsTableSchema(),
		tableRootKeys:         rootKeysTableSchema(),
		tableNamespaces:       namespacesTableSchema(),
		tableConfig:           configTableSchema(),
		tableNodePools:        nodePoolsTableSchema(),
		tableSubnetLeases:     subnetLeasesTableSchema(),
		tableHostVolumes:      hostVolumesTableSchema(),
		tableScalingEvents:    scalingEventsTableSchema(),
		tableACLOneTimeTokens: oneTimeTokensTableSchema(),
		tableNodeUsage:        nodeUsageTableSchema(),
	}}
	for _, t := range append(aclTableSchemas(), aclSSOTableSchemas()...) {
		db.Tables[t.Name] = t
	}
	return db
}

// jobIndexer indexes *api.Job by namespace and ID; the api type keeps both
// behind pointers, which memdb's field indexers cannot follow.
type jobIndexer struct{}

func (jobIndexer) FromObject(obj any) (bool, []byte, error) {
	j, ok := obj.(*jobRow)
	if !ok {
		return false, nil, fmt.Errorf("job index: unexpected %T", obj)
	}
	return true, []byte(j.Namespace + "\x00" + j.ID + "\x00"), nil
}

func (jobIndexer) FromArgs(args ...any) ([]byte, error) {
	return stringArgs(args, true)
}

func (jobIndexer) PrefixFromArgs(args ...any) ([]byte, error) {
	return stringArgs(args, false)
}

// jobVersionIndexer indexes stored job versions by namespace, ID, version.
type jobVersionIndexer struct{}

func (jobVersionIndexer) FromObject(obj any) (bool, []byte, error) {
	j, ok := obj.(*jobRow)
	if !ok {
		return false, nil, fmt.Errorf("job version index: unexpected %T", obj)
	}
	return true, []byte(fmt.Sprintf("%s\x00%s\x00%020d\x00", j.Namespace, j.ID, j.Version)), nil
}

func (jobVersionIndexer) FromArgs(args ...any) ([]byte, error) {
	if len(args) == 3 {
		return []byte(fmt.Sprintf("%s\x00%s\x00%020d\x00", args[0], args[1], args[2])), nil
	}
	return stringArgs(args, true)
}

func (jobVersionIndexer) PrefixFromArgs(args ...any) ([]byte, error) {
	return stringArgs(args, false)
}

// stringArgs joins string arguments NUL-terminated; a prefix query leaves
// the last one open.
func stringArgs(args []any, exact bool) ([]byte, error) {
	var out []byte
	for i, a := range args {
		s, ok := a.(string)
		if !ok {
			return nil, fmt.Errorf("index argument %d: want string, got %T", i, a)
		}
		out = append(out, s...)
		if exact || i < len(args)-1 {
			out = append(out, 0)
		}
	}
	return out, nil
}
