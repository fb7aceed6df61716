package command

import (
	"flag"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"
)

func TestArgCountAllows(t *testing.T) {
	cases := []struct {
		name  string
		count argCount
		n     int
		want  bool
	}{
		{name: "none wanted, none given", count: takesNoArgs, n: 0, want: true},
		{name: "none wanted, one given", count: takesNoArgs, n: 1, want: false},
		{name: "optional given", count: takesOneOrNoArgs, n: 1, want: true},
		{name: "optional left out", count: takesOneOrNoArgs, n: 0, want: true},
		{name: "exactly one, two given", count: takesJob, n: 2, want: false},
		{name: "below a range", count: takesAllocTask, n: 0, want: false},
		{name: "top of a range", count: takesAllocTask, n: 2, want: true},
		{name: "no upper bound", count: argCount{1, -1, ""}, n: 50, want: true},
		{name: "no upper bound, too few", count: argCount{1, -1, ""}, n: 0, want: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.count.allows(tc.n); got != tc.want {
				t.Errorf("%+v allows(%d) = %t, want %t", tc.count, tc.n, got, tc.want)
			}
		})
	}
}

func TestParseArgs(t *testing.T) {
	v := &verb{name: "test verb", help: "\nUsage: roam test verb [options] <job>\n"}
	cases := []struct {
		name     string
		args     []string
		wantOK   bool
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{name: "flags and one argument", args: []string{"-x", "job"}, wantOK: true},
		{name: "help", args: []string{"-h"}, wantCode: 0, wantOut: "Usage: roam test verb"},
		{name: "unknown flag", args: []string{"-bogus", "job"}, wantCode: 1,
			wantErr: "flag provided but not defined: -bogus\nUsage: roam test verb"},
		{name: "missing argument", args: []string{"-x"}, wantCode: 1,
			wantErr: "This command takes one argument: <job>\nFor additional help try 'roam test verb -help'\n"},
		{name: "extra argument", args: []string{"a", "b"}, wantCode: 1,
			wantErr: "This command takes one argument: <job>"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, out, errOut := testCLI(nil)
			fs := c.flagSet(v)
			fs.Bool("x", false, "")
			code, ok := c.parseArgs(v, fs, tc.args, takesJob)
			if ok != tc.wantOK || code != tc.wantCode {
				t.Errorf("parseArgs = (%d, %t), want (%d, %t)", code, ok, tc.wantCode, tc.wantOK)
			}
			if !strings.Contains(out.String(), tc.wantOut) || (tc.wantOut == "" && out.Len() > 0) {
				t.Errorf("stdout %q, want %q", out.String(), tc.wantOut)
			}
			if !strings.Contains(errOut.String(), tc.wantErr) || (tc.wantErr == "" && errOut.Len() > 0) {
				t.Errorf("stderr %q, want %q", errOut.String(), tc.wantErr)
			}
		})
	}
}

func TestConnectJob(t *testing.T) {
	_, addr := startCannedAgent(t, exampleAnswers())
	v := &verb{name: "job test", help: "Usage: roam job test <job>"}
	cases := []struct {
		name     string
		args     []string
		wantJob  jobRef
		wantCode int
		wantErr  string
	}{
		{name: "exact ID", args: []string{"example"}, wantJob: jobRef{id: "example", ns: "default"}},
		{name: "prefix", args: []string{"-verbose", "exa"}, wantJob: jobRef{id: "example", ns: "default"}},
		{name: "no such job", args: []string{"nope"}, wantCode: 1,
			wantErr: `No job(s) with prefix or id "nope" found`},
		{name: "no argument", args: nil, wantCode: 1, wantErr: "This command takes one argument: <job>"},
		{name: "help", args: []string{"-help"}, wantCode: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _, errOut := testCLI(map[string]string{"NOMAD_ADDR": addr})
			fs := c.flagSet(v)
			fs.Bool("verbose", false, "")
			job, code, ok := c.connectJob(v, fs, tc.args)
			if wantOK := tc.wantJob.id != ""; ok != wantOK || code != tc.wantCode {
				t.Fatalf("connectJob = (%d, %t), want (%d, %t); stderr %q", code, ok, tc.wantCode, wantOK, errOut.String())
			}
			if job.id != tc.wantJob.id || job.ns != tc.wantJob.ns || (ok && job.client == nil) {
				t.Errorf("job = %+v, want %+v with a client", job, tc.wantJob)
			}
			if !strings.Contains(errOut.String(), tc.wantErr) {
				t.Errorf("stderr %q does not contain %q", errOut.String(), tc.wantErr)
			}
		})
	}
}

func TestPrintList(t *testing.T) {
	cases := []struct {
		name   string
		items  []string
		asJSON bool
		want   string
	}{
		{name: "table", items: []string{"a", "b"}, want: "a,b\n"},
		{name: "empty", items: nil, want: "Nothing here\n"},
		{name: "json", items: []string{"a"}, asJSON: true, want: "[\n    \"a\"\n]\n"},
		{name: "json of none", items: []string{}, asJSON: true, want: "[]\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, out, _ := testCLI(nil)
			table := func() string { return strings.Join(tc.items, ",") }
			if code := printList(c, tc.items, tc.asJSON, "Nothing here", table); code != 0 {
				t.Errorf("exit code %d, want 0", code)
			}
			if out.String() != tc.want {
				t.Errorf("stdout %q, want %q", out.String(), tc.want)
			}
		})
	}
}

func TestWithPrefix(t *testing.T) {
	stubs := []*api.NodeListStub{{ID: "9ec1ee6b"}, {ID: "9ec2aa00"}, {ID: "1234abcd"}}
	id := func(n *api.NodeListStub) string { return n.ID }
	cases := []struct {
		name   string
		prefix string
		want   []string
	}{
		{name: "several", prefix: "9ec", want: []string{"9ec1ee6b", "9ec2aa00"}},
		{name: "one", prefix: "9ec1", want: []string{"9ec1ee6b"}},
		{name: "whole ID", prefix: "1234abcd", want: []string{"1234abcd"}},
		{name: "none", prefix: "ff", want: nil},
		{name: "empty prefix matches all", prefix: "", want: []string{"9ec1ee6b", "9ec2aa00", "1234abcd"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := stubIDs(withPrefix(stubs, tc.prefix, id), id)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("withPrefix(%q) = %v, want %v", tc.prefix, got, tc.want)
			}
		})
	}
}

func TestTaskName(t *testing.T) {
	cases := []struct {
		name      string
		flagValue string
		args      []string
		want      string
	}{
		{name: "flag wins over argument", flagValue: "web", args: []string{"alloc", "db"}, want: "web"},
		{name: "argument", args: []string{"alloc", "db"}, want: "db"},
		{name: "neither", args: []string{"alloc"}, want: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if got := taskName(tc.flagValue, fs); got != tc.want {
				t.Errorf("taskName(%q, %v) = %q, want %q", tc.flagValue, tc.args, got, tc.want)
			}
		})
	}
}
