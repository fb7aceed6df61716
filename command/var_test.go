package command

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
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

func TestVarSpecRoundTrip(t *testing.T) {
	cases := []struct {
		name  string
		file  string
		write string
		want  *api.Variable
	}{
		{"var init's hcl", "spec.nv.hcl", varSpecHCL, &api.Variable{Path: "path/to/variable", Namespace: "default", Items: api.VariableItems{"key1": "value 1", "key2": "value 2"}}},
		{"var init's json", "spec.nv.json", varSpecJSON, &api.Variable{Path: "path/to/variable", Namespace: "default", Items: api.VariableItems{"key1": "value 1", "key2": "value 2"}}},
		{"-out hcl read back", "out.hcl", formatVarHCL(&api.Variable{Namespace: "prod", Path: "a/b", Items: api.VariableItems{"user": "u", "db.pass": "p\"q"}}),
			&api.Variable{Path: "a/b", Namespace: "prod", Items: api.VariableItems{"user": "u", "db.pass": "p\"q"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.file)
			if err := os.WriteFile(path, []byte(tc.write), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := readVarSpec(path)
			if err != nil {
				t.Fatalf("%v\n%s", err, tc.write)
			}
			if got.Path != tc.want.Path || got.Namespace != tc.want.Namespace || !maps.Equal(got.Items, tc.want.Items) {
				t.Fatalf("read %+v, want %+v", got, tc.want)
			}
		})
	}
	bad := filepath.Join(t.TempDir(), "bad.hcl")
	os.WriteFile(bad, []byte("items {\n  k = \n}\n"), 0o600)
	if _, err := readVarSpec(bad); err == nil || !strings.Contains(err.Error(), "bad.hcl:2") {
		t.Fatalf("a broken file: %v, want an error naming file and line", err)
	}
}

func TestVarItem(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cert.pem")
	if err := os.WriteFile(file, []byte("-----BEGIN CERTIFICATE-----\nx\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, arg, wantKey, wantValue string
		wantErr                       bool
	}{
		{"plain value", "db=postgres", "db", "postgres", false},
		{"value with an equals sign", "q=a=b", "q", "a=b", false},
		{"value from a file, as is", "cert=@" + file, "cert", "-----BEGIN CERTIFICATE-----\nx\n", false},
		{"missing file", "cert=@" + file + ".nope", "", "", true},
		{"no equals sign", "db", "", "", true},
		{"empty key", "=x", "", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, v, err := varItem(tc.arg)
			if (err != nil) != tc.wantErr || k != tc.wantKey || v != tc.wantValue {
				t.Fatalf("varItem(%q) = %q, %q, %v", tc.arg, k, v, err)
			}
		})
	}
}
