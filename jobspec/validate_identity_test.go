package jobspec

import (
	"strings"
	"testing"
)

func TestValidateIdentity(t *testing.T) {
	cases := []struct {
		name string
		task string
		want string // "" for a valid job
	}{
		{name: "env and file", task: "identity {\n env = true\n file = true\n}"},
		{name: "every setting", task: "identity {\n aud = [\"nomad.io\"]\n ttl = \"1h\"\n change_mode = \"signal\"\n change_signal = \"SIGHUP\"\n file = true\n filepath = \"local/id.jwt\"\n}"},
		{name: "named identities", task: "identity {\n name = \"vault\"\n aud = [\"vault.io\"]\n}\nidentity {\n name = \"consul\"\n}"},
		{name: "unknown change mode", task: "identity {\n change_mode = \"reload\"\n}", want: `Identity "default": invalid change_mode "reload"`},
		{name: "signal without a signal", task: "identity {\n change_mode = \"signal\"\n}", want: `change_mode "signal" needs a change_signal`},
		{name: "a signal without signal mode", task: "identity {\n change_signal = \"SIGHUP\"\n}", want: "change_signal is only used with"},
		{name: "negative ttl", task: "identity {\n ttl = \"-1h\"\n}", want: "ttl must not be negative"},
		{name: "bad name", task: "identity {\n name = \"a b\"\n}", want: `Identity "a b": invalid name`},
		{name: "one name twice", task: "identity {\n name = \"vault\"\n}\nidentity {\n name = \"vault\"\n}", want: `Identity "vault": defined more than once`},
		{name: "filepath without file", task: "identity {\n filepath = \"x\"\n}", want: "filepath is only used with file = true"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job, err := Parse("v.nomad.hcl", []byte(taskJob("", driver+"\n"+tc.task)), nil)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			err = Validate(job)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("want a valid job, got %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v does not mention %q", err, tc.want)
			}
		})
	}
}
