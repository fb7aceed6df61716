package structs

import "testing"

func TestValidateVarPath(t *testing.T) {
	cases := []struct {
		name, path string
		ok         bool
	}{
		{"plain path", "app/config", true},
		{"a job's variables", "nomad/jobs/web/web/server", true},
		{"below a task", "nomad/jobs/web/web/server/x", false},
		{"job template", "nomad/job-templates/base", true},
		{"ingress certificate", "nomad/ingress/certs/app_example_com", true},
		{"ingress certificate folder", "nomad/ingress/certs", false},
		{"below an ingress certificate", "nomad/ingress/certs/a/b", false},
		{"other reserved path", "nomad/ingress/keys/a", false},
		{"reserved root", "nomad", false},
		{"dots are not allowed", "nomad/ingress/certs/app.example.com", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := ValidateVarPath(tc.path); (err == nil) != tc.ok {
				t.Fatalf("ValidateVarPath(%q) = %v, want ok %v", tc.path, err, tc.ok)
			}
		})
	}
}
