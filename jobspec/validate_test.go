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
		"volume_mount of an undefined volume": {
			src:  taskJob("volume \"data\" {\n type = \"host\"\n source = \"data\"\n}", driver+"\nvolume_mount {\n volume = \"dat\"\n destination = \"/data\"\n}"),
			want: []string{`Volume Mount (0) references undefined volume "dat"`},
		},
		"ingress tag with a bad host": {
			src:  taskJob("service {\n name = \"web\"\n tags = [\"ingress.host=http://a.test\"]\n}", driver),
			want: []string{`Task group "g": Service "web": ingress: host "http://a.test"`},
		},
		"ingress tag in canary_tags with a bad host": {
			src:  taskJob("service {\n name = \"web\"\n canary_tags = [\"ingress.host=a.test:80\"]\n}", driver),
			want: []string{`Task group "g": Service "web": ingress: canary_tags: host "a.test:80"`},
		},
		"ingress path tag without a host": {
			src:  taskJob("", driver+"\nservice {\n name = \"api\"\n tags = [\"ingress.path=/api\"]\n}"),
			want: []string{`Task "t": Service "api": ingress: tag ingress.path=/api needs an ingress.host= tag`},
		},
		"host volume without source": {
			src:  taskJob("volume \"data\" {\n type = \"host\"\n}", driver),
			want: []string{"Volume data: volume has an empty source"},
		},
		"device name with an empty part": {
			src:  taskJob("", driver+"\nresources {\n device \"nvidia//x\" {}\n}"),
			want: []string{"device name must be given as one of the following"},
		},
		"negative count": {src: taskJob("count = -1", driver), want: []string{"Task group count can't be negative"}},
		"network policy that does not parse": {
			src:  taskJob("meta = {\n \"roam.ingress_from\" = \"service:web, host:10.0.0.1\"\n}", driver),
			want: []string{`meta roam.ingress_from: "host:10.0.0.1" is not service:NAME or namespace:NAME`},
		},
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
		"disconnect lost_after":              {src: taskJob("disconnect {\n lost_after = \"1h\"\n replace = false\n reconcile = \"keep_original\"\n}", driver)},
		"disconnect stop_on_client_after":    {src: taskJob("disconnect {\n stop_on_client_after = \"1h\"\n}", driver)},
		"legacy disconnect attributes alone": {src: taskJob("max_client_disconnect = \"1h\"\nprevent_reschedule_on_lost = true", driver)},
		"lost_after with stop_on_client_after": {
			src:  taskJob("disconnect {\n lost_after = \"1h\"\n stop_on_client_after = \"10m\"\n}", driver),
			want: []string{"lost_after and stop_on_client_after cannot both be set"},
		},
		"lost_after with max_client_disconnect": {
			src:  taskJob("max_client_disconnect = \"1h\"\ndisconnect {\n lost_after = \"1h\"\n}", driver),
			want: []string{"using both disconnect.lost_after and max_client_disconnect is not allowed"},
		},
		"stop_on_client_after with stop_after_client_disconnect": {
			src:  taskJob("stop_after_client_disconnect = \"1h\"\ndisconnect {\n stop_on_client_after = \"1h\"\n}", driver),
			want: []string{"using both disconnect.stop_on_client_after and stop_after_client_disconnect is not allowed"},
		},
		"max_client_disconnect with stop_on_client_after": {
			src:  taskJob("max_client_disconnect = \"1h\"\ndisconnect {\n stop_on_client_after = \"1h\"\n}", driver),
			want: []string{"cannot both keep disconnected allocations (max_client_disconnect) and stop them on the client (disconnect.stop_on_client_after)"},
		},
		"max_client_disconnect with stop_after_client_disconnect": {
			src:  taskJob("max_client_disconnect = \"1h\"\nstop_after_client_disconnect = \"1h\"", driver),
			want: []string{"(max_client_disconnect) and stop them on the client (stop_after_client_disconnect)"},
		},
		"prevent_reschedule_on_lost with a disconnect block": {
			src:  taskJob("prevent_reschedule_on_lost = true\ndisconnect {\n lost_after = \"1h\"\n}", driver),
			want: []string{"using both a disconnect block and prevent_reschedule_on_lost is not allowed"},
		},
		"unknown reconcile option": {
			src:  taskJob("disconnect {\n reconcile = \"keep_newest\"\n}", driver),
			want: []string{`invalid reconcile option "keep_newest"`},
		},
		"non-positive stop_on_client_after": {
			src:  taskJob("disconnect {\n stop_on_client_after = \"0s\"\n}", driver),
			want: []string{"stop_on_client_after must be a positive duration"},
		},
		"negative lost_after": {
			src:  taskJob("disconnect {\n lost_after = \"-1h\"\n}", driver),
			want: []string{"Invalid duration for disconnect.lost_after"},
		},
		"stop_on_client_after in a system job": {
			src:  "job \"v\" {\n type = \"system\"\n group \"g\" {\n disconnect {\n stop_on_client_after = \"1h\"\n }\n task \"t\" {\n driver = \"exec\"\n }\n }\n}\n",
			want: []string{"can only be set in batch and service jobs"},
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

func TestServiceIngressBlock(t *testing.T) {
	cases := []struct {
		name, service  string
		wantTags       []string
		wantCanaryTags []string
	}{
		{"host only", `ingress { host = "App.Example.com" }`, []string{"http", "ingress.host=App.Example.com"}, nil},
		{"canary tags get the ingress tags too", "canary_tags = [\"canary\"]\ningress {\n host = \"app.example.com\"\n path = \"/api\"\n}",
			[]string{"http", "ingress.host=app.example.com", "ingress.path=/api"}, []string{"canary", "ingress.host=app.example.com", "ingress.path=/api"}},
		{"host and path", "ingress {\n host = \"app.example.com\"\n path = \"/api\"\n}", []string{"http", "ingress.host=app.example.com", "ingress.path=/api"}, nil},
		{"root path adds no tag", "ingress {\n host = \"a.test\"\n path = \"/\"\n}", []string{"http", "ingress.host=a.test"}, nil},
		{"runtime interpolation left to the client", `ingress { host = "${NOMAD_JOB_NAME}.example.com" }`, []string{"http", "ingress.host=${NOMAD_JOB_NAME}.example.com"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := taskJob("service {\n name = \"web\"\n tags = [\"http\"]\n"+tc.service+"\n}", driver)
			job, err := Parse("ingress.nomad.hcl", []byte(src), nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := Validate(job); err != nil {
				t.Fatal(err)
			}
			got := job.TaskGroups[0].Services[0].Tags
			if strings.Join(got, " ") != strings.Join(tc.wantTags, " ") {
				t.Fatalf("tags = %q, want %q", got, tc.wantTags)
			}
			if got := job.TaskGroups[0].Services[0].CanaryTags; strings.Join(got, " ") != strings.Join(tc.wantCanaryTags, " ") {
				t.Fatalf("canary_tags = %q, want %q", got, tc.wantCanaryTags)
			}
		})
	}
}
