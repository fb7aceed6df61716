package jobspec

import (
	"strings"
	"testing"
)

func TestFormat(t *testing.T) {
	cases := map[string]struct {
		src     string
		want    string
		wantErr string
	}{
		"aligns and indents": {
			src:  "job \"x\" {\ngroup \"g\" {\ncount = 1\nmeta {\na = \"b\"\nlonger = \"c\"\n}\n}\n}\n",
			want: "job \"x\" {\n  group \"g\" {\n    count = 1\n    meta {\n      a      = \"b\"\n      longer = \"c\"\n    }\n  }\n}\n",
		},
		"already formatted": {
			src:  "job \"x\" {\n  type = \"batch\"\n}\n",
			want: "job \"x\" {\n  type = \"batch\"\n}\n",
		},
		"syntax error": {
			src:     "job \"x\" {\n  type = \n",
			wantErr: "fmt.nomad.hcl:2,10",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := Format("fmt.nomad.hcl", []byte(tc.src))
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("want error at %s, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}
