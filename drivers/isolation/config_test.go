package isolation

import (
	"strings"
	"syscall"
	"testing"
)

func TestDecodeConfig(t *testing.T) {
	type config struct {
		Command string            `json:"command"`
		Args    []string          `json:"args"`
		Count   int               `json:"count"`
		Labels  map[string]string `json:"labels"`
	}
	cases := []struct {
		name    string
		in      map[string]any
		wantErr string
	}{
		{name: "valid", in: map[string]any{"command": "x", "args": []any{"a"}, "count": 2, "labels": map[string]any{"k": "v"}}},
		{name: "unknown key", in: map[string]any{"comand": "x"}, wantErr: `config key "comand" is not a valid option`},
		{name: "string for list", in: map[string]any{"args": "a b"}, wantErr: `config key "args": expected a list of strings, got string`},
		{name: "number for string", in: map[string]any{"command": 1}, wantErr: `config key "command": expected a string, got number`},
		{name: "list for map", in: map[string]any{"labels": []any{}}, wantErr: `config key "labels": expected a map, got array`},
		{name: "string for number", in: map[string]any{"count": "two"}, wantErr: `config key "count": expected a number, got string`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out config
			err := DecodeConfig(tc.in, &out)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestParseSignal(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want syscall.Signal
	}{
		{name: "full name", in: "SIGTERM", want: syscall.SIGTERM},
		{name: "short name", in: "hup", want: syscall.SIGHUP},
		{name: "unknown", in: "SIGNOPE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSignal(tc.in)
			if tc.want == 0 {
				if err == nil {
					t.Fatalf("parsed %v, want an error", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseSignal(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestLimitsSpec(t *testing.T) {
	res := Limits{MemoryMB: 256, MemoryReservationMB: 128, CPUShares: 1, Cores: []uint16{0, 3}}.spec()
	if *res.Memory.Limit != 256<<20 || *res.Memory.Reservation != 128<<20 {
		t.Errorf("memory = %+v", res.Memory)
	}
	if *res.CPU.Shares != 2 || res.CPU.Cpus != "0,3" {
		t.Errorf("cpu = shares %d cpus %q, want the minimum of 2 shares on 0,3", *res.CPU.Shares, res.CPU.Cpus)
	}
	if unlimited := (Limits{}).spec(); unlimited.Memory != nil || unlimited.CPU.Shares != nil {
		t.Errorf("zero limits set %+v", unlimited)
	}
}

func TestCapabilities(t *testing.T) {
	cases := []struct {
		name             string
		allow, add, drop []string
		want             string
		wantErr          string
	}{
		{name: "defaults", want: strings.Join(DefaultCapabilities, ",")},
		{name: "drop one", drop: []string{"CAP_KILL"},
			want: "audit_write,chown,dac_override,fowner,fsetid,mknod,net_bind_service,setfcap,setgid,setpcap,setuid,sys_chroot"},
		{name: "drop all add one", drop: []string{"all"}, add: []string{"Chown"}, want: "chown"},
		{name: "add not allowed", add: []string{"net_raw"}, wantErr: `"net_raw" is not in the plugin's allow_caps`},
		{name: "add allowed", allow: []string{"chown", "net_raw"}, add: []string{"net_raw"}, want: "chown,net_raw"},
		{name: "add all of allow_caps", allow: []string{"kill", "sys_time"}, add: []string{"all"}, want: "kill,sys_time"},
		{name: "unknown name", drop: []string{"cap_flying"}, wantErr: `unknown capability "cap_flying"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Capabilities(tc.allow, tc.add, tc.drop)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || strings.Join(got, ",") != tc.want {
				t.Fatalf("Capabilities = %v, %v; want %s", got, err, tc.want)
			}
		})
	}
}
