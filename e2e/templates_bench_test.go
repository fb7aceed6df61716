package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// BenchmarkVarPutTo100Tasks measures, on a dev agent, the time from `roam
// var put` returning to the files of 100 running tasks whose template reads
// the variable all holding the new value on disk.
func BenchmarkVarPutTo100Tasks(b *testing.B) {
	const tasks = 100
	allocRoot, err := os.MkdirTemp("", "tb")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(allocRoot) })
	a := startDevAgent(b, "client {\n  alloc_dir = \""+allocRoot+"\"\n}\n")
	put := func(v string) {
		cmd := exec.Command(roamBin, "var", "put", "-force", "nomad/jobs/watchers", "v="+v)
		cmd.Env = append(os.Environ(), "NOMAD_ADDR="+a.addr)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("var put: %v\n%s", err, out)
		}
	}
	put("0")
	job := shellJob("watchers", "service", tasks, "exec sleep 3600")
	task := job.TaskGroups[0].Tasks[0]
	task.Resources = &api.Resources{CPU: ptr(10), MemoryMB: ptr(10)}
	task.Templates = []*api.Template{{EmbeddedTmpl: ptr(`{{ with nomadVar "nomad/jobs/watchers" }}{{ .v }}{{ end }}`),
		DestPath: ptr("local/v"), ChangeMode: ptr("noop")}}
	if _, _, err := a.client.Jobs().Register(job, nil); err != nil {
		b.Fatal(err)
	}
	var files []string
	waitUntil(b, 5*time.Minute, "100 running tasks", func() bool {
		allocs := a.allocsOf(b, "watchers")
		if countStatus(allocs, "running") != tasks {
			return false
		}
		files = files[:0]
		for _, al := range allocs {
			files = append(files, filepath.Join(allocRoot, al.ID, "main", "local", "v"))
		}
		return true
	})
	b.ResetTimer()
	var putTime, firstFile time.Duration
	for i := 1; i <= b.N; i++ {
		want := []byte(strconv.Itoa(i))
		start := time.Now()
		put(string(want))
		putTime += time.Since(start)
		for n, f := range files {
			for {
				if got, _ := os.ReadFile(f); bytes.Equal(got, want) {
					if n == 0 {
						firstFile += time.Since(start)
					}
					break
				}
				if time.Since(start) > time.Minute {
					b.Fatalf("%s never got %q", f, want)
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/put-to-100-files")
	b.ReportMetric(float64(putTime.Milliseconds())/float64(b.N), "ms/var-put-command")
	b.ReportMetric(float64(firstFile.Milliseconds())/float64(b.N), "ms/put-to-first-file")
}
