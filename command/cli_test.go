package command

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// cannedAgent serves fixed Nomad API answers keyed by "METHOD /path", so
// that the commands can be run end to end against real HTTP. Requests it
// does not know get a 404 as Nomad answers them.
type cannedAgent struct {
	t       *testing.T
	answers map[string]any
	// bodies records the JSON bodies of write requests by route.
	bodies map[string]json.RawMessage
}

func (a *cannedAgent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Method + " " + r.URL.Path
	if r.Method == http.MethodPut || r.Method == http.MethodPost {
		var body json.RawMessage
		_ = json.NewDecoder(r.Body).Decode(&body)
		a.bodies[key] = body
	}
	answer, ok := a.answers[key]
	if !ok {
		http.Error(w, "not found: "+key, http.StatusNotFound)
		return
	}
	w.Header().Set("X-Nomad-Index", "42")
	if raw, ok := answer.(string); ok {
		_, _ = w.Write([]byte(raw))
		return
	}
	if err := json.NewEncoder(w).Encode(answer); err != nil {
		a.t.Errorf("encode %s: %v", key, err)
	}
}

// startCannedAgent serves answers and returns the agent's address.
func startCannedAgent(t *testing.T, answers map[string]any) (*cannedAgent, string) {
	agent := &cannedAgent{t: t, answers: answers, bodies: map[string]json.RawMessage{}}
	srv := httptest.NewServer(agent)
	t.Cleanup(srv.Close)
	return agent, srv.URL
}

