package jobspec

import (
	"testing"

	"github.com/hashicorp/nomad/api"
)

// TestConstraintOperatorDefaultsToEqual checks that a constraint or
// affinity written with attribute and value but no operator gets "=", at
// every level and in every input format, and that written operators and
// shorthands are kept.
func TestConstraintOperatorDefaultsToEqual(t *testing.T) {
	const hcl = `
job "web" {
  constraint {
    attribute = "${attr.kernel.name}"
    value     = "linux"
  }
  constraint {
    attribute = "${attr.kernel.version}"
    operator  = ">="
    value     = "3.19"
  }
  constraint {
    distinct_hosts = true
  }
  affinity {
    attribute = "${node.datacenter}"
    value     = "dc1"
  }
  group "g" {
    constraint {
      attribute = "${meta.rack}"
      value     = "r1"
    }
    affinity {
      attribute = "${meta.rack}"
      regexp    = "r[0-9]"
    }
    task "t" {
      driver = "raw_exec"
      constraint {
        attribute = "${attr.os.name}"
        value     = "ubuntu"
      }
      resources {
        device "nvidia/gpu" {
          affinity {
            attribute = "${device.model}"
            value     = "Tesla K80"
          }
        }
      }
    }
  }
}`
	const json = `{"Job": {"ID": "web", "Name": "web",
  "Constraints": [{"LTarget": "${attr.kernel.name}", "RTarget": "linux"}],
  "Affinities": [{"LTarget": "${node.datacenter}", "RTarget": "dc1", "Operand": "!="}],
  "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "raw_exec",
    "Affinities": [{"LTarget": "${meta.rack}", "RTarget": "r1"}]}]}]}}`
	cases := []struct {
		name     string
		file     string
		src      string
		opts     *Options
		operands func(j *api.Job) []string
		want     []string
	}{
		{
			name: "hcl job level", file: "web.nomad.hcl", src: hcl,
			operands: func(j *api.Job) []string {
				return []string{j.Constraints[0].Operand, j.Constraints[1].Operand, j.Constraints[2].Operand, j.Affinities[0].Operand}
			},
			want: []string{"=", ">=", "distinct_hosts", "="},
		},
		{
			name: "hcl group, task and device level", file: "web.nomad.hcl", src: hcl,
			operands: func(j *api.Job) []string {
				tg := j.TaskGroups[0]
				task := tg.Tasks[0]
				return []string{tg.Constraints[0].Operand, tg.Affinities[0].Operand, task.Constraints[0].Operand, task.Resources.Devices[0].Affinities[0].Operand}
			},
			want: []string{"=", "regexp", "=", "="},
		},
		{
			name: "hcl parsed raw (jobs/parse without canonicalize)", file: "web.nomad.hcl", src: hcl, opts: &Options{Raw: true},
			operands: func(j *api.Job) []string { return []string{j.Constraints[0].Operand, j.Affinities[0].Operand} },
			want:     []string{"=", "="},
		},
		{
			name: "api json", file: "web.json", src: json,
			operands: func(j *api.Job) []string {
				return []string{j.Constraints[0].Operand, j.Affinities[0].Operand, j.TaskGroups[0].Tasks[0].Affinities[0].Operand}
			},
			want: []string{"=", "!=", "="},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job, err := Parse(tc.file, []byte(tc.src), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := tc.operands(job)
			for i := range tc.want {
				if got[i] != tc.want[i] {
					t.Errorf("operands = %q, want %q", got, tc.want)
					break
				}
			}
		})
	}
}
