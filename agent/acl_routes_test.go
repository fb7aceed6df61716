package agent

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/server"
	"github.com/roam-project/roam/structs"
)

// aclCase is one request to one route: a token whose policy grants the
// route's capability must be let through, one whose policy grants
// neighbouring capabilities only must get 403 and change nothing.
type aclCase struct {
	pattern string
	method  string
	path    string
	body    string
	// grant is the policy that allows the request; "management" asks for
	// a management token. lack is a policy that must not allow it; ""
	// sends an unknown token instead.
	grant, lack string
	// public routes need no token: an unknown one is let through too.
	public bool
	// stream routes answer a granted request with a stream that does not
	// end: only its status is read.
	stream bool
}

const (
	listJobs       = `namespace "default" { capabilities = ["list-jobs"] }`
	readJob        = `namespace "default" { capabilities = ["read-job"] }`
	nsRead         = `namespace "default" { policy = "read" }`
	nsWrite        = `namespace "default" { policy = "write" }`
	submitJob      = `namespace "default" { capabilities = ["submit-job"] }`
	nodeReadP      = `node { policy = "read" }`
	nodeWriteP     = `node { policy = "write" }`
	agentReadP     = `agent { policy = "read" }`
	agentWriteP    = `agent { policy = "write" }`
	operatorReadP  = `operator { policy = "read" }`
	operatorWriteP = `operator { policy = "write" }`
	everything     = `namespace "*" { policy = "write" }
node { policy = "write" }
agent { policy = "write" }
operator { policy = "write" }`
	// jobBody never places: no node matches its constraint.
	jobBody = `{"Job": {"ID": "acl-test", "Name": "acl-test", "Type": "batch", "Constraints": [{"LTarget": "${attr.kernel.name}", "RTarget": "none", "Operand": "="}], "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "raw_exec", "Config": {"command": "/bin/true"}}]}]}}`
)

