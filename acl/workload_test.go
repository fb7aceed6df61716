package acl

import "testing"

func TestWorkloadGrant(t *testing.T) {
	attached, err := Parse(`namespace "default" {
  variables {
    path "shared/*" { capabilities = ["read"] }
  }
}`)
	if err != nil {
		t.Fatal(err)
	}
	bare := DenyAll.WithWorkload("default", WorkloadPaths("web", "frontend", "server"))
	withPolicy := Compile([]*Policy{attached}).WithWorkload("default", WorkloadPaths("web", "frontend", "server"))
	cases := []struct {
		name     string
		acl      *ACL
		ns, path string
		op       string
		want     bool
	}{
		{"own job", bare, "default", "nomad/jobs/web", VariablesCapabilityRead, true},
		{"own group", bare, "default", "nomad/jobs/web/frontend", VariablesCapabilityRead, true},
		{"own task", bare, "default", "nomad/jobs/web/frontend/server", VariablesCapabilityList, true},
		{"nomad/jobs itself", bare, "default", "nomad/jobs", VariablesCapabilityList, true},
		{"any namespace search", bare, "*", "nomad/jobs/web", VariablesCapabilityRead, true},
		{"another job", bare, "default", "nomad/jobs/db", VariablesCapabilityRead, false},
		{"another group of the job", bare, "default", "nomad/jobs/web/backend", VariablesCapabilityRead, false},
		{"below its task", bare, "default", "nomad/jobs/web/frontend/server/x", VariablesCapabilityRead, false},
		{"no writes", bare, "default", "nomad/jobs/web", VariablesCapabilityWrite, false},
		{"no destroys", bare, "default", "nomad/jobs/web", VariablesCapabilityDestroy, false},
		{"another namespace", bare, "prod", "nomad/jobs/web", VariablesCapabilityRead, false},
		{"attached policy adds", withPolicy, "default", "shared/db", VariablesCapabilityRead, true},
		{"attached policy adds no more", withPolicy, "default", "other/db", VariablesCapabilityRead, false},
		{"nor without the grant", Compile([]*Policy{attached}), "default", "nomad/jobs/web", VariablesCapabilityRead, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.acl.AllowVariableOperation(tc.ns, tc.path, tc.op); got != tc.want {
				t.Errorf("AllowVariableOperation(%s, %s, %s) = %v, want %v", tc.ns, tc.path, tc.op, got, tc.want)
			}
		})
	}
	if !bare.AllowNamespace("default") || bare.AllowNamespace("prod") {
		t.Error("a workload sees its own namespace only")
	}
	if !bare.AllowServiceRead("default") || bare.AllowServiceRead("prod") || DenyAll.AllowServiceRead("default") {
		t.Error("a workload reads its own namespace's services only")
	}
	if bare.AllowNamespaceOperation("default", NamespaceCapabilitySubmitJob) || bare.AllowNamespaceOperation("default", NamespaceCapabilityReadJob) {
		t.Error("the implicit policy grants no job capability")
	}
}
