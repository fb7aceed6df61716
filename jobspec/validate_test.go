package jobspec

import (
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"
)

// taskJob wraps task and group bodies into a minimal job.
func taskJob(groupBody, taskBody string) string {
	return "job \"v\" {\n  group \"g\" {\n" + groupBody + "\n    task \"t\" {\n" + taskBody + "\n    }\n  }\n}\n"
}

const driver = `driver = "exec"`

func TestValidate(t *testing.T) {
	cases := map[string]struct {
		src  string
		job  *api.Job // used instead of src when set
		want []string
	}{
		"valid":          {src: taskJob("", driver)},
		"missing driver": {src: taskJob("", ""), want: []string{`Task group "g": Task "t": Missing task driver`}},
		"negative duration": {
			src:  taskJob("", driver+"\nkill_timeout = \"-5s\""),
			want: []string{"Invalid duration for kill_timeout: -5s must not be negative"},
		},
		"negative count": {src: taskJob("count = -1", driver), want: []string{"Task group count can't be negative"}},
		"unknown lifecycle hook": {
			src:  taskJob("", driver+"\nlifecycle {\n hook = \"prestop\"\n}"),
			want: []string{"invalid hook: prestop"},
		},
		"spread percent over 100": {
			src:  taskJob("spread {\n attribute = \"${node.datacenter}\"\n target \"dc1\" {\n percent = 150\n }\n}", driver),
			want: []string{`Spread target percentage for value "dc1" must be between 0 and 100`, "Sum of spread target percentages must not be greater than 100%; got 150%"},
		},
		"two tasks with one name": {
			src:  "job \"v\" {\n group \"g\" {\n task \"t\" {\n driver = \"exec\"\n }\n task \"t\" {\n driver = \"exec\"\n }\n }\n}\n",
			want: []string{"Task 2 redefines 't' from task 1"},
		},
		"two groups with one name": {
			src:  "job \"v\" {\n group \"g\" {\n task \"t\" {\n driver = \"exec\"\n }\n }\n group \"g\" {\n task \"t\" {\n driver = \"exec\"\n }\n }\n}\n",
			want: []string{"Job task group 2 redefines 'g' from group 1"},
		},
		"port label twice": {
			src:  taskJob("network {\n port \"http\" {}\n port \"http\" {\n static = 80\n }\n}", driver),
			want: []string{"Port label http already in use"},
		},
		"job without groups":   {src: "job \"v\" {}\n", want: []string{"Missing job task groups"}},
		"group without tasks":  {src: "job \"v\" {\n group \"g\" {}\n}\n", want: []string{`Task group "g": Missing tasks for task group`}},
		"missing job ID":       {job: &api.Job{ID: new(""), TaskGroups: []*api.TaskGroup{}}, want: []string{"Missing job ID"}},
		"invalid job type":     {src: "job \"v\" {\n type = \"daemon\"\n}\n", want: []string{`Invalid job type: "daemon"`}},
		"invalid restart mode": {src: taskJob("restart {\n mode = \"sometimes\"\n}", driver), want: []string{`Unsupported restart mode: "sometimes"`}},
		"invalid cron": {
			src:  "job \"v\" {\n type = \"batch\"\n periodic {\n cron = \"not a cron\"\n }\n group \"g\" {\n task \"t\" {\n driver = \"exec\"\n }\n }\n}\n",
			want: []string{`Invalid cron spec "not a cron"`},
		},
		"periodic service job": {
			src:  "job \"v\" {\n periodic {\n cron = \"@daily\"\n }\n group \"g\" {\n task \"t\" {\n driver = \"exec\"\n }\n }\n}\n",
			want: []string{"Periodic can only be used with"},
		},
		"affinity weight": {
			src:  taskJob("affinity {\n attribute = \"${node.class}\"\n value = \"x\"\n weight = 0\n}", driver),
			want: []string{"Affinity weight cannot be zero"},
		},
		"all problems listed": {
			src:  "job \"v\" {\n type = \"daemon\"\n group \"g\" {\n count = -2\n task \"t\" {}\n }\n}\n",
			want: []string{"3 errors occurred", "Invalid job type", "count can't be negative", "Missing task driver"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			job := tc.job
			if job == nil {
				var err error
				job, err = Parse("v.nomad.hcl", []byte(tc.src), nil)
				if err != nil {
					t.Fatalf("parse: %v", err)
				}
			}
			err := Validate(job)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("want a valid job, got %v", err)
				}
				return
			}
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("want a *ValidationError, got %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