var aclCases = []aclCase{
	{pattern: "/v1/jobs", method: "GET", path: "/v1/jobs", grant: listJobs, lack: readJob},
	{pattern: "/v1/jobs", method: "PUT", path: "/v1/jobs", body: jobBody, grant: submitJob, lack: nsRead},
	{pattern: "/v1/jobs", method: "PUT", path: "/v1/jobs", body: strings.Replace(jobBody, `"ID": "acl-test"`, `"ID": "acl-prod", "Namespace": "prod"`, 1),
		grant: "namespace \"*\" { capabilities = [\"submit-job\"] }", lack: submitJob},
	{pattern: "/v1/jobs/parse", method: "PUT", path: "/v1/jobs/parse", body: `{"JobHCL": "job \"x\" {}"}`, grant: `namespace "default" { capabilities = ["parse-job"] }`, lack: listJobs},
	{pattern: "/v1/job/", method: "GET", path: "/v1/job/acl-test", grant: readJob, lack: listJobs},
	{pattern: "/v1/job/", method: "GET", path: "/v1/job/acl-test/allocations", grant: readJob, lack: listJobs},
	{pattern: "/v1/job/", method: "GET", path: "/v1/job/acl-test/scale", grant: `namespace "default" { capabilities = ["read-job-scaling"] }`, lack: listJobs},
	{pattern: "/v1/job/", method: "PUT", path: "/v1/job/acl-test", body: jobBody, grant: submitJob, lack: nsRead},
	{pattern: "/v1/job/", method: "DELETE", path: "/v1/job/acl-test", grant: submitJob, lack: nsRead},
	{pattern: "/v1/job/", method: "PUT", path: "/v1/job/acl-test/evaluate", grant: submitJob, lack: nsRead},
	{pattern: "/v1/job/", method: "PUT", path: "/v1/job/acl-test/dispatch", body: `{}`, grant: `namespace "default" { capabilities = ["dispatch-job"] }`, lack: submitJob},
	{pattern: "/v1/job/", method: "PUT", path: "/v1/job/acl-test/scale", body: `{"Count": 1, "Target": {"Group": "g"}}`, grant: `namespace "default" { capabilities = ["scale-job"] }`, lack: nsRead},
	{pattern: "/v1/job/", method: "PUT", path: "/v1/job/acl-test/plan", body: jobBody, grant: submitJob, lack: nsRead},
	{pattern: "/v1/validate/job", method: "PUT", path: "/v1/validate/job", body: jobBody, grant: readJob, lack: listJobs},
	{pattern: "/v1/allocations", method: "GET", path: "/v1/allocations", grant: readJob, lack: listJobs},
	{pattern: "/v1/allocation/", method: "GET", path: "/v1/allocation/8d2b5a7e-0000-0000-0000-000000000000", grant: readJob, lack: listJobs},
	{pattern: "/v1/allocation/", method: "GET", path: "/v1/allocation/8d2b5a7e-0000-0000-0000-000000000000/services", grant: readJob, lack: listJobs},
	{pattern: "/v1/allocation/", method: "PUT", path: "/v1/allocation/8d2b5a7e-0000-0000-0000-000000000000/stop", grant: `namespace "default" { capabilities = ["alloc-lifecycle"] }`, lack: nsRead},
	{pattern: "/v1/evaluations", method: "GET", path: "/v1/evaluations", grant: readJob, lack: listJobs},
	{pattern: "/v1/evaluations", method: "DELETE", path: "/v1/evaluations", body: `{"EvalIDs": ["8d2b5a7e-0000-0000-0000-000000000000"]}`, grant: "management", lack: everything},
	{pattern: "/v1/evaluations/count", method: "GET", path: "/v1/evaluations/count", grant: readJob, lack: listJobs},
	{pattern: "/v1/evaluation/", method: "GET", path: "/v1/evaluation/8d2b5a7e-0000-0000-0000-000000000000", grant: readJob, lack: listJobs},
	{pattern: "/v1/deployments", method: "GET", path: "/v1/deployments", grant: readJob, lack: listJobs},
	{pattern: "/v1/deployment/", method: "GET", path: "/v1/deployment/8d2b5a7e-0000-0000-0000-000000000000", grant: readJob, lack: listJobs},
	{pattern: "/v1/deployment/", method: "PUT", path: "/v1/deployment/fail/8d2b5a7e-0000-0000-0000-000000000000", grant: submitJob, lack: nsRead},
	{pattern: "/v1/nodes", method: "GET", path: "/v1/nodes", grant: nodeReadP, lack: agentWriteP},
	{pattern: "/v1/node/", method: "GET", path: "/v1/node/8d2b5a7e-0000-0000-0000-000000000000", grant: nodeReadP, lack: agentWriteP},
	{pattern: "/v1/node/", method: "PUT", path: "/v1/node/8d2b5a7e-0000-0000-0000-000000000000/eligibility", body: `{"Eligibility": "ineligible"}`, grant: nodeWriteP, lack: nodeReadP},
	{pattern: "/v1/node/pools", method: "GET", path: "/v1/node/pools", grant: nodeReadP, lack: ""},
	{pattern: "/v1/node/pools", method: "PUT", path: "/v1/node/pools", body: `{"Name": "acl-pool"}`, grant: `node_pool "acl-pool" { policy = "write" }`, lack: `node_pool "acl-pool" { policy = "read" }`},
	{pattern: "/v1/node/pool/", method: "GET", path: "/v1/node/pool/default", grant: `node_pool "default" { policy = "read" }`, lack: `node_pool "dev" { policy = "write" }`},
	{pattern: "/v1/node/pool/", method: "GET", path: "/v1/node/pool/default/nodes", grant: `node_pool "default" { policy = "read" }` + "\n" + nodeReadP, lack: `node_pool "default" { policy = "read" }`},
	{pattern: "/v1/node/pool/", method: "GET", path: "/v1/node/pool/default/jobs", grant: `node_pool "default" { policy = "read" }`, lack: nodeReadP},
	{pattern: "/v1/node/pool/", method: "DELETE", path: "/v1/node/pool/nope", grant: `node_pool "nope" { capabilities = ["delete"] }`, lack: `node_pool "nope" { capabilities = ["read", "write"] }`},
	{pattern: "/v1/node/", method: "PUT", path: "/v1/node/8d2b5a7e-0000-0000-0000-000000000000/evaluate", grant: nodeWriteP, lack: nodeReadP, stream: true},
	{pattern: "/v1/event/stream", method: "GET", path: "/v1/event/stream?topic=Job", grant: readJob, lack: nodeReadP, stream: true},
	{pattern: "/v1/scaling/policies", method: "GET", path: "/v1/scaling/policies", grant: `namespace "default" { capabilities = ["list-scaling-policies"] }`, lack: listJobs},
	{pattern: "/v1/scaling/policy/", method: "GET", path: "/v1/scaling/policy/8d2b5a7e-0000-0000-0000-000000000000", grant: `namespace "default" { capabilities = ["read-scaling-policy"] }`, lack: listJobs},
	{pattern: "/v1/agent/monitor", method: "GET", path: "/v1/agent/monitor?log_level=debug", grant: agentReadP, lack: nodeReadP, stream: true},
	{pattern: "/v1/agent/pprof/", method: "GET", path: "/v1/agent/pprof/heap", grant: agentWriteP, lack: agentReadP},
	{pattern: "/v1/search", method: "PUT", path: "/v1/search", body: `{"Prefix": "a", "Context": "all"}`, grant: readJob, lack: ""},
	{pattern: "/v1/search/fuzzy", method: "PUT", path: "/v1/search/fuzzy", body: `{"Text": "acl", "Context": "all"}`, grant: readJob, lack: ""},
	{pattern: "/v1/quotas", method: "GET", path: "/v1/quotas", public: true},
	{pattern: "/v1/quota", method: "GET", path: "/v1/quota", public: true},
	{pattern: "/v1/quota/", method: "GET", path: "/v1/quota/x", public: true},
	{pattern: "/v1/quota-usages", method: "GET", path: "/v1/quota-usages", public: true},
	{pattern: "/v1/recommendations", method: "GET", path: "/v1/recommendations", public: true},
	{pattern: "/v1/recommendations/", method: "GET", path: "/v1/recommendations/x", public: true},
	{pattern: "/v1/recommendation", method: "GET", path: "/v1/recommendation", public: true},
	{pattern: "/v1/recommendation/", method: "GET", path: "/v1/recommendation/x", public: true},
	{pattern: "/v1/sentinel/policies", method: "GET", path: "/v1/sentinel/policies", public: true},
	{pattern: "/v1/sentinel/policy/", method: "GET", path: "/v1/sentinel/policy/x", public: true},
	{pattern: "/v1/operator/license", method: "GET", path: "/v1/operator/license", public: true},
	{pattern: "/v1/volumes", method: "GET", path: "/v1/volumes?type=host", grant: `namespace "default" { capabilities = ["host-volume-read"] }`, lack: listJobs},
	{pattern: "/v1/volume/", method: "GET", path: "/v1/volume/host/8d2b5a7e-0000-0000-0000-000000000000", grant: `namespace "default" { capabilities = ["host-volume-read"] }`, lack: readJob},
	{pattern: "/v1/volume/", method: "PUT", path: "/v1/volume/host/create", body: `{"Volume": {"Name": "v", "PluginID": "mkdir"}}`, grant: `namespace "default" { capabilities = ["host-volume-create"] }`, lack: nsWrite},
	{pattern: "/v1/volume/", method: "DELETE", path: "/v1/volume/host/8d2b5a7e-0000-0000-0000-000000000000", grant: `namespace "default" { capabilities = ["host-volume-delete"] }`, lack: nsWrite},
	{pattern: "/v1/services", method: "GET", path: "/v1/services", grant: readJob, lack: listJobs},
	{pattern: "/v1/service/", method: "GET", path: "/v1/service/web", grant: readJob, lack: listJobs},
	{pattern: "/v1/service/", method: "DELETE", path: "/v1/service/web/_nomad-task-x", grant: submitJob, lack: nsRead},
	{pattern: "/v1/vars", method: "GET", path: "/v1/vars", grant: `namespace "default" { capabilities = ["list-jobs"] }`, lack: ""},
	{pattern: "/v1/var/", method: "GET", path: "/v1/var/app/db", grant: `namespace "default" {
	variables {
		path "app/*" { capabilities = ["read"] }
	}
}`, lack: `namespace "default" {
	variables {
		path "app/*" { capabilities = ["list", "write"] }
	}
}`},
	{pattern: "/v1/var/", method: "PUT", path: "/v1/var/app/db", body: `{"Path": "app/db", "Items": {"a": "b"}}`, grant: `namespace "default" {
	variables {
		path "app/*" { capabilities = ["write"] }
	}
}`, lack: `namespace "default" {
	variables {
		path "app/*" { capabilities = ["read", "list", "destroy"] }
	}
}`},
	{pattern: "/v1/var/", method: "PUT", path: "/v1/var/app/db", body: `{"Namespace": "prod", "Items": {"a": "b"}}`,
		grant: "namespace \"*\" {\n\tvariables {\n\t\tpath \"*\" { capabilities = [\"write\"] }\n\t}\n}",
		lack:  "namespace \"default\" {\n\tvariables {\n\t\tpath \"*\" { capabilities = [\"write\"] }\n\t}\n}"},
	{pattern: "/v1/var/", method: "DELETE", path: "/v1/var/app/db", grant: `namespace "default" {
	variables {
		path "app/*" { capabilities = ["destroy"] }
	}
}`, lack: `namespace "default" {
	variables {
		path "app/*" { capabilities = ["read", "write"] }
	}
}`},
	{pattern: "/v1/agent/members", method: "GET", path: "/v1/agent/members", grant: nodeReadP, lack: agentWriteP},
	{pattern: "/.well-known/jwks.json", method: "GET", path: "/.well-known/jwks.json", public: true},
	{pattern: "/.well-known/openid-configuration", method: "GET", path: "/.well-known/openid-configuration", public: true},
	{pattern: "/v1/status/leader", method: "GET", path: "/v1/status/leader", public: true},
	{pattern: "/v1/regions", method: "GET", path: "/v1/regions", public: true},
	{pattern: "/v1/status/peers", method: "GET", path: "/v1/status/peers", public: true},
	{pattern: "/v1/system/gc", method: "PUT", path: "/v1/system/gc", grant: "management", lack: everything},
	{pattern: "/v1/operator/raft/configuration", method: "GET", path: "/v1/operator/raft/configuration", grant: "management", lack: everything},
	{pattern: "/v1/operator/raft/peer", method: "DELETE", path: "/v1/operator/raft/peer?id=nobody", grant: "management", lack: everything},
	{pattern: "/v1/operator/snapshot", method: "GET", path: "/v1/operator/snapshot", grant: "management", lack: everything},
	{pattern: "/v1/operator/keyring/", method: "GET", path: "/v1/operator/keyring/keys", grant: "management", lack: everything},
	{pattern: "/v1/operator/keyring/", method: "PUT", path: "/v1/operator/keyring/rotate", grant: "management", lack: everything},
	{pattern: "/v1/operator/keyring/", method: "DELETE", path: "/v1/operator/keyring/key/8d2b5a7e-0000-0000-0000-000000000000", grant: "management", lack: everything},
	{pattern: "/v1/operator/scheduler/configuration", method: "GET", path: "/v1/operator/scheduler/configuration", grant: operatorReadP, lack: agentWriteP},
	{pattern: "/v1/operator/scheduler/configuration", method: "PUT", path: "/v1/operator/scheduler/configuration", body: `{"SchedulerAlgorithm": "binpack"}`, grant: operatorWriteP, lack: operatorReadP},
	{pattern: "/v1/operator/autopilot/configuration", method: "GET", path: "/v1/operator/autopilot/configuration", grant: operatorReadP, lack: agentWriteP},
	{pattern: "/v1/operator/autopilot/configuration", method: "PUT", path: "/v1/operator/autopilot/configuration", body: `{"CleanupDeadServers": true}`, grant: operatorWriteP, lack: operatorReadP},
	{pattern: "/v1/operator/autopilot/health", method: "GET", path: "/v1/operator/autopilot/health", grant: operatorReadP, lack: agentWriteP},
	{pattern: "/v1/agent/join", method: "PUT", path: "/v1/agent/join?address=127.0.0.1:1", grant: agentWriteP, lack: agentReadP},
	{pattern: "/v1/agent/force-leave", method: "PUT", path: "/v1/agent/force-leave?node=nobody", grant: agentWriteP, lack: agentReadP},
	{pattern: "/v1/agent/keyring/", method: "GET", path: "/v1/agent/keyring/list", grant: agentReadP, lack: nodeWriteP},
	{pattern: "/v1/agent/keyring/", method: "PUT", path: "/v1/agent/keyring/use", body: `{"Key": "8YZ2L6sh+9Q3pkfJvJAexA=="}`, grant: agentWriteP, lack: agentReadP},
	{pattern: "/v1/namespaces", method: "GET", path: "/v1/namespaces", grant: listJobs, lack: ""},
	{pattern: "/v1/namespace", method: "PUT", path: "/v1/namespace", body: `{"Name": "acl-ns"}`, grant: "management", lack: everything},
	{pattern: "/v1/namespace/", method: "GET", path: "/v1/namespace/default", grant: listJobs, lack: `namespace "other" { policy = "write" }`},
	{pattern: "/v1/namespace/", method: "DELETE", path: "/v1/namespace/prod", grant: "management", lack: everything},
	{pattern: "/v1/acl/bootstrap", method: "PUT", path: "/v1/acl/bootstrap", public: true},
	{pattern: "/v1/acl/policies", method: "GET", path: "/v1/acl/policies", grant: listJobs, lack: ""},
	{pattern: "/v1/acl/policy/", method: "GET", path: "/v1/acl/policy/held", grant: "held", lack: nsWrite},
	{pattern: "/v1/acl/policy/", method: "GET", path: "/v1/acl/policy/self", grant: listJobs, lack: ""},
	{pattern: "/v1/acl/policy/", method: "PUT", path: "/v1/acl/policy/new-policy", body: `{"Name": "new-policy", "Rules": "node { policy = \"read\" }"}`, grant: "management", lack: everything},
	{pattern: "/v1/acl/policy/", method: "DELETE", path: "/v1/acl/policy/held", grant: "management", lack: everything},
	{pattern: "/v1/acl/tokens", method: "GET", path: "/v1/acl/tokens", grant: "management", lack: everything},
	{pattern: "/v1/acl/token", method: "PUT", path: "/v1/acl/token", body: `{"Type": "management"}`, grant: "management", lack: everything},
	{pattern: "/v1/acl/token/", method: "GET", path: "/v1/acl/token/self", grant: listJobs, lack: ""},
	{pattern: "/v1/acl/token/", method: "GET", path: "/v1/acl/token/8d2b5a7e-0000-0000-0000-000000000000", grant: "management", lack: everything},
	{pattern: "/v1/acl/token/", method: "DELETE", path: "/v1/acl/token/8d2b5a7e-0000-0000-0000-000000000000", grant: "management", lack: everything},
	{pattern: "/v1/acl/token/onetime", method: "PUT", path: "/v1/acl/token/onetime", grant: listJobs, lack: ""},
	{pattern: "/v1/acl/token/onetime/exchange", method: "PUT", path: "/v1/acl/token/onetime/exchange", body: `{}`, public: true},
	{pattern: "/v1/acl/identity/client-introduction-token", method: "PUT", path: "/v1/acl/identity/client-introduction-token", body: `{}`, grant: nodeWriteP, lack: nodeReadP},
	{pattern: "/v1/acl/auth-methods", method: "GET", path: "/v1/acl/auth-methods", public: true},
	{pattern: "/v1/acl/auth-method", method: "PUT", path: "/v1/acl/auth-method", body: `{"Name": "acl-am", "Type": "OIDC", "TokenLocality": "local", "MaxTokenTTL": "1h", "Config": {"OIDCDiscoveryURL": "https://example.com", "OIDCClientID": "c"}}`, grant: "management", lack: everything},
	{pattern: "/v1/acl/auth-method/", method: "GET", path: "/v1/acl/auth-method/acl-am", grant: "management", lack: everything},
	{pattern: "/v1/acl/auth-method/", method: "DELETE", path: "/v1/acl/auth-method/acl-am", grant: "management", lack: everything},
	{pattern: "/v1/acl/binding-rules", method: "GET", path: "/v1/acl/binding-rules", grant: "management", lack: everything},
	{pattern: "/v1/acl/binding-rule", method: "PUT", path: "/v1/acl/binding-rule", body: `{"AuthMethod": "none", "BindType": "management"}`, grant: "management", lack: everything},
	{pattern: "/v1/acl/binding-rule/", method: "GET", path: "/v1/acl/binding-rule/8d2b5a7e-0000-0000-0000-000000000000", grant: "management", lack: everything},
	{pattern: "/v1/acl/binding-rule/", method: "DELETE", path: "/v1/acl/binding-rule/8d2b5a7e-0000-0000-0000-000000000000", grant: "management", lack: everything},
	{pattern: "/v1/acl/login", method: "POST", path: "/v1/acl/login", body: `{}`, public: true},
	{pattern: "/v1/acl/oidc/auth-url", method: "POST", path: "/v1/acl/oidc/auth-url", body: `{}`, public: true},
	{pattern: "/v1/acl/oidc/complete-auth", method: "POST", path: "/v1/acl/oidc/complete-auth", body: `{}`, public: true},
	{pattern: "/v1/acl/roles", method: "GET", path: "/v1/acl/roles", grant: listJobs, lack: ""},
	{pattern: "/v1/acl/role", method: "PUT", path: "/v1/acl/role", body: `{"Name": "r", "Policies": [{"Name": "held"}]}`, grant: "management", lack: everything},
	{pattern: "/v1/acl/role/", method: "GET", path: "/v1/acl/role/name/none", grant: "management", lack: everything},
	{pattern: "/v1/acl/role/", method: "DELETE", path: "/v1/acl/role/8d2b5a7e-0000-0000-0000-000000000000", grant: "management", lack: everything},
	{pattern: "/v1/agent/self", method: "GET", path: "/v1/agent/self", grant: agentReadP, lack: nodeWriteP},
	{pattern: "/v1/agent/servers", method: "GET", path: "/v1/agent/servers", grant: agentReadP, lack: nodeWriteP},
	{pattern: "/v1/agent/servers", method: "PUT", path: "/v1/agent/servers?address=127.0.0.1:4647", grant: agentWriteP, lack: agentReadP},
	{pattern: "/v1/agent/health", method: "GET", path: "/v1/agent/health", public: true},
	{pattern: "/v1/ingress/routes", method: "GET", path: "/v1/ingress/routes", grant: agentReadP, lack: nodeWriteP},
	{pattern: "/v1/metrics", method: "GET", path: "/v1/metrics", public: true},
	{pattern: "/v1/agent/schedulers", method: "GET", path: "/v1/agent/schedulers", grant: agentReadP, lack: nodeWriteP},
	{pattern: "/v1/agent/schedulers/config", method: "GET", path: "/v1/agent/schedulers/config", grant: agentReadP, lack: nodeWriteP},
	{pattern: "/v1/agent/schedulers/config", method: "PUT", path: "/v1/agent/schedulers/config", body: `{"num_schedulers": 1, "enabled_schedulers": ["_core", "service", "batch", "system", "sysbatch"]}`, grant: agentWriteP, lack: agentReadP},
	{pattern: "/v1/client/", method: "GET", path: "/v1/client/stats", grant: nodeReadP, lack: agentWriteP},
	{pattern: "/v1/client/", method: "GET", path: "/v1/client/gc", grant: nodeWriteP, lack: nodeReadP},
	{pattern: "/v1/client/", method: "GET", path: "/v1/client/metadata", grant: nodeReadP, lack: agentWriteP},
	{pattern: "/v1/client/", method: "GET", path: "/v1/client/identity", grant: nodeReadP, lack: agentWriteP},
	{pattern: "/v1/client/", method: "POST", path: "/v1/client/identity/renew", body: `{}`, grant: nodeWriteP, lack: nodeReadP},
	{pattern: "/v1/client/", method: "POST", path: "/v1/client/metadata", body: `{"Meta": {"acl-test": "x"}}`, grant: nodeWriteP, lack: nodeReadP},
	{pattern: "/v1/client/", method: "GET", path: "/v1/client/fs/ls/8d2b5a7e-0000-0000-0000-000000000000?path=/", grant: `namespace "default" { capabilities = ["read-fs"] }`, lack: `namespace "default" { capabilities = ["read-job", "read-logs", "alloc-exec"] }`},
	{pattern: "/v1/client/", method: "GET", path: "/v1/client/fs/cat/8d2b5a7e-0000-0000-0000-000000000000?path=/x", grant: `namespace "default" { capabilities = ["read-fs"] }`, lack: `namespace "default" { capabilities = ["read-logs"] }`},
	{pattern: "/v1/client/", method: "GET", path: "/v1/client/fs/logs/8d2b5a7e-0000-0000-0000-000000000000?task=t&type=stdout", grant: `namespace "default" { capabilities = ["read-logs"] }`, lack: `namespace "default" { capabilities = ["read-fs", "read-job"] }`},
	{pattern: "/v1/client/", method: "GET", path: "/v1/client/allocation/8d2b5a7e-0000-0000-0000-000000000000/exec?task=t&command=%5B%22sh%22%5D", grant: `namespace "default" { capabilities = ["alloc-exec"] }`, lack: `namespace "default" { capabilities = ["read-fs", "read-logs", "alloc-lifecycle"] }`},
	{pattern: "/v1/client/", method: "PUT", path: "/v1/client/allocation/8d2b5a7e-0000-0000-0000-000000000000/restart", body: `{}`, grant: `namespace "default" { capabilities = ["alloc-lifecycle"] }`, lack: nsRead},
	{pattern: "/v1/client/", method: "GET", path: "/v1/client/allocation/8d2b5a7e-0000-0000-0000-000000000000/stats", grant: readJob, lack: listJobs},
	{pattern: "/ui/", method: "GET", path: "/ui/", public: true},
	{pattern: "/", method: "GET", path: "/", public: true},
}

