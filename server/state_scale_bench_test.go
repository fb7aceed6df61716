package server

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/hashicorp/raft"

	"github.com/roam-project/roam/internal/codec/codectest"
	"github.com/roam-project/roam/internal/gctune"
	"github.com/roam-project/roam/structs"
)

// The size of BenchmarkStateScale's state, C1M's by default.
var (
	scaleAllocs  = flag.Int("scale.allocs", 1_000_000, "BenchmarkStateScale: allocations to load")
	scaleJobs    = flag.Int("scale.jobs", 1000, "BenchmarkStateScale: jobs the allocations belong to")
	scaleNodes   = flag.Int("scale.nodes", 5000, "BenchmarkStateScale: nodes the allocations are placed on")
	scaleEvents  = flag.Bool("scale.taskevents", true, "BenchmarkStateScale: clients report their tasks' events (as real clients do), not only their states (as internal/nodesim does)")
	scaleHeapOut = flag.String("scale.heapprofile", "", "BenchmarkStateScale: write a heap profile of the loaded state to this file")
)

// BenchmarkStateScale loads a scale run's state into a server's state
// store through the FSM apply path (each Raft entry encoded as the leader
// does and applied as every server does): -scale.nodes nodes registered,
// -scale.jobs jobs, and -scale.allocs allocations placed by plans of 100
// and reported running by their clients in updates of 100 (with their
// tasks' events unless -scale.taskevents=false). It reports the
// apply time per allocation, the live heap they add (heap-bytes/alloc),
// the process's RSS and the collector's share of the CPU under the
// server's memory limit (internal/gctune), and then the time to write a Raft snapshot of the
// state and to restore a fresh FSM from it, as a restarted server does.
// Run it with -benchtime 1x; -scale.allocs 100000 for a quick look.
func BenchmarkStateScale(b *testing.B) {
	for i := 0; i < b.N; i++ {
		stateScale(b, *scaleNodes, *scaleJobs, *scaleAllocs)
	}
}

func stateScale(b *testing.B, nodes, jobs, allocs int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go gctune.Run(ctx, gctune.Budget(), time.Second)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	f, err := newFSM(logger, noHooks{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	index := uint64(1)
	apply := func(t structs.MessageType, req any) {
		data, err := encodeMessage(t, req)
		if err != nil {
			b.Fatal(err)
		}
		index++
		if resp := f.Apply(&raft.Log{Index: index, Data: data}); resp != nil {
			if err, ok := resp.(error); ok {
				b.Fatalf("apply entry %d: %v", index, err)
			}
		}
	}
	rng := rand.New(rand.NewPCG(14, 1))
	nodeIDs := make([]string, nodes)
	for i := range nodeIDs {
		nodeIDs[i] = scaleUUID(rng)
		node := testNode(nodeIDs[i], 1<<30)
		node.Name = fmt.Sprintf("node-%05d", i)
		node.NodeResources.Cpu.CpuShares = 1 << 30
		node.NodeResources.Disk.DiskMB = 1 << 30
		apply(structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: node, Time: 1})
	}
	before := liveHeap()
	start, cpu, gc := time.Now(), cpuTime(), gcCPUTime()
	const perEntry = 100
	placed := 0
	for j := 0; j < jobs; j++ {
		count := allocs/jobs + btoi(j < allocs%jobs)
		job := codectest.SampleJob(fmt.Sprintf("job-%05d", j), count)
		eval := &api.Evaluation{ID: scaleUUID(rng), Namespace: "default", JobID: *job.ID, Type: "service",
			TriggeredBy: "job-register", Status: structs.EvalStatusPending, Priority: 50}
		apply(structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: job, Eval: eval, Time: 2})
		stored, err := f.State().Snapshot().JobByID("default", *job.ID)
		if err != nil || stored == nil {
			b.Fatalf("job %s not stored: %v", *job.ID, err)
		}
		for k := 0; k < count; k += perEntry {
			batch := codectest.SamplePlacements(stored, "x", min(perEntry, count-k))
			for n, a := range batch {
				a.ID = scaleUUID(rng)
				a.EvalID = eval.ID
				a.Name = fmt.Sprintf("%s.web[%d]", *job.ID, k+n)
				node := (placed + n) % nodes
				a.NodeID, a.NodeName = nodeIDs[node], fmt.Sprintf("node-%05d", node)
				a.Metrics.ScoreMetaData[0].NodeID = a.NodeID
				a.Job = nil
			}
			placed += len(batch)
			apply(structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Job: stored, EvalID: eval.ID, Allocs: batch, Time: 3})
			updates := codectest.SampleClientUpdates(batch)
			if !*scaleEvents {
				for _, u := range updates {
					for _, ts := range u.TaskStates {
						ts.Events = nil
					}
				}
			}
			apply(structs.AllocClientUpdateRequestType, &structs.AllocClientUpdateRequest{Allocs: updates, Time: 4})
		}
	}
	load, loadCPU, loadGC := time.Since(start), cpuTime()-cpu, gcCPUTime()-gc
	rss, peak := rssBytes("VmRSS:"), rssBytes("VmHWM:")
	after := liveHeap()
	if *scaleHeapOut != "" {
		writeHeapProfile(b, *scaleHeapOut)
	}
	got, err := f.State().Snapshot().Allocs("")
	if err != nil || len(got) != allocs {
		b.Fatalf("stored %d allocations (%v), want %d", len(got), err, allocs)
	}
	// A sample, in full, to compare with the restored store.
	sample := map[string]string{}
	for i := 0; i < len(got); i += max(1, len(got)/100) {
		sample[got[i].ID] = allocJSON(b, f, got[i].ID)
	}
	got = nil
	b.ReportMetric(float64(load.Microseconds())/float64(allocs), "apply-µs/alloc")
	b.ReportMetric(float64(loadCPU.Microseconds())/float64(allocs), "apply-cpu-µs/alloc")
	b.ReportMetric(loadGC.Seconds()/loadCPU.Seconds(), "apply-gc-share")
	b.ReportMetric(float64(after-before)/float64(allocs), "heap-bytes/alloc")
	b.ReportMetric(float64(after)/(1<<30), "heap-GiB")
	b.ReportMetric(float64(rss)/(1<<30), "rss-GiB")
	b.ReportMetric(float64(peak)/(1<<30), "rss-peak-GiB")

	path := filepath.Join(b.TempDir(), "state.snap")
	start = time.Now()
	if err := persistFSM(f, path); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(start).Seconds(), "persist-s")
	if st, err := os.Stat(path); err == nil {
		b.ReportMetric(float64(st.Size())/(1<<20), "snapshot-MiB")
	}
	// A restarted server restores into an empty process: drop this state
	// first.
	f = nil
	liveHeap()

	restored, err := newFSM(logger, noHooks{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	file, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	start, cpu = time.Now(), cpuTime()
	if err := restored.Restore(file); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(start).Seconds(), "restore-s")
	b.ReportMetric((cpuTime() - cpu).Seconds(), "restore-cpu-s")
	b.ReportMetric(float64(rssBytes("VmRSS:"))/(1<<30), "restore-rss-GiB")
	b.ReportMetric(float64(liveHeap())/(1<<30), "restore-heap-GiB")
	if got, err := restored.State().Snapshot().Allocs(""); err != nil || len(got) != allocs {
		b.Fatalf("restored %d allocations (%v), want %d", len(got), err, allocs)
	}
	for id, want := range sample {
		if got := allocJSON(b, restored, id); got != want {
			b.Fatalf("allocation %s restored as\n%s\nwant\n%s", id, got, want)
		}
	}
}

