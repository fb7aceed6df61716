package structs

import "testing"

func TestIngressFrom(t *testing.T) {
	web := &AllocAddress{Namespace: "default", Services: []string{"web"}}
	prod := &AllocAddress{Namespace: "prod", Services: []string{"web"}}
	cases := []struct {
		name    string
		policy  string
		src     *AllocAddress
		allows  bool
		wantErr bool
	}{
		{"service in the same namespace", "service:web", web, true, false},
		{"service of another namespace", "service:web", prod, false, false},
		{"namespace", "service:api, namespace:prod", prod, true, false},
		{"no matching rule", "namespace:prod", web, false, false},
		{"empty policy admits no one", "", web, false, false},
		{"unknown kind", "host:10.0.0.1", web, false, true},
		{"missing name", "service:", web, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rules, err := ParseIngressFrom(tc.policy)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parse %q: %v, want error %v", tc.policy, err, tc.wantErr)
			}
			if got := Allows(rules, "default", tc.src); got != tc.allows {
				t.Errorf("Allows = %v, want %v", got, tc.allows)
			}
		})
	}
}
