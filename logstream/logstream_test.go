package logstream

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestFollowersGetTheirLevel(t *testing.T) {
	var agentLog bytes.Buffer
	h := New(slog.NewTextHandler(&agentLog, &slog.HandlerOptions{Level: slog.LevelInfo}))
	logger := slog.New(h).With("component", "server")
	debug := h.Follow(slog.LevelDebug, false)
	warn := h.Follow(slog.LevelWarn, true)
	logger.Debug("looking", "job", "web app")
	logger.Warn("careful")
	debug.Stop()
	logger.Error("after stop")

	cases := []struct {
		name string
		f    *Follower
		want []string
	}{
		{name: "debug follower", f: debug, want: []string{`[DEBUG] looking: component=server job="web app"`, "[WARN]  careful: component=server"}},
		{name: "warn follower as JSON", f: warn, want: []string{`"@level":"warn","@message":"careful"`, `"@message":"after stop"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for len(tc.f.Lines()) > 0 {
				got = append(got, string(<-tc.f.Lines()))
			}
			if len(got) != len(tc.want) {
				t.Fatalf("lines %q, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("line %q lacks %q", got[i], w)
				}
			}
		})
	}
	if strings.Contains(agentLog.String(), "looking") {
		t.Error("the agent's own log took a debug line below its level")
	}
	if !strings.Contains(agentLog.String(), "careful") {
		t.Error("the agent's own log lost a line")
	}
}
