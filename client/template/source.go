package template

import (
	"context"

	"github.com/roam-project/roam/structs"
)

// Source answers the blocking reads of templates' lookups: the servers, in
// process or over RPC. Each read carries the task's ACL token and blocks
// until the data's index passes the one given.
type Source interface {
	ReadVar(ctx context.Context, args *structs.VarReadArgs) (*structs.VarReadReply, error)
	ListVars(ctx context.Context, args *structs.VarListArgs) (*structs.VarListReply, error)
	ListServiceRegistrations(ctx context.Context, args *structs.ServiceListArgs) (*structs.ServiceListReply, error)
}