// fixture objects shared by the command tests.
var (
	submitTime = testNow.Add(-5 * time.Minute).UnixNano()
	jobStub    = &api.JobListStub{ID: "example", Name: "example", Namespace: "default", Type: "service",
		Priority: 50, Status: "running", SubmitTime: submitTime}
	exampleAPIJob = &api.Job{ID: ptr("example"), Name: ptr("example"), Namespace: ptr("default"), Type: ptr("service"),
		Priority: ptr(50), Datacenters: []string{"*"}, NodePool: ptr("default"), Status: ptr("running"),
		Stop: ptr(false), SubmitTime: ptr(submitTime), CreateIndex: ptr(uint64(7)), Version: ptr(uint64(0)),
		TaskGroups: []*api.TaskGroup{{Name: ptr("cache"), Tasks: []*api.Task{{Name: "redis"}}}}}
	allocStub = &api.AllocationListStub{ID: allocUUID, EvalID: evalUUID, NodeID: nodeUUID, NodeName: "node1",
		TaskGroup: "cache", JobID: "example", DesiredStatus: "run", ClientStatus: "running", CreateIndex: 11,
		CreateTime: testNow.Add(-5 * time.Minute).UnixNano(), ModifyTime: testNow.Add(-4*time.Minute - 50*time.Second).UnixNano()}
	fullAlloc = &api.Allocation{ID: allocUUID, EvalID: evalUUID, Name: "example.cache[0]", NodeID: nodeUUID,
		NodeName: "node1", JobID: "example", Job: exampleAPIJob, TaskGroup: "cache", DesiredStatus: "run",
		ClientStatus: "running", ClientDescription: "Tasks are running", CreateIndex: 11,
		CreateTime: allocStub.CreateTime, ModifyTime: allocStub.ModifyTime,
		AllocatedResources: &api.AllocatedResources{
			Tasks: map[string]*api.AllocatedTaskResources{"redis": {
				Cpu: api.AllocatedCpuResources{CpuShares: 500}, Memory: api.AllocatedMemoryResources{MemoryMB: 256}}},
			Shared: api.AllocatedSharedResources{DiskMB: 300},
		},
		TaskStates: map[string]*api.TaskState{"redis": {State: "running", StartedAt: testNow.Add(-4 * time.Minute),
			Events: []*api.TaskEvent{
				{Type: "Received", Time: testNow.Add(-5 * time.Minute).UnixNano(), DisplayMessage: "Task received by client"},
				{Type: "Started", Time: testNow.Add(-4 * time.Minute).UnixNano(), DisplayMessage: "Task started by client"},
			}}},
	}
	exampleDeployment = &api.Deployment{ID: deployUUID, JobID: "example", Status: "successful",
		StatusDescription: "Deployment completed successfully",
		TaskGroups:        map[string]*api.DeploymentState{"cache": {DesiredTotal: 1, PlacedAllocs: 1, HealthyAllocs: 1}}}
	nodeStub = &api.NodeListStub{ID: nodeUUID, Name: "node1", Datacenter: "dc1", NodePool: "default",
		SchedulingEligibility: "eligible", Status: "ready", Address: "127.0.0.1", Version: "0.1.0"}
)

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// exampleAnswers is a cluster with one job, one allocation and one node.
func exampleAnswers() map[string]any {
	return map[string]any{
		"GET /v1/jobs":                              []*api.JobListStub{jobStub},
		"GET /v1/job/example":                       exampleAPIJob,
		"GET /v1/job/example/summary":               &api.JobSummary{JobID: "example", Summary: map[string]api.TaskGroupSummary{"cache": {Running: 1}}},
		"GET /v1/job/example/deployment":            "null",
		"GET /v1/job/example/evaluations":           []*api.Evaluation{},
		"GET /v1/job/example/allocations":           []*api.AllocationListStub{allocStub},
		"GET /v1/allocations":                       []*api.AllocationListStub{allocStub},
		"GET /v1/allocation/" + allocUUID:           fullAlloc,
		"GET /v1/nodes":                             []*api.NodeListStub{nodeStub},
		"GET /v1/node/" + nodeUUID:                  &api.Node{ID: nodeUUID, Name: "node1", Datacenter: "dc1", NodePool: "default", Status: "down", SchedulingEligibility: "eligible"},
		"GET /v1/node/" + nodeUUID + "/allocations": []*api.Allocation{},
		"GET /v1/evaluations": []*api.Evaluation{{ID: evalUUID, Priority: 50, TriggeredBy: "job-register", JobID: "example",
			Namespace: "default", Status: "complete", Type: "service", BlockedEval: blockUUID,
			CreateTime: testNow.Add(-time.Minute).UnixNano(), ModifyTime: testNow.Add(-time.Minute).UnixNano(),
			FailedTGAllocs: map[string]*api.AllocationMetric{"cache": {NodesEvaluated: 1, NodesExhausted: 1,
				DimensionExhausted: map[string]int{"memory": 1}}}}},
		"GET /v1/agent/members": &api.ServerMembers{Members: []*api.AgentMember{{Name: "node1.global", Addr: "127.0.0.1",
			Port: 4648, Status: "alive", Tags: map[string]string{"region": "global", "dc": "dc1", "port": "4647",
				"build": "0.1.0", "raft_vsn": "3"}}}},
		"GET /v1/status/leader":                     `"127.0.0.1:4647"`,
		"PUT /v1/job/example/evaluate":              &api.JobRegisterResponse{EvalID: evalUUID},
		"PUT /v1/allocation/" + allocUUID + "/stop": &api.AllocStopResponse{EvalID: evalUUID},
		"PUT /v1/node/" + nodeUUID + "/eligibility": &api.NodeEligibilityUpdateResponse{},
		"PUT /v1/node/" + nodeUUID + "/drain":       &api.NodeDrainUpdateResponse{},
		"GET /v1/deployments":                       []*api.Deployment{exampleDeployment},
		"DELETE /v1/job/example":                    &api.JobDeregisterResponse{EvalID: evalUUID},
		"GET /v1/evaluation/" + evalUUID: &api.Evaluation{ID: evalUUID, JobID: "example", Status: "complete",
			TriggeredBy: "job-deregister"},
		"GET /v1/evaluation/" + evalUUID + "/allocations": []*api.AllocationListStub{},
		"GET /v1/operator/raft/configuration": &api.RaftConfiguration{Servers: []*api.RaftServer{{ID: "a1b2",
			Node: "node1.global", Address: "127.0.0.1:4647", Leader: true, Voter: true, RaftProtocol: "3"}}},
		"PUT /v1/agent/join": `{"num_joined":1,"error":""}`,
		"GET /v1/agent/self": map[string]any{"config": map[string]any{}, "stats": map[string]map[string]string{
			"nomad": {"leader": "true", "bootstrap": "true"}, "client": {"node_id": nodeUUID}}},
	}
}

