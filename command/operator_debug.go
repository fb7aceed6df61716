package command

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/nomad/api"
)

// operatorDebugVerb collects what a support case needs into an archive.
var operatorDebugVerb = &verb{
	name:     "operator debug",
	synopsis: "Build a debug archive",
	help: `
Usage: roam operator debug [options]

  Builds an archive of the cluster's state for debugging: the agent's
  configuration and members, the nodes, node pools, jobs, allocations,
  evaluations and deployments, the scheduler configuration, and the agent's
  metrics and pprof profiles, taken every -interval for -duration.

General Options:
` + generalOptionsHelp + `

Debug Options:

  -duration=<duration>
    How long to capture metrics and profiles for. Defaults to 2m.

  -interval=<interval>
    How often to capture them within -duration. Defaults to 30s.

  -pprof-duration=<duration>
    How long each CPU profile samples. Defaults to 1s.

  -output=<dir>
    The directory the archive is written to. Defaults to the current one.
`,
	run: (*cli).operatorDebug,
}

// debugCluster are the cluster-wide API reads of a debug archive, by file.
var debugCluster = []struct{ file, path string }{
	{"agent-self.json", "/v1/agent/self"},
	{"members.json", "/v1/agent/members"},
	{"nodes.json", "/v1/nodes"},
	{"node-pools.json", "/v1/node/pools"},
	{"namespaces.json", "/v1/namespaces"},
	{"jobs.json", "/v1/jobs?namespace=*"},
	{"allocations.json", "/v1/allocations?namespace=*"},
	{"evaluations.json", "/v1/evaluations?namespace=*"},
	{"deployments.json", "/v1/deployments?namespace=*"},
	{"scheduler-config.json", "/v1/operator/scheduler/configuration"},
	{"raft-configuration.json", "/v1/operator/raft/configuration"},
	{"autopilot-health.json", "/v1/operator/autopilot/health"},
}

// operatorDebug implements `operator debug`.
func (c *cli) operatorDebug(v *verb, args []string) int {
	fs := c.flagSet(v)
	duration := fs.Duration("duration", 2*time.Minute, "")
	interval := fs.Duration("interval", 30*time.Second, "")
	pprofDuration := fs.Duration("pprof-duration", time.Second, "")
	output := fs.String("output", "", "")
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	if *interval <= 0 || *interval > *duration {
		*interval = *duration
	}
	name := "nomad-debug-" + time.Now().UTC().Format("2006-01-02-150405Z")
	path := filepath.Join(*output, name+".tar.gz")
	c.outf("Starting debugger...\n\n          Interval: %s\n          Duration: %s\n   pprof Duration: %s\n", *interval, *duration, *pprofDuration)
	arch, err := newDebugArchive(path, name)
	if err != nil {
		c.errorf("Error creating debug archive: %s", err)
		return 1
	}
	for _, f := range debugCluster {
		arch.addJSON(client, "cluster/"+f.file, f.path)
	}
	deadline := time.Now().Add(*duration)
	for i := 0; ; i++ {
		dir := fmt.Sprintf("interval/%04d/", i)
		arch.addJSON(client, dir+"metrics.json", "/v1/metrics")
		arch.addProfiles(client, dir, *pprofDuration)
		c.outf("    Capture interval %04d", i)
		if !time.Now().Add(*interval).Before(deadline.Add(time.Millisecond)) {
			break
		}
		time.Sleep(*interval)
	}
	if err := arch.close(); err != nil {
		c.errorf("Error writing debug archive: %s", err)
		return 1
	}
	for _, e := range arch.errors {
		c.errorf("Warning: %s", e)
	}
	c.outf("\nCreated debug archive: %s", path)
	return 0
}

// debugArchive is a gzipped tar being written.
type debugArchive struct {
	file   *os.File
	gz     *gzip.Writer
	tw     *tar.Writer
	root   string
	errors []string
}

func newDebugArchive(path, root string) (*debugArchive, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	gz := gzip.NewWriter(f)
	return &debugArchive{file: f, gz: gz, tw: tar.NewWriter(gz), root: root}, nil
}

// add writes one file into the archive.
func (a *debugArchive) add(name string, data []byte) {
	hdr := &tar.Header{Name: a.root + "/" + name, Mode: 0o600, Size: int64(len(data)), ModTime: time.Now()}
	if err := a.tw.WriteHeader(hdr); err != nil {
		a.errors = append(a.errors, err.Error())
		return
	}
	if _, err := a.tw.Write(data); err != nil {
		a.errors = append(a.errors, err.Error())
	}
}

// addJSON stores an API read, indented; a failed read is noted and
// skipped, so that one refused endpoint does not cost the archive.
func (a *debugArchive) addJSON(client *api.Client, name, path string) {
	var out any
	if _, err := client.Raw().Query(path, &out, nil); err != nil {
		a.errors = append(a.errors, fmt.Sprintf("%s: %v", path, err))
		return
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		a.errors = append(a.errors, fmt.Sprintf("%s: %v", path, err))
		return
	}
	a.add(name, data)
}

// addProfiles stores the agent's CPU profile, heap and goroutines.
func (a *debugArchive) addProfiles(client *api.Client, dir string, cpu time.Duration) {
	agent := client.Agent()
	profiles := []struct {
		file  string
		fetch func() ([]byte, error)
	}{
		{"profile.prof", func() ([]byte, error) {
			return agent.CPUProfile(api.PprofOptions{Seconds: max(int(cpu.Seconds()), 1)}, nil)
		}},
		{"heap.prof", func() ([]byte, error) { return agent.Lookup("heap", api.PprofOptions{}, nil) }},
		{"goroutine-debug2.txt", func() ([]byte, error) { return agent.Lookup("goroutine", api.PprofOptions{Debug: 2}, nil) }},
	}
	for _, p := range profiles {
		data, err := p.fetch()
		if err != nil {
			a.errors = append(a.errors, fmt.Sprintf("pprof %s: %v", p.file, err))
			continue
		}
		a.add(dir+p.file, data)
	}
}

func (a *debugArchive) close() error {
	if err := a.tw.Close(); err != nil {
		return err
	}
	if err := a.gz.Close(); err != nil {
		return err
	}
	return a.file.Close()
}