// testACLAgent starts an in-process server+client agent with ACLs on, on
// free loopback ports, and bootstraps it.
func testACLAgent(t *testing.T) (*Agent, string) {
	t.Helper()
	cfg := DevConfig()
	cfg.ACL.Enabled = true
	cfg.Ports = Ports{HTTP: freePort(t), RPC: freePort(t), Serf: freePort(t)}
	cfg.Client.StateDir = t.TempDir()
	cfg.Client.AllocDir = t.TempDir()
	if err := cfg.NormalizeAddrs(); err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Shutdown)
	token, err := a.server.BootstrapACL(&structs.ACLBootstrapArgs{})
	if err != nil {
		t.Fatal(err)
	}
	return a, token.SecretID
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// clientToken creates a client token holding one policy with rules.
func clientToken(t *testing.T, srv *server.Server, name, rules string) string {
	t.Helper()
	if _, err := srv.UpsertACLPolicies(&structs.ACLPolicyUpsertArgs{Policies: []*api.ACLPolicy{{Name: name, Rules: rules}}}); err != nil {
		t.Fatalf("policy %s: %v", name, err)
	}
	res, err := srv.UpsertACLToken(&structs.ACLTokenUpsertArgs{Token: &api.ACLToken{Type: "client", Policies: []string{name}}})
	if err != nil {
		t.Fatal(err)
	}
	return res.Token.SecretID
}