func TestCommandsAgainstAgent(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		wantCode int
		want     string // exact stdout, when wantPart is empty
		wantPart []string
		wantErr  string
	}{
		{
			name: "job list",
			args: []string{"job", "status"},
			want: "ID       Type     Priority  Status   Submit Date\n" +
				"example  service  50        running  2026-11-25T07:55:00Z\n",
		},
		{
			name: "one job",
			args: []string{"job", "status", "exam"},
			want: `ID            = example
Name          = example
Submit Date   = 2026-11-25T07:55:00Z
Type          = service
Priority      = 50
Datacenters   = *
Namespace     = default
Node Pool     = default
Status        = running
Periodic      = false
Parameterized = false

Summary
Task Group  Queued  Starting  Running  Failed  Complete  Lost  Unknown
cache       0       0         1        0       0         0     0

Allocations
ID        Node ID   Task Group  Version  Desired  Status   Created   Modified
5cbf23a1  9ec1ee6b  cache       0        run      running  5m0s ago  4m50s ago
`,
		},
		{
			name: "generic status finds the job", args: []string{"status", "example"},
			wantPart: []string{"ID            = example", "Allocations"},
		},
		{
			name: "missing job", args: []string{"job", "status", "nope"}, wantCode: 1,
			wantErr: `No job(s) with prefix or id "nope" found`,
		},
		{
			name: "allocation by prefix",
			args: []string{"alloc", "status", "5cbf"},
			want: `ID                  = 5cbf23a1-1111-2222-3333-444455556666
Eval ID             = 52e9f6a0
Name                = example.cache[0]
Node ID             = 9ec1ee6b
Node Name           = node1
Job ID              = example
Job Version         = 0
Client Status       = running
Client Description  = Tasks are running
Desired Status      = run
Desired Description = <none>
Created             = 5m0s ago
Modified            = 4m50s ago

Task "redis" is "running"
Task Resources:
CPU      Memory   Disk     Addresses
500 MHz  256 MiB  300 MiB  <none>

Task Events:
Started At     = 2026-11-25T07:56:00Z
Finished At    = N/A
Total Restarts = 0
Last Restart   = N/A

Recent Events:
Time                  Type      Description
2026-11-25T07:56:00Z  Started   Task started by client
2026-11-25T07:55:00Z  Received  Task received by client
`,
		},
		{
			name: "allocation short",
			args: []string{"alloc", "status", "-short", "5cbf"},
			wantPart: []string{"Modified = 4m50s ago\n\nTasks\n" +
				"Name   State    Last Event  Time                  Lifecycle\n" +
				"redis  running  Started     2026-11-25T07:56:00Z  main\n"},
		},
		{
			name: "allocation prefix too short", args: []string{"alloc", "status", "5"}, wantCode: 1,
			wantErr: "Alloc ID must contain at least two characters.",
		},
		{
			name: "node list",
			args: []string{"node", "status"},
			want: "ID        Node Pool  DC   Name   Class   Drain  Eligibility  Status\n" +
				"9ec1ee6b  default    dc1  node1  <none>  false  eligible     ready\n",
		},
		{
			name: "one node", args: []string{"node", "status", "9ec1ee6b"},
			wantPart: []string{"ID              = " + nodeUUID + "\nName            = node1\nNode Pool       = default\n", "Allocations\nNo allocations placed"},
		},
		{
			name: "local node", args: []string{"node", "status", "-self", "-short"},
			wantPart: []string{"ID              = 9ec1ee6b"},
		},
		{
			name: "evaluations",
			args: []string{"eval", "list"},
			want: "ID        Priority  Triggered By  Job ID   Namespace  Node ID  Status    Placement Failures\n" +
				"52e9f6a0  50        job-register  example  default    <none>   complete  true\n",
		},
		{
			name: "server members",
			args: []string{"server", "members"},
			want: "Name          Address    Port  Status  Leader  Raft Version  Build  Datacenter  Region\n" +
				"node1.global  127.0.0.1  4648  alive   true    3             0.1.0  dc1         global\n",
		},
		{
			name: "agent info",
			args: []string{"agent-info"},
			want: "client\n  node_id = " + nodeUUID + "\nnomad\n  bootstrap = true\n  leader = true\n",
		},
		{
			name: "inspect prints the job as JSON", args: []string{"job", "inspect", "example"},
			wantPart: []string{"{\n    \"Job\": {\n", `"ID": "example"`},
		},
		{
			name: "logs of the only task", args: []string{"alloc", "logs", allocUUID},
			wantPart: []string{"hello\n"},
		},
		{
			name: "job allocs",
			args: []string{"job", "allocs", "example"},
			want: "ID        Node ID   Task Group  Version  Desired  Status   Created   Modified\n" +
				"5cbf23a1  9ec1ee6b  cache       0        run      running  5m0s ago  4m50s ago\n",
		},
		{
			name: "job eval detached", args: []string{"job", "eval", "-detach", "example"},
			want: "Created eval ID: \"52e9f6a0\" \n",
		},
		{
			name: "alloc stop detached", args: []string{"alloc", "stop", "-detach", "5cbf23a1"},
			want: evalUUID + "\n",
		},
		{
			name: "node eligibility", args: []string{"node", "eligibility", "-disable", "9ec1"},
			want: "Node \"" + nodeUUID + "\" scheduling eligibility set: ineligible for scheduling\n",
		},
		{
			name: "node eligibility needs a direction", args: []string{"node", "eligibility", "9ec1"}, wantCode: 1,
			wantErr: "Either the '-enable' or '-disable' flag must be set",
		},
		{
			name: "node drain disable", args: []string{"node", "drain", "-disable", "-self"},
			want: "Node \"" + nodeUUID + "\" drain strategy unset\n",
		},
		{
			name: "deployment list",
			args: []string{"deployment", "list"},
			want: "ID        Job ID   Job Version  Status      Description\n" +
				"62eb607c  example  0            successful  Deployment completed successfully\n",
		},
		{
			name: "deployment status by prefix", args: []string{"deployment", "status", "62eb"},
			wantPart: []string{"ID          = 62eb607c\nJob ID      = example\n", "Deployed\nTask Group  Desired"},
		},
		{
			name: "job stop detached", args: []string{"job", "stop", "-detach", "example"},
			want: evalUUID + "\n",
		},
		{
			name: "job stop monitored over HTTP", args: []string{"job", "stop", "example"},
			want: "==> 2026-11-25T08:00:00Z: Monitoring evaluation \"52e9f6a0\"\n" +
				"    2026-11-25T08:00:00Z: Evaluation triggered by job \"example\"\n" +
				"==> 2026-11-25T08:00:00Z: Evaluation \"52e9f6a0\" finished with status \"complete\"\n",
		},
		{
			name: "raft peers",
			args: []string{"operator", "raft", "list-peers"},
			want: "Node          ID    Address         State   Voter  RaftProtocol\n" +
				"node1.global  a1b2  127.0.0.1:4647  leader  true   3\n",
		},
		{
			name: "ui url of a job", args: []string{"ui", "-show-url", "exam"},
			wantPart: []string{"URL for web UI: http://127.0.0.1:", "/ui/jobs/example@default\n"},
		},
		{
			name: "ui url of an allocation", args: []string{"ui", "-show-url", "5cbf"},
			wantPart: []string{"/ui/allocations/" + allocUUID + "\n"},
		},
		{
			name: "server join", args: []string{"server", "join", "10.0.0.2:4648"},
			want: "Joined 1 servers successfully\n",
		},
		{
			name: "eval status", args: []string{"eval", "status", "52e9"},
			want: `ID                 = 52e9f6a0
Create Time        = 1m0s ago
Modify Time        = 1m0s ago
Status             = complete
Status Description = <none>
Type               = service
TriggeredBy        = job-register
Job ID             = example
Namespace          = default
Priority           = 50
Placement Failures = true

Failed Placements
Task Group "cache" (failed to place 1 allocation):
  * Resources exhausted on 1 nodes
  * Dimension "memory" exhausted on 1 nodes

Evaluation "3514787b" waiting for additional capacity to place remainder
`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			answers := exampleAnswers()
			answers["GET /v1/client/fs/logs/"+allocUUID] = `{"Data":"aGVsbG8K","File":"stdout","Offset":6}`
			_, addr := startCannedAgent(t, answers)
			c, out, errOut := testCLI(map[string]string{"NOMAD_ADDR": addr})
			if code := c.run(tc.args); code != tc.wantCode {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.wantCode, errOut.String())
			}
			if tc.want != "" && out.String() != tc.want {
				t.Errorf("stdout:\n%s\nwant:\n%s", out.String(), tc.want)
			}
			for _, part := range tc.wantPart {
				if !strings.Contains(out.String(), part) {
					t.Errorf("stdout does not contain %q:\n%s", part, out.String())
				}
			}
			if !strings.Contains(errOut.String(), tc.wantErr) {
				t.Errorf("stderr %q does not contain %q", errOut.String(), tc.wantErr)
			}
		})
	}
}

