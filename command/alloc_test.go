package command

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

func TestLastLines(t *testing.T) {
	cases := []struct {
		name string
		data string
		n    int
		want string
	}{
		{"fewer lines than asked", "a\nb\n", 5, "a\nb\n"},
		{"last two", "a\nb\nc\nd\n", 2, "c\nd\n"},
		{"no trailing newline", "a\nb\nc", 1, "c"},
		{"zero", "a\n", 0, ""},
		{"empty", "", 3, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(lastLines([]byte(tc.data), tc.n)); got != tc.want {
				t.Errorf("lastLines = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPickTask(t *testing.T) {
	two := &api.Allocation{ID: allocUUID, TaskStates: map[string]*api.TaskState{"web": {}, "sidecar": {}}}
	one := &api.Allocation{ID: allocUUID, Job: exampleAPIJob, TaskGroup: "cache"}
	cases := []struct {
		name    string
		alloc   *api.Allocation
		task    string
		want    string
		wantErr string
	}{
		{name: "only task from the job", alloc: one, want: "redis"},
		{name: "named task", alloc: two, task: "web", want: "web"},
		{name: "unknown task", alloc: two, task: "db", wantErr: "Could not find task named: db"},
		{name: "several tasks need a name", alloc: two,
			wantErr: "Allocation \"5cbf23a1\" is running the following tasks:\n  * sidecar\n  * web\n\nPlease specify the task."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pickTask(tc.alloc, tc.task)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("pickTask = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestFormatAllocAddressesAndStats(t *testing.T) {
	alloc := &api.Allocation{AllocatedResources: &api.AllocatedResources{
		Tasks: map[string]*api.AllocatedTaskResources{"redis": {
			Cpu: api.AllocatedCpuResources{CpuShares: 500}, Memory: api.AllocatedMemoryResources{MemoryMB: 256}}},
		Shared: api.AllocatedSharedResources{DiskMB: 300,
			Networks: []*api.NetworkResource{{Mode: "host", DynamicPorts: []api.Port{{Label: "db", Value: 23456, To: 6379}}}},
			Ports: []api.PortMapping{
				{Label: "db", Value: 23456, To: 6379, HostIP: "127.0.0.1"},
				{Label: "admin", Value: 8080, HostIP: "127.0.0.1"},
			}},
	}}
	cases := []struct {
		name string
		got  string
		want string
	}{
		{
			name: "addresses mark dynamic ports",
			got:  formatAllocAddresses(alloc),
			want: "Allocation Addresses (mode = \"host\"):\n" +
				"Label  Dynamic  Address\n" +
				"*db    yes      127.0.0.1:23456 -> 6379\n" +
				"admin  no       127.0.0.1:8080",
		},
		{
			name: "resources with measured use",
			got: formatTaskResources(alloc, "redis", &api.TaskResourceUsage{ResourceUsage: &api.ResourceUsage{
				CpuStats: &api.CpuStats{TotalTicks: 12.7}, MemoryStats: &api.MemoryStats{RSS: 6 << 20}}}),
			want: "CPU         Memory           Disk     Addresses\n" +
				"12/500 MHz  6.0 MiB/256 MiB  300 MiB  <none>",
		},
		{
			name: "resources without stats",
			got:  formatTaskResources(alloc, "redis", nil),
			want: "CPU      Memory   Disk     Addresses\n" +
				"500 MHz  256 MiB  300 MiB  <none>",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", tc.got, tc.want)
			}
		})
	}
}

func TestAllocHeaderNetworkAddress(t *testing.T) {
	cases := []struct {
		name   string
		status *api.AllocNetworkStatus
		want   string
	}{
		{"host mode has no row", nil, ""},
		{"bridge mode shows the allocation's address", &api.AllocNetworkStatus{InterfaceName: "eth0", Address: "10.42.1.2"}, "Network Address|10.42.1.2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows := allocHeader(&api.Allocation{NetworkStatus: tc.status}, false, time.Time{}, time.Now())
			got := ""
			for _, r := range rows {
				if strings.HasPrefix(r, "Network Address|") {
					got = r
				}
			}
			if got != tc.want {
				t.Errorf("row %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFormatPlacementMetrics(t *testing.T) {
	cases := []struct {
		name    string
		metrics *api.AllocationMetric
		want    string
	}{
		{
			name: "scores per node",
			metrics: &api.AllocationMetric{NodesEvaluated: 1, ScoreMetaData: []*api.NodeScoreMeta{{
				NodeID: nodeUUID, NormScore: 0.0238, Scores: map[string]float64{"binpack": 0.0238, "job-anti-affinity": 0}}}},
			want: "Node                                  binpack  job-anti-affinity  final score\n" +
				nodeUUID + "  0.0238   0                  0.0238",
		},
		{
			name:    "filters without scores",
			metrics: &api.AllocationMetric{NodesEvaluated: 2, ConstraintFiltered: map[string]int{"${node.class} = gpu": 1}},
			want:    "  * Constraint \"${node.class} = gpu\": 1 nodes excluded by filter",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatPlacementMetrics(tc.metrics); got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// TestAllocStatusLabelsMatchNomad checks the labels and columns `alloc
// status` shares with Nomad's: the full allocation ID, the -short header of
// identity and times only, and the Lifecycle column of the Tasks table.
func TestAllocStatusLabelsMatchNomad(t *testing.T) {
	now := time.Unix(1700000000, 0)
	job := &api.Job{TaskGroups: []*api.TaskGroup{{Name: ptr("app"), Tasks: []*api.Task{
		{Name: "init", Lifecycle: &api.TaskLifecycle{Hook: "prestart"}},
		{Name: "log", Lifecycle: &api.TaskLifecycle{Hook: "poststart", Sidecar: true}},
		{Name: "main"},
		{Name: "a-main"},
	}, ReschedulePolicy: &api.ReschedulePolicy{Attempts: ptr(2), Interval: ptr(time.Hour)}}}}
	alloc := &api.Allocation{ID: allocUUID, Name: "web.app[0]", TaskGroup: "app", Job: job, NextAllocation: allocUUID,
		CreateTime: now.Add(-time.Minute).UnixNano(), ModifyTime: now.Add(-time.Second).UnixNano(),
		DeploymentID: evalUUID, DeploymentStatus: &api.AllocDeploymentStatus{Canary: true},
		RescheduleTracker: &api.RescheduleTracker{Events: []*api.RescheduleEvent{{RescheduleTime: now.Add(-time.Minute).UnixNano()}}},
		FollowupEvalID:    evalUUID,
		TaskStates: map[string]*api.TaskState{
			"init": {State: "dead", Events: []*api.TaskEvent{{Type: "Terminated", Time: now.UnixNano()}}},
			"log":  {State: "running"}, "main": {State: "running"}, "a-main": {State: "running"},
		}}
	short := formatAllocStatus(alloc, nil, allocView{short: true}, now)
	full := formatKV(allocHeader(alloc, false, now.Add(30*time.Second), now))
	past := formatKV(allocHeader(alloc, false, now.Add(-time.Second), now))
	tasks := formatAllocStatus(alloc, nil, allocView{}, now)
	cases := []struct {
		name, got, want string
		absent          string
	}{
		{name: "full ID in the header", got: full, want: "ID                   = " + allocUUID + "\n"},
		{name: "replacement allocation", got: full, want: "Replacement Alloc ID = " + allocUUID[:8]},
		{name: "short header is identity and times", got: short, want: "ID       = " + allocUUID + "\nName     = web.app[0]\nCreated  = 1m0s ago\nModified = 1s ago\n", absent: "Job ID"},
		{name: "tasks table has a lifecycle column", got: short, want: "Name  State    Last Event  Time                  Lifecycle\n"},
		{name: "prestart task", got: short, want: "init  dead     Terminated  "},
		{name: "sidecar task", got: short, want: "poststart sidecar"},
		{name: "main tasks last", got: short, want: "log running <none> <none> poststart sidecar\na-main running <none> <none> main\nmain running"},
		{name: "canary", got: full, want: "Canary               = true\n"},
		{name: "reschedule attempts", got: full, want: "Reschedule Attempts  = 1/2\n"},
		{name: "reschedule eligibility", got: full, want: "Reschedule Eligibility = 30s from now"},
		{name: "no eligibility once past", got: past, want: "Reschedule Attempts", absent: "Reschedule Eligibility"},
		{name: "hook task heading", got: tasks, want: `Task "log" (poststart sidecar) is "running"`},
		{name: "main task heading", got: tasks, want: `Task "main" is "running"`},
	}
	// Column widths depend on every row: compare with runs of spaces and
	// newlines collapsed.
	norm := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(norm(tc.got), norm(tc.want)) {
				t.Errorf("output lacks %q:\n%s", tc.want, tc.got)
			}
			if tc.absent != "" && strings.Contains(tc.got, tc.absent) {
				t.Errorf("output has %q:\n%s", tc.absent, tc.got)
			}
		})
	}
}

// TestFormatServiceChecks checks the "Nomad Service Checks" table of
// `alloc status`: sorted rows, "(group)" for group-level services.
func TestFormatServiceChecks(t *testing.T) {
	cases := []struct {
		name   string
		checks api.AllocCheckStatuses
		want   string
	}{
		{"none", nil, ""},
		{"group and task checks", api.AllocCheckStatuses{
			"b": {Service: "web", Check: "port", Mode: "healthiness", Status: "success"},
			"a": {Service: "api", Task: "main", Check: "http", Mode: "readiness", Status: "failure"},
		}, "Nomad Service Checks:\n" +
			"Service  Task     Name  Mode         Status\n" +
			"api      main     http  readiness    failure\n" +
			"web      (group)  port  healthiness  success"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatServiceChecks(tc.checks); got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// TestFormatReschedulingEvals checks `job status`'s "Future Rescheduling
// Attempts": only follow-ups still to come, the policy with -verbose.
func TestFormatReschedulingEvals(t *testing.T) {
	now := time.Unix(1700000000, 0)
	job := &api.Job{TaskGroups: []*api.TaskGroup{{Name: ptr("app"),
		ReschedulePolicy: &api.ReschedulePolicy{Attempts: ptr(1), Interval: ptr(time.Hour), Delay: ptr(30 * time.Second),
			DelayFunction: ptr("constant"), MaxDelay: ptr(time.Hour), Unlimited: ptr(false)}}}}
	pending := map[string]pendingReschedule{
		"app":  {evalID: evalUUID, at: now.Add(30 * time.Second)},
		"done": {evalID: evalUUID, at: now.Add(-time.Second)},
	}
	cases := []struct {
		name    string
		pending map[string]pendingReschedule
		verbose bool
		want    string
	}{
		{"none to come", map[string]pendingReschedule{"done": pending["done"]}, false, ""},
		{"short", pending, false, "Task Group  Eval ID   Eval Time\napp         52e9f6a0  30s from now"},
		{"verbose", pending, true, formatList([]string{"Task Group|Reschedule Policy|Eval ID|Eval Time",
			"app|1 in 1h0m0s with constant delay, max_delay = 1h0m0s|" + evalUUID + "|30s from now"})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatReschedulingEvals(tc.pending, tc.verbose, job, now); got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}
