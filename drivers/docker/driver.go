// Package docker is the "docker" task driver: it runs each task as a
// container through the Docker engine's API, streams the container's output
// into the alloc's rotated log files, re-attaches to containers after a
// client restart and removes containers that no task owns.
package docker

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/docker/docker/client"

	"github.com/roam-project/roam/drivers"
)

// driverName is the name jobs use in `driver = "docker"`.
const driverName = "docker"

// PluginConfig is the agent's `plugin "docker" { config {} }` block.
type PluginConfig struct {
	// Endpoint is the engine's address; empty uses DOCKER_HOST or the
	// default socket.
	Endpoint        string   `json:"endpoint"`
	AllowPrivileged bool     `json:"allow_privileged"`
	AllowCaps       []string `json:"allow_caps"`
	// AllowRuntimes are the OCI runtimes a task's `runtime` may name.
	AllowRuntimes []string `json:"allow_runtimes"`
	Volumes       struct {
		Enabled      bool   `json:"enabled"`
		SELinuxLabel string `json:"selinuxlabel"`
	} `json:"volumes"`
	GC                   GCConfig `json:"gc"`
	DisableLogCollection bool     `json:"disable_log_collection"`
}

// GCConfig says what the driver removes once tasks are done with it.
type GCConfig struct {
	Image              bool          `json:"image"`
	ImageDelay         time.Duration `json:"image_delay"`
	Container          bool          `json:"container"`
	DanglingContainers struct {
		Enabled       bool          `json:"enabled"`
		DryRun        bool          `json:"dry_run"`
		Period        time.Duration `json:"period"`
		CreationGrace time.Duration `json:"creation_grace"`
	} `json:"dangling_containers"`
}

var pluginSchema = schema{
	"endpoint":         {kind: kindString},
	"allow_privileged": {kind: kindBool},
	"allow_caps":       {kind: kindStringList},
	"allow_runtimes":   {kind: kindStringList},
	"volumes": {kind: kindBlock, block: schema{
		"enabled":      {kind: kindBool},
		"selinuxlabel": {kind: kindString},
	}},
	"gc": {kind: kindBlock, block: schema{
		"image":       {kind: kindBool},
		"image_delay": {kind: kindDuration},
		"container":   {kind: kindBool},
		"dangling_containers": {kind: kindBlock, block: schema{
			"enabled":        {kind: kindBool},
			"dry_run":        {kind: kindBool},
			"period":         {kind: kindDuration},
			"creation_grace": {kind: kindDuration},
		}},
	}},
	"disable_log_collection": {kind: kindBool},
}

// defaultPluginConfig is Nomad's default docker plugin configuration.
func defaultPluginConfig() PluginConfig {
	var c PluginConfig
	c.AllowCaps = append([]string(nil), defaultAllowCaps...)
	c.AllowRuntimes = []string{"runc", "nvidia"}
	c.GC.Image = true
	c.GC.ImageDelay = 3 * time.Minute
	c.GC.Container = true
	c.GC.DanglingContainers.Enabled = true
	c.GC.DanglingContainers.Period = 5 * time.Minute
	c.GC.DanglingContainers.CreationGrace = 5 * time.Minute
	return c
}

// Driver is the docker task driver. Create it with New.
type Driver struct {
	logger *slog.Logger

	mu     sync.RWMutex
	cfg    PluginConfig
	docker *client.Client
	tasks  map[string]*taskHandle

	images *imageGC

	ctx            context.Context
	cancel         context.CancelFunc
	reconcilerOnce sync.Once
}

var _ drivers.Driver = (*Driver)(nil)

// New returns a docker driver with Nomad's default plugin configuration;
// a nil logger uses slog's default.
func New(logger *slog.Logger) *Driver {
	if logger == nil {
		logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Driver{
		logger: logger.With("driver", driverName),
		cfg:    defaultPluginConfig(),
		tasks:  map[string]*taskHandle{},
		ctx:    ctx,
		cancel: cancel,
	}
	d.images = newImageGC(d)
	return d
}

// Name returns "docker".
func (d *Driver) Name() string { return driverName }

// SetConfig applies the agent's plugin block over Nomad's defaults.
func (d *Driver) SetConfig(config map[string]any) error {
	cfg := defaultPluginConfig()
	if err := pluginSchema.decode(config, &cfg); err != nil {
		return fmt.Errorf("docker plugin config: %w", err)
	}
	if err := checkCapNames(cfg.AllowCaps); err != nil {
		return fmt.Errorf("docker plugin config: allow_caps: %w", err)
	}
	if cfg.GC.DanglingContainers.Period <= 0 {
		return fmt.Errorf(`docker plugin config: gc.dangling_containers.period must be positive`)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if cfg.Endpoint != d.cfg.Endpoint && d.docker != nil {
		d.docker.Close()
		d.docker = nil
	}
	d.cfg = cfg
	return nil
}

// ValidateConfig checks a task's config block against the driver's schema.
func (d *Driver) ValidateConfig(config map[string]any) error {
	_, err := parseTaskConfig(config)
	return err
}

// Shutdown stops the driver's background work (the dangling container
// reconciler, pending image removals and log streaming) and forgets its
// tasks. Containers keep running, so a later client can recover them.
func (d *Driver) Shutdown() {
	d.cancel()
	d.mu.Lock()
	handles := make([]*taskHandle, 0, len(d.tasks))
	for _, h := range d.tasks {
		handles = append(handles, h)
	}
	d.tasks = map[string]*taskHandle{}
	d.mu.Unlock()
	for _, h := range handles {
		h.stopLogs(0)
	}
}

func (d *Driver) config() PluginConfig {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.cfg
}

// client returns the engine client, connecting on first use.
func (d *Driver) client() (*client.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.docker != nil {
		return d.docker, nil
	}
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if d.cfg.Endpoint != "" {
		opts = append(opts, client.WithHost(d.cfg.Endpoint))
	}
	c, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	d.docker = c
	return c, nil
}

func (d *Driver) handle(taskID string) (*taskHandle, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	h, ok := d.tasks[taskID]
	if !ok {
		return nil, fmt.Errorf("docker task %q: %w", taskID, drivers.ErrTaskNotFound)
	}
	return h, nil
}

func (d *Driver) putHandle(h *taskHandle) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tasks[h.taskID] = h
}

func (d *Driver) removeHandle(taskID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.tasks, taskID)
}

// ownsContainer reports whether a known task runs in container id.
func (d *Driver) ownsContainer(id string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, h := range d.tasks {
		if h.containerID == id {
			return true
		}
	}
	return false
}