func TestJobRunDetachAndPlan(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "web.nomad.hcl")
	src := "variable \"n\" {\n  default = 1\n}\n\njob \"web\" {\n  group \"g\" {\n    count = var.n\n    task \"t\" {\n      driver = \"raw_exec\"\n      config {\n        command = \"sleep\"\n      }\n    }\n  }\n}\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	answers := exampleAnswers()
	answers["PUT /v1/jobs"] = &api.JobRegisterResponse{EvalID: evalUUID}
	answers["PUT /v1/job/web/plan"] = &api.JobPlanResponse{
		JobModifyIndex: 0,
		Diff: &api.JobDiff{Type: "Added", ID: "web", TaskGroups: []*api.TaskGroupDiff{{Type: "Added", Name: "g",
			Updates: map[string]uint64{"create": 2}, Tasks: []*api.TaskDiff{{Type: "Added", Name: "t", Annotations: []string{"forces create"}}}}}},
		Annotations: &api.PlanAnnotations{DesiredTGUpdates: map[string]*api.DesiredUpdates{"g": {Place: 2}}},
	}
	agent, addr := startCannedAgent(t, answers)
	cases := []struct {
		name     string
		args     []string
		wantCode int
		want     string
		check    func(t *testing.T)
	}{
		{
			name: "run -detach registers the parsed job with -var applied",
			args: []string{"job", "run", "-detach", "-var", "n=2", path},
			want: "Job registration successful\nEvaluation ID: " + evalUUID + "\n",
			check: func(t *testing.T) {
				var req struct{ Job api.Job }
				if err := json.Unmarshal(agent.bodies["PUT /v1/jobs"], &req); err != nil {
					t.Fatal(err)
				}
				if got := deref(req.Job.TaskGroups[0].Count); got != 2 {
					t.Errorf("registered count %d, want 2", got)
				}
			},
		},
		{
			name:     "plan prints the diff and exits 1 for changes",
			args:     []string{"job", "plan", "-var", "n=2", path},
			wantCode: 1,
			want: `+ Job: "web"
+ Task Group: "g" (2 create)
  + Task: "t" (forces create)

Scheduler dry-run:
- All tasks successfully allocated.

Job Modify Index: 0
To submit the job with version verification run:

roam job run -check-index 0 ` + path + `

When running the job with the check-index flag, the job will only be run if the
job modify index given matches the server-side version. If the index has
changed, another user has modified the job and the plan's results are
potentially invalid.
`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, out, errOut := testCLI(map[string]string{"ROAM_ADDR": addr})
			if code := c.run(tc.args); code != tc.wantCode {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.wantCode, errOut.String())
			}
			if out.String() != tc.want {
				t.Errorf("stdout:\n%s\nwant:\n%s", out.String(), tc.want)
			}
			if tc.check != nil {
				tc.check(t)
			}
		})
	}
}
