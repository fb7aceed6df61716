package server

import (
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/roam-project/roam/internal/codec/codectest"
	"github.com/roam-project/roam/structs"
)

// raftRequests are the requests Raft log entries carry, by the name of
// their message type.
var raftRequests = map[string]any{
	"JobRegisterRequestType":               &structs.JobRegisterRequest{},
	"JobDeregisterRequestType":             &structs.JobDeregisterRequest{},
	"EvalUpdateRequestType":                &structs.EvalUpdateRequest{},
	"ApplyPlanResultsRequestType":          &structs.ApplyPlanResultsRequest{},
	"AllocClientUpdateRequestType":         &structs.AllocClientUpdateRequest{},
	"AllocDesiredTransitionRequestType":    &structs.AllocDesiredTransitionRequest{},
	"NodeRegisterRequestType":              &structs.NodeRegisterRequest{},
	"NodeStatusUpdateRequestType":          &structs.NodeStatusUpdateRequest{},
	"NodeEligibilityRequestType":           &structs.NodeEligibilityRequest{},
	"NodeDrainRequestType":                 &structs.NodeDrainRequest{},
	"VarApplyRequestType":                  &structs.VarApplyRequest{},
	"GCRequestType":                        &structs.GCRequest{},
	"ServiceRegistrationUpsertRequestType": &structs.ServiceRegistrationUpsertRequest{},
	"ServiceRegistrationDeleteRequestType": &structs.ServiceRegistrationDeleteRequest{},
	"HostVolumeUpsertRequestType":          &structs.HostVolumeUpsertRequest{},
	"HostVolumeDeleteRequestType":          &structs.HostVolumeDeleteRequest{},
	"DeploymentUpsertRequestType":          &structs.DeploymentUpsertRequest{},
	"RootKeyUpsertRequestType":             &structs.RootKeyUpsertRequest{},
	"RootKeyDeleteRequestType":             &structs.RootKeyDeleteRequest{},
	"NamespaceUpsertRequestType":           &structs.NamespaceUpsertRequest{},
	"NamespaceDeleteRequestType":           &structs.NamespaceDeleteRequest{},
	"ACLPolicyUpsertRequestType":           &structs.ACLPolicyUpsertRequest{},
	"ACLPolicyDeleteRequestType":           &structs.ACLPolicyDeleteRequest{},
	"ACLTokenUpsertRequestType":            &structs.ACLTokenUpsertRequest{},
	"ACLTokenDeleteRequestType":            &structs.ACLTokenDeleteRequest{},
	"ACLTokenBootstrapRequestType":         &structs.ACLTokenBootstrapRequest{},
	"ACLRoleUpsertRequestType":             &structs.ACLRoleUpsertRequest{},
	"ACLRoleDeleteRequestType":             &structs.ACLRoleDeleteRequest{},
	"SchedulerConfigRequestType":           &structs.SchedulerConfigRequest{},
	"AutopilotConfigRequestType":           &structs.AutopilotConfigRequest{},
	"NodePoolUpsertRequestType":            &structs.NodePoolUpsertRequest{},
	"NodePoolDeleteRequestType":            &structs.NodePoolDeleteRequest{},
	"SubnetLeaseRequestType":               &structs.SubnetLeaseRequest{},
	"ScalingEventRequestType":              &structs.ScalingEventRequest{},
	"ApplyPlanResultsBatchRequestType":     &structs.ApplyPlanResultsBatchRequest{},
	"OneTimeTokenUpsertRequestType":        &structs.OneTimeTokenUpsertRequest{},
	"OneTimeTokenExchangeRequestType":      &structs.OneTimeTokenExchangeRequest{},
	"OneTimeTokenExpireRequestType":        &structs.OneTimeTokenExpireRequest{},
	"ACLAuthMethodUpsertRequestType":       &structs.ACLAuthMethodUpsertRequest{},
	"ACLAuthMethodDeleteRequestType":       &structs.ACLAuthMethodDeleteRequest{},
	"ACLBindingRuleUpsertRequestType":      &structs.ACLBindingRuleUpsertRequest{},
	"ACLBindingRuleDeleteRequestType":      &structs.ACLBindingRuleDeleteRequest{},
}

// TestRaftRequestsListed checks that raftRequests names every message type
// the FSM applies, so that TestMessagesRoundTrip covers them all.
func TestRaftRequestsListed(t *testing.T) {
	file, err := parser.ParseFile(token.NewFileSet(), "fsm.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var applied []string
	ast.Inspect(file, func(n ast.Node) bool {
		if fn, ok := n.(*ast.FuncDecl); ok && fn.Name.Name == "Apply" {
			ast.Inspect(fn, func(n ast.Node) bool {
				if c, ok := n.(*ast.CaseClause); ok {
					for _, e := range c.List {
						if sel, ok := e.(*ast.SelectorExpr); ok {
							applied = append(applied, sel.Sel.Name)
						}
					}
				}
				return true
			})
			return false
		}
		return true
	})
	if len(applied) == 0 {
		t.Fatal("found no message types in fsm.Apply")
	}
	for _, name := range applied {
		if raftRequests[name] == nil {
			t.Errorf("message type %s is applied by the FSM but missing from raftRequests", name)
		}
	}
	if len(applied) != len(raftRequests) {
		t.Errorf("fsm.Apply handles %d message types, raftRequests lists %d", len(applied), len(raftRequests))
	}
}

// TestMessagesRoundTrip sends every RPC argument and reply type and every
// Raft log request, filled in two ways (every field set; every collection
// empty), through the msgpack codec and through JSON: the msgpack copy
// must equal what was sent, and show through the HTTP API as the JSON
// copy does.
func TestMessagesRoundTrip(t *testing.T) {
	types := map[string]reflect.Type{}
	for name, rcvr := range (&Server{}).endpoints() {
		rt := reflect.TypeOf(rcvr)
		for i := 0; i < rt.NumMethod(); i++ {
			m := rt.Method(i)
			// net/rpc serves methods of the shape (args, *reply) error.
			if m.Type.NumIn() != 3 || m.Type.NumOut() != 1 || m.Type.In(2).Kind() != reflect.Pointer {
				continue
			}
			types[name+"."+m.Name+" args"] = m.Type.In(1)
			types[name+"."+m.Name+" reply"] = m.Type.In(2)
		}
	}
	if len(types) < 50 {
		t.Fatalf("found only %d RPC message types", len(types))
	}
	for name, req := range raftRequests {
		types["raft "+name] = reflect.TypeOf(req)
	}
	names := make([]string, 0, len(types))
	for name := range types {
		names = append(names, name)
	}
	sort.Strings(names)
	modes := []struct {
		name string
		mode codectest.Mode
	}{{"full", codectest.Full}, {"empty", codectest.Empty}}
	for _, name := range names {
		typ := types[name]
		if typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		for _, m := range modes {
			t.Run(strings.ReplaceAll(name, " ", "_")+"/"+m.name, func(t *testing.T) {
				v := reflect.New(typ).Interface()
				codectest.Fill(v, m.mode)
				codectest.RoundTrip(t, v)
			})
		}
	}
}
