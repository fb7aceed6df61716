package servicedns

import (
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/miekg/dns"

	"github.com/roam-project/roam/client/clienttest"
)

func query(t *testing.T, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, addr)
	if err != nil {
		t.Fatalf("query %s: %v", name, err)
	}
	return r
}

func answers(r *dns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		switch v := rr.(type) {
		case *dns.A:
			out = append(out, v.A.String())
		case *dns.SRV:
			out = append(out, v.Target+":"+strconv.Itoa(int(v.Port)))
		}
	}
	sort.Strings(out)
	return out
}

func TestServiceDNS(t *testing.T) {
	cat := clienttest.NewServers()
	if err := cat.UpsertServiceRegistrations([]*api.ServiceRegistration{
		{ID: "db-1", ServiceName: "db", Namespace: "default", Address: "10.0.0.1", Port: 5432, Tags: []string{"primary"}},
		{ID: "db-2", ServiceName: "db", Namespace: "default", Address: "10.0.0.2", Port: 5433},
		{ID: "db-p", ServiceName: "db", Namespace: "prod", Address: "10.1.0.1", Port: 6000},
	}); err != nil {
		t.Fatal(err)
	}
	s, err := Start(Config{Addr: "127.0.0.1:0"}, cat)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	deadline := time.Now().Add(5 * time.Second)
	for len(answers(query(t, s.Addr(), "db.service.default.roam", dns.TypeA))) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the catalogue never reached the DNS server")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cases := []struct {
		name  string
		qname string
		qtype uint16
		want  []string
		rcode int
	}{
		{"A records", "db.service.default.roam", dns.TypeA, []string{"10.0.0.1", "10.0.0.2"}, dns.RcodeSuccess},
		{"case does not matter", "DB.Service.Default.ROAM", dns.TypeA, []string{"10.0.0.1", "10.0.0.2"}, dns.RcodeSuccess},
		{"another namespace", "db.service.prod.roam", dns.TypeA, []string{"10.1.0.1"}, dns.RcodeSuccess},
		{"SRV records", "db.service.default.roam", dns.TypeSRV, []string{"0a000001.addr.roam.:5432", "0a000002.addr.roam.:5433"}, dns.RcodeSuccess},
		{"by tag", "primary.db.service.default.roam", dns.TypeA, []string{"10.0.0.1"}, dns.RcodeSuccess},
		{"SRV target resolves", "0a000002.addr.roam", dns.TypeA, []string{"10.0.0.2"}, dns.RcodeSuccess},
		{"unknown service", "nope.service.default.roam", dns.TypeA, nil, dns.RcodeNameError},
		{"unknown tag", "replica.db.service.default.roam", dns.TypeA, nil, dns.RcodeNameError},
		{"outside the domain", "db.service.default.consul", dns.TypeA, nil, dns.RcodeNameError},
		{"no AAAA", "db.service.default.roam", dns.TypeAAAA, nil, dns.RcodeSuccess},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := query(t, s.Addr(), tc.qname, tc.qtype)
			got := answers(r)
			if r.Rcode != tc.rcode || len(got) != len(tc.want) {
				t.Fatalf("rcode %d answers %v, want %d %v", r.Rcode, got, tc.rcode, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("answers %v, want %v", got, tc.want)
				}
			}
		})
	}
	t.Run("SRV answers carry the targets' addresses", func(t *testing.T) {
		r := query(t, s.Addr(), "db.service.default.roam", dns.TypeSRV)
		if len(r.Extra) != 2 {
			t.Fatalf("extra = %v", r.Extra)
		}
	})
	t.Run("a withdrawn instance leaves", func(t *testing.T) {
		if _, err := cat.DeleteServiceRegistrations("", []string{"db-1"}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			got := answers(query(t, s.Addr(), "db.service.default.roam", dns.TypeA))
			if len(got) == 1 && got[0] == "10.0.0.2" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("answers %v after the withdrawal", got)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}
