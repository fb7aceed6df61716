package template

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/server"
	"github.com/roam-project/roam/structs"
)

// BenchmarkVarPutTo100Templates measures, on a real in-memory server, the
// time from a variable write to 100 templates (each a task's, with its own
// watch) having re-rendered their file on disk, and the heap each watching
// template holds (B/template).
func BenchmarkVarPutTo100Templates(b *testing.B) {
	const watchers = 100
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := server.New(server.Config{NodeName: "bench.global", Region: "global", Datacenter: "dc1", NumSchedulers: 1, Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Shutdown()
	for deadline := time.Now().Add(15 * time.Second); !s.IsLeader(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("no leadership")
		}
	}
	put := func(v string) {
		if _, err := s.ApplyVar(&structs.VarApplyArgs{Op: structs.VarOpSet, Var: &api.Variable{Path: "app/db", Items: map[string]string{"password": v}}}); err != nil {
			b.Fatal(err)
		}
	}
	put("0")

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	managers := make([]*Manager, watchers)
	for i := range managers {
		alloc := b.TempDir()
		task := filepath.Join(alloc, "task")
		if err := os.MkdirAll(task, 0o755); err != nil {
			b.Fatal(err)
		}
		m, err := NewManager(Config{
			Templates: []*api.Template{{EmbeddedTmpl: ptr(`password={{ with nomadVar "app/db" }}{{ .password }}{{ end }}`), DestPath: ptr("local/app.conf")}},
			Renderer:  &Renderer{Env: map[string]string{}, TaskDir: task, AllocDir: alloc},
			Source:    s, Namespace: "default", Region: "global", Logger: logger,
		})
		if err != nil {
			b.Fatal(err)
		}
		defer m.Stop()
		if _, err := m.WaitFirst(context.Background(), nil); err != nil {
			b.Fatal(err)
		}
		managers[i] = m
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	perTemplate := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / watchers

	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		want := "password=" + strconv.Itoa(i)
		put(strconv.Itoa(i))
		for _, m := range managers {
			for c := range m.Changes() {
				if string(c.Result.Content) == want {
					break
				}
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(perTemplate, "B/template")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/put-to-100-files")
	if got, err := os.ReadFile(filepath.Join(managers[0].runners[0].p.dest)); err != nil || string(got) != fmt.Sprintf("password=%d", b.N) {
		b.Fatalf("file = %q, %v", got, err)
	}
}