// allocJSON is the JSON of an allocation of f's store, in full, with its
// job's ID and version only: a restored allocation runs the stored job
// when it is that version, whose status may have moved on since.
func allocJSON(b *testing.B, f *fsm, id string) string {
	a, err := f.State().Snapshot().AllocByID(id)
	if err != nil || a == nil {
		b.Fatalf("allocation %s: %v", id, err)
	}
	c := *a
	if a.Job != nil {
		c.Job = &api.Job{ID: a.Job.ID, Version: a.Job.Version, JobModifyIndex: a.Job.JobModifyIndex}
	}
	data, err := json.Marshal(&c)
	if err != nil {
		b.Fatal(err)
	}
	return string(data)
}

// scaleUUID is a random (version 4) UUID, as the scheduler makes them.
func scaleUUID(rng *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// persistFSM writes a Raft snapshot of f's state to path, as Raft does.
func persistFSM(f *fsm, path string) error {
	snap, err := f.Snapshot()
	if err != nil {
		return err
	}
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	sink := &fileSink{File: file, w: bufio.NewWriterSize(file, 1<<20)}
	return snap.Persist(sink)
}

// fileSink is a raft.SnapshotSink writing to a file.
type fileSink struct {
	*os.File
	w *bufio.Writer
}

func (s *fileSink) Write(p []byte) (int, error) { return s.w.Write(p) }
func (s *fileSink) ID() string                  { return filepath.Base(s.Name()) }
func (s *fileSink) Cancel() error               { return s.File.Close() }
func (s *fileSink) Close() error {
	if err := s.w.Flush(); err != nil {
		_ = s.File.Close()
		return err
	}
	return s.File.Close()
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// gcCPUTime is the CPU time the garbage collector has taken from the
// program, as the runtime estimates it: its total less what it marked on
// otherwise idle processors.
func gcCPUTime() time.Duration {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/gc/mark/idle:cpu-seconds"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64 || s[1].Value.Kind() != metrics.KindFloat64 {
		return 0
	}
	return time.Duration((s[0].Value.Float64() - s[1].Value.Float64()) * float64(time.Second))
}

// rssBytes is the process's resident set size (field "VmRSS:") or its
// peak ("VmHWM:"), from /proc (Linux), or 0.
func rssBytes(field string) uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func writeHeapProfile(b *testing.B, path string) {
	out, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(out); err != nil {
		b.Fatal(err)
	}
}
