package jobspec

import (
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	cases := map[string]struct {
		file string
		src  string
		opts *Options
		pos  string // file:line,col the message must start with
		want []string
	}{
		"misspelled block": {
			src:  "job \"x\" {\n  group \"g\" {\n    tsak \"t\" {}\n  }\n}\n",
			pos:  "bad.nomad.hcl:3,5",
			want: []string{`Unsupported block type; Blocks of type "tsak" are not expected here. Did you mean "task"?`},
		},
		"misspelled attribute": {
			src:  "job \"x\" {\n  group \"g\" {\n    task \"t\" {\n      driverr = \"docker\"\n    }\n  }\n}\n",
			pos:  "bad.nomad.hcl:4,7",
			want: []string{`Unsupported argument; An argument named "driverr" is not expected here. Did you mean "driver"?`},
		},
		"invalid duration": {
			src:  "job \"x\" {\n  group \"g\" {\n    task \"t\" {\n      kill_timeout = \"5 seconds\"\n    }\n  }\n}\n",
			pos:  "bad.nomad.hcl:4,22",
			want: []string{"Invalid duration", `"kill_timeout"`, `time: unknown unit`},
		},
		"wrong value type": {
			src:  "job \"x\" {\n  group \"g\" {\n    count = \"many\"\n  }\n}\n",
			pos:  "bad.nomad.hcl:3,13",
			want: []string{`Inappropriate value for attribute "count": number required`},
		},
		"fractional count": {
			src:  "job \"x\" {\n  group \"g\" {\n    count = 1.5\n  }\n}\n",
			pos:  "bad.nomad.hcl:3,13",
			want: []string{"whole number"},
		},
		"syntax error": {
			src:  "job \"x\" {\n  group \"g\" {\n    count = \n  }\n}\n",
			pos:  "bad.nomad.hcl:3,13",
			want: []string{"Invalid expression"},
		},
		"no job block": {
			src:  "variable \"x\" {\n  default = 1\n}\n",
			pos:  "bad.nomad.hcl:1,1",
			want: []string{"Missing job block"},
		},
		"two job blocks": {
			src:  "job \"a\" {}\njob \"b\" {}\n",
			pos:  "bad.nomad.hcl:2,1",
			want: []string{"Duplicate job block"},
		},
		"duplicate single block": {
			src:  "job \"x\" {\n  update {}\n  update {}\n}\n",
			pos:  "bad.nomad.hcl:3,3",
			want: []string{"Duplicate update block", "bad.nomad.hcl:2,3"},
		},
		"undeclared variable": {
			src:  "job \"x\" {\n  region = var.nope\n}\n",
			pos:  "bad.nomad.hcl:2,15",
			want: []string{"Unsupported attribute", `"nope"`},
		},
		"unset variable": {
			src:  "variable \"tag\" {\n  type = string\n}\njob \"x\" {}\n",
			pos:  "bad.nomad.hcl:1,1",
			want: []string{"Unset variable", `"tag"`, "NOMAD_VAR_tag"},
		},
		"variable validation": {
			src:  "variable \"n\" {\n  default = 20\n  validation {\n    condition     = var.n < 10\n    error_message = \"n must be below 10.\"\n  }\n}\njob \"x\" {}\n",
			pos:  "bad.nomad.hcl:1,1",
			want: []string{"Invalid value for variable", "n must be below 10.", "bad.nomad.hcl:4,21"},
		},
		"variable of wrong type": {
			src:  "variable \"n\" {\n  type = number\n}\njob \"x\" {}\n",
			opts: &Options{Vars: []string{"n=abc"}},
			pos:  "<value for -var n=abc>:1,1",
			want: []string{"Variables not allowed"},
		},
		"strict undeclared -var": {
			src:  "job \"x\" {}\n",
			opts: &Options{Vars: []string{"ghost=1"}, Strict: true},
			want: []string{"Undefined -var variable", `"ghost"`},
		},
		"malformed -var": {
			src:  "variable \"a\" {\n  default = 1\n}\njob \"x\" {}\n",
			opts: &Options{Vars: []string{"novalue"}},
			want: []string{"Invalid -var option", `"novalue"`},
		},
		"missing required attribute": {
			src:  "job \"x\" {\n  group \"g\" {\n    task \"t\" {\n      lifecycle {\n        sidecar = true\n      }\n    }\n  }\n}\n",
			pos:  "bad.nomad.hcl:4,17",
			want: []string{`Missing required argument; The argument "hook" is required`},
		},
		"unknown function": {
			src:  "job \"x\" {\n  region = nope(1)\n}\n",
			pos:  "bad.nomad.hcl:2,12",
			want: []string{"Call to unknown function", `"nope"`},
		},
		"bad task scaling label": {
			src:  "job \"x\" {\n  group \"g\" {\n    task \"t\" {\n      scaling \"disk\" {}\n    }\n  }\n}\n",
			pos:  "bad.nomad.hcl:4,15",
			want: []string{"Invalid scaling policy type", `"cpu" or "mem"`},
		},
		"locals cycle": {
			src:  "locals {\n  a = local.b\n  b = local.a\n}\njob \"x\" {}\n",
			pos:  "bad.nomad.hcl:2,3",
			want: []string{"Cycle in local values"},
		},
		"two default identities": {
			src:  "job \"x\" {\n  group \"g\" {\n    task \"t\" {\n      identity {}\n      identity {\n        env = true\n      }\n    }\n  }\n}\n",
			pos:  "bad.nomad.hcl:5,7",
			want: []string{"Duplicate default identity"},
		},
		"duplicate volume label": {
			src:  "job \"x\" {\n  group \"g\" {\n    volume \"v\" {}\n    volume \"v\" {}\n  }\n}\n",
			pos:  "bad.nomad.hcl:4,5",
			want: []string{"Duplicate volume block", `"v"`},
		},
		"ingress host with a port": {
			src:  "job \"x\" {\n  group \"g\" {\n    service {\n      name = \"web\"\n      ingress {\n        host = \"app.example.com:80\"\n      }\n    }\n  }\n}\n",
			pos:  "bad.nomad.hcl:6,16",
			want: []string{"Invalid ingress host", `Service "web" ingress host`, "no port or scheme"},
		},
		"ingress path without a slash": {
			src:  "job \"x\" {\n  group \"g\" {\n    service {\n      name = \"web\"\n      ingress {\n        host = \"app.example.com\"\n        path = \"api\"\n      }\n    }\n  }\n}\n",
			pos:  "bad.nomad.hcl:7,16",
			want: []string{"Invalid ingress path", "must start with /"},
		},
		"ingress without a host": {
			src:  "job \"x\" {\n  group \"g\" {\n    service {\n      ingress {\n        path = \"/api\"\n      }\n    }\n  }\n}\n",
			pos:  "bad.nomad.hcl:4,15",
			want: []string{`The argument "host" is required`},
		},
		"ingress block and ingress tag": {
			src:  "job \"x\" {\n  group \"g\" {\n    service {\n      name = \"web\"\n      tags = [\"ingress.host=a.test\"]\n      ingress {\n        host = \"b.test\"\n      }\n    }\n  }\n}\n",
			pos:  "bad.nomad.hcl:6,7",
			want: []string{"Ingress given twice", `"ingress.host=a.test"`},
		},
		"json syntax error": {
			file: "bad.json",
			src:  "{\n  \"Job\": {\n    \"ID\": \"x\",,\n  }\n}\n",
			pos:  "bad.json:3,15",
			want: []string{"Invalid JSON", "invalid character ','"},
		},
		"json wrong type": {
			file: "bad.json",
			src:  "{\"Job\": {\"ID\": 5}}",
			pos:  "bad.json:1,16",
			want: []string{"Incorrect value type", "Job.ID"},
		},
		"yaml syntax error": {
			file: "bad.yaml",
			src:  "Job:\n  ID: x\n   Name: y\n",
			pos:  "bad.yaml:3,1",
			want: []string{"Invalid YAML"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			file := tc.file
			if file == "" {
				file = "bad.nomad.hcl"
			}
			_, err := Parse(file, []byte(tc.src), tc.opts)
			if err == nil {
				t.Fatal("parse succeeded, want an error")
			}
			msg := err.Error()
			if tc.pos != "" && !strings.HasPrefix(msg, tc.pos) {
				t.Errorf("error %q does not start with position %q", msg, tc.pos)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}
