package command

import (
	"testing"

	"github.com/hashicorp/nomad/api"
)

func TestFormatVar(t *testing.T) {
	cases := []struct {
		name string
		v    *api.Variable
		want string
	}{
		{
			"items sorted and aligned",
			&api.Variable{Namespace: "default", Path: "secret/creds", ModifyIndex: 116,
				Items: api.VariableItems{"user": "dba", "passcode": "my-long-passcode"}},
			"Namespace   = default\nPath        = secret/creds\nCreate Time = <none>\nCheck Index = 116\n\n" +
				"Items\npasscode = my-long-passcode\nuser     = dba",
		},
		{
			"values keep pipes",
			&api.Variable{Namespace: "default", Path: "p", ModifyIndex: 1, Items: api.VariableItems{"cmd": "a|b"}},
			"Namespace   = default\nPath        = p\nCreate Time = <none>\nCheck Index = 1\n\nItems\ncmd = a|b",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatVar(tc.v); got != tc.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}