// stateIndex is the highest index of every table a request could change.
func stateIndex(srv *server.Server) uint64 {
	snap := srv.State().Snapshot()
	return max(snap.Index("jobs", "job_versions", "job_summary", "evals", "allocs", "nodes",
		"deployments", "variables", "service_registrations", "acl_auth_methods", "acl_binding_rules", "acl_onetime_tokens"), snap.ACLIndex())
}

// quiesce waits until the cluster's own background writes (the scheduler
// handling evaluations an allowed request created, the client updating
// its node) have settled, so that a change seen next is the request's.
func quiesce(t *testing.T, srv *server.Server) uint64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		before := stateIndex(srv)
		time.Sleep(100 * time.Millisecond)
		if after := stateIndex(srv); after == before {
			return after
		}
		if time.Now().After(deadline) {
			t.Fatal("state never settled")
		}
	}
}

// TestRouteACLs sends each route's requests with a token lacking the
// capability Nomad requires (403, nothing changed) and with one holding it
// (let through). Every registered route must have a case.
func TestRouteACLs(t *testing.T) {
	a, mgmt := testACLAgent(t)
	srv := a.server
	base := "http://" + a.HTTPAddr()
	covered := map[string]bool{}
	for _, c := range aclCases {
		covered[c.pattern] = true
	}
	h := &httpAPI{srv: srv, agent: a}
	for _, rt := range a.routeTable(h) {
		if !covered[rt.pattern] {
			t.Errorf("route %s has no case in aclCases: state its ACL requirement and test it", rt.pattern)
		}
	}
	held := clientToken(t, srv, "held", nodeReadP)
	tokens := map[string]string{"management": mgmt, "held": held, "": "00000000-dead-beef-0000-000000000000"}
	token := func(t *testing.T, rules string) string {
		if tok, ok := tokens[rules]; ok {
			return tok
		}
		tok := clientToken(t, srv, "p"+time.Now().Format("150405.000000000")[7:], rules)
		tokens[rules] = tok
		return tok
	}
	send := func(c aclCase, secret string) (int, string) {
		req, err := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		if secret != "" {
			req.Header.Set("X-Nomad-Token", secret)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := http.DefaultClient.Do(req.WithContext(ctx))
		if err != nil {
			t.Fatalf("%s %s: %v", c.method, c.path, err)
		}
		defer resp.Body.Close()
		if c.stream && resp.StatusCode == http.StatusOK {
			return resp.StatusCode, ""
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return resp.StatusCode, string(body)
	}
	for _, c := range aclCases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			if c.public {
				for _, secret := range []string{"", tokens[""]} {
					if code, body := send(c, secret); code == http.StatusForbidden {
						t.Fatalf("public route refused (token %q): %d %s", secret, code, body)
					}
				}
				return
			}
			denied := token(t, c.lack)
			before := quiesce(t, srv)
			code, body := send(c, denied)
			if code != http.StatusForbidden {
				t.Fatalf("without the capability: got %d %q, want 403", code, body)
			}
			if !strings.Contains(body, "Permission denied") && !strings.Contains(body, "ACL token not found") {
				t.Errorf("denial says %q", body)
			}
			if after := stateIndex(srv); after != before {
				t.Errorf("denied request changed state: index %d -> %d", before, after)
			}
			// Routes that only need a valid token admit the anonymous one.
			if code, body := send(c, ""); c.lack != "" && code != http.StatusForbidden {
				t.Errorf("anonymous: got %d %q, want 403", code, body)
			}
			if code, body := send(c, token(t, c.grant)); code == http.StatusForbidden {
				t.Fatalf("with the capability: refused: %s", body)
			}
		})
	}
}
