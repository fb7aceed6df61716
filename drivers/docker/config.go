package docker

import (
	"fmt"
	"strings"
	"time"
)

// taskSchema is the docker driver's task `config` block.
var taskSchema = schema{
	"image":              {kind: kindString},
	"force_pull":         {kind: kindBool},
	"image_pull_timeout": {kind: kindDuration},
	"load":               {kind: kindString},
	"auth": {kind: kindBlock, block: schema{
		"username":       {kind: kindString},
		"password":       {kind: kindString},
		"email":          {kind: kindString},
		"server_address": {kind: kindString},
	}},
	"command":            {kind: kindString},
	"args":               {kind: kindStringList},
	"entrypoint":         {kind: kindStringList},
	"ports":              {kind: kindStringList},
	"network_mode":       {kind: kindString},
	"labels":             {kind: kindStringMap},
	"volumes":            {kind: kindStringList},
	"mount":              {kind: kindBlockList, block: mountSchema},
	"work_dir":           {kind: kindString},
	"hostname":           {kind: kindString},
	"privileged":         {kind: kindBool},
	"cap_add":            {kind: kindStringList},
	"cap_drop":           {kind: kindStringList},
	"dns_servers":        {kind: kindStringList},
	"dns_search_domains": {kind: kindStringList},
	"dns_options":        {kind: kindStringList},
	"extra_hosts":        {kind: kindStringList},
	"tty":                {kind: kindBool},
	"interactive":        {kind: kindBool},
	"init":               {kind: kindBool},
	"readonly_rootfs":    {kind: kindBool},
	"security_opt":       {kind: kindStringList},
	"sysctl":             {kind: kindStringMap},
	"ulimit":             {kind: kindStringMap},
	"pids_limit":         {kind: kindInt},
	"shm_size":           {kind: kindInt},
	"ipc_mode":           {kind: kindString},
	"pid_mode":           {kind: kindString},
	"uts_mode":           {kind: kindString},
	"memory_hard_limit":  {kind: kindInt},

	"advertise_ipv6_address":    {kind: kindBool},
	"auth_soft_fail":            {kind: kindBool},
	"cgroupns":                  {kind: kindString},
	"container_exists_attempts": {kind: kindInt},
	"cpu_hard_limit":            {kind: kindBool},
	"cpu_cfs_period":            {kind: kindInt},
	"cpuset_cpus":               {kind: kindString},
	"devices": {kind: kindBlockList, block: schema{
		"host_path":          {kind: kindString},
		"container_path":     {kind: kindString},
		"cgroup_permissions": {kind: kindString},
	}},
	"group_add": {kind: kindStringList},
	"healthchecks": {kind: kindBlock, block: schema{
		"disable": {kind: kindBool},
	}},
	"ipv4_address": {kind: kindString},
	"ipv6_address": {kind: kindString},
	"isolation":    {kind: kindString},
	"logging": {kind: kindBlock, block: schema{
		"type":   {kind: kindString},
		"driver": {kind: kindString},
		"config": {kind: kindStringMap},
	}},
	"mac_address":     {kind: kindString},
	"network_aliases": {kind: kindStringList},
	"oom_score_adj":   {kind: kindInt},
	"port_map":        {kind: kindStringMap},
	"runtime":         {kind: kindString},
	"storage_opt":     {kind: kindStringMap},
	"userns_mode":     {kind: kindString},
	"volume_driver":   {kind: kindString},
}

// mountSchema is one `mount` block of a task's config.
var mountSchema = schema{
	"type":     {kind: kindString},
	"target":   {kind: kindString},
	"source":   {kind: kindString},
	"readonly": {kind: kindBool},
	"bind_options": {kind: kindBlock, block: schema{
		"propagation": {kind: kindString},
	}},
	"volume_options": {kind: kindBlock, block: schema{
		"no_copy": {kind: kindBool},
		"labels":  {kind: kindStringMap},
		"driver_config": {kind: kindBlock, block: schema{
			"name":    {kind: kindString},
			"options": {kind: kindStringMap},
		}},
	}},
	"tmpfs_options": {kind: kindBlock, block: schema{
		"size": {kind: kindInt},
		"mode": {kind: kindInt},
	}},
}

// TaskConfig is a task's decoded docker `config` block.
type TaskConfig struct {
	Image            string            `json:"image"`
	ForcePull        bool              `json:"force_pull"`
	ImagePullTimeout time.Duration     `json:"image_pull_timeout"`
	Load             string            `json:"load"`
	Auth             *AuthConfig       `json:"auth"`
	Command          string            `json:"command"`
	Args             []string          `json:"args"`
	Entrypoint       []string          `json:"entrypoint"`
	Ports            []string          `json:"ports"`
	NetworkMode      string            `json:"network_mode"`
	Labels           map[string]string `json:"labels"`
	Volumes          []string          `json:"volumes"`
	Mounts           []MountConfig     `json:"mount"`
	WorkDir          string            `json:"work_dir"`
	Hostname         string            `json:"hostname"`
	Privileged       bool              `json:"privileged"`
	CapAdd           []string          `json:"cap_add"`
	CapDrop          []string          `json:"cap_drop"`
	DNSServers       []string          `json:"dns_servers"`
	DNSSearchDomains []string          `json:"dns_search_domains"`
	DNSOptions       []string          `json:"dns_options"`
	ExtraHosts       []string          `json:"extra_hosts"`
	TTY              bool              `json:"tty"`
	Interactive      bool              `json:"interactive"`
	Init             bool              `json:"init"`
	ReadonlyRootfs   bool              `json:"readonly_rootfs"`
	SecurityOpt      []string          `json:"security_opt"`
	Sysctl           map[string]string `json:"sysctl"`
	Ulimit           map[string]string `json:"ulimit"`
	PidsLimit        int64             `json:"pids_limit"`
	ShmSize          int64             `json:"shm_size"`
	IPCMode          string            `json:"ipc_mode"`
	PidMode          string            `json:"pid_mode"`
	UTSMode          string            `json:"uts_mode"`
	MemoryHardLimit  int64             `json:"memory_hard_limit"`

	AdvertiseIPv6Address    bool           `json:"advertise_ipv6_address"`
	AuthSoftFail            bool           `json:"auth_soft_fail"`
	CgroupNS                string         `json:"cgroupns"`
	ContainerExistsAttempts int64          `json:"container_exists_attempts"`
	CPUHardLimit            bool           `json:"cpu_hard_limit"`
	CPUCFSPeriod            int64          `json:"cpu_cfs_period"`
	CPUSetCPUs              string         `json:"cpuset_cpus"`
	Devices                 []DeviceConfig `json:"devices"`
	GroupAdd                []string       `json:"group_add"`
	Healthchecks            struct {
		Disable bool `json:"disable"`
	} `json:"healthchecks"`
	IPv4Address    string            `json:"ipv4_address"`
	IPv6Address    string            `json:"ipv6_address"`
	Isolation      string            `json:"isolation"`
	Logging        LoggingConfig     `json:"logging"`
	MacAddress     string            `json:"mac_address"`
	NetworkAliases []string          `json:"network_aliases"`
	OOMScoreAdj    int64             `json:"oom_score_adj"`
	PortMap        map[string]string `json:"port_map"`
	Runtime        string            `json:"runtime"`
	StorageOpt     map[string]string `json:"storage_opt"`
	UsernsMode     string            `json:"userns_mode"`
	VolumeDriver   string            `json:"volume_driver"`
}

// DeviceConfig is one `devices` entry: a host device exposed in the
// container.
type DeviceConfig struct {
	HostPath          string `json:"host_path"`
	ContainerPath     string `json:"container_path"`
	CgroupPermissions string `json:"cgroup_permissions"`
}

// LoggingConfig is the `logging` block: the engine's log driver for the
// container (`driver` is the older spelling of `type`).
type LoggingConfig struct {
	Type   string            `json:"type"`
	Driver string            `json:"driver"`
	Config map[string]string `json:"config"`
}

// AuthConfig is a task's registry credentials.
type AuthConfig struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Email         string `json:"email"`
	ServerAddress string `json:"server_address"`
}

// MountConfig is one `mount` block: a bind mount, a named volume or a tmpfs.
type MountConfig struct {
	Type        string `json:"type"`
	Target      string `json:"target"`
	Source      string `json:"source"`
	Readonly    bool   `json:"readonly"`
	BindOptions struct {
		Propagation string `json:"propagation"`
	} `json:"bind_options"`
	VolumeOptions struct {
		NoCopy       bool              `json:"no_copy"`
		Labels       map[string]string `json:"labels"`
		DriverConfig struct {
			Name    string            `json:"name"`
			Options map[string]string `json:"options"`
		} `json:"driver_config"`
	} `json:"volume_options"`
	TmpfsOptions struct {
		Size int64 `json:"size"`
		Mode int64 `json:"mode"`
	} `json:"tmpfs_options"`
}

// Defaults of task config keys, as Nomad's.
const (
	// defaultImagePullTimeout bounds a pull when the task sets no timeout.
	defaultImagePullTimeout = 5 * time.Minute
	// defaultCPUCFSPeriod is the CFS period (µs) used with cpu_hard_limit.
	defaultCPUCFSPeriod = 100000
	// defaultContainerExistsAttempts is how often a leftover container of
	// the task's name is removed before creating the task's container.
	defaultContainerExistsAttempts = 5
)

// parseTaskConfig decodes and checks a task's config block.
func parseTaskConfig(raw map[string]any) (*TaskConfig, error) {
	cfg := &TaskConfig{
		ImagePullTimeout:        defaultImagePullTimeout,
		CPUCFSPeriod:            defaultCPUCFSPeriod,
		ContainerExistsAttempts: defaultContainerExistsAttempts,
	}
	if err := taskSchema.decode(raw, cfg); err != nil {
		return nil, fmt.Errorf("docker config: %w", err)
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("docker config: %w", err)
	}
	return cfg, nil
}

func (c *TaskConfig) validate() error {
	if strings.TrimSpace(c.Image) == "" {
		return fmt.Errorf(`key "image" is required`)
	}
	for i, m := range c.Mounts {
		if err := m.validate(); err != nil {
			return fmt.Errorf("mount[%d]: %w", i, err)
		}
	}
	for _, v := range c.Volumes {
		if _, _, _, err := splitVolume(v); err != nil {
			return err
		}
	}
	if err := c.validateExtras(); err != nil {
		return err
	}
	for name, v := range c.Ulimit {
		if _, _, err := parseUlimit(v); err != nil {
			return fmt.Errorf("ulimit %q: %w", name, err)
		}
	}
	return nil
}

func (m *MountConfig) validate() error {
	if m.Target == "" {
		return fmt.Errorf(`key "target" is required`)
	}
	switch m.Type {
	case "", "volume", "bind":
		if m.Type == "bind" && m.Source == "" {
			return fmt.Errorf(`a bind mount needs a "source"`)
		}
	case "tmpfs":
		if m.Source != "" {
			return fmt.Errorf(`a tmpfs mount takes no "source"`)
		}
	default:
		return fmt.Errorf(`key "type": %q is not one of bind, volume, tmpfs`, m.Type)
	}
	return nil
}

// splitVolume parses a `volumes` entry "host:container[:mode]".
func splitVolume(v string) (host, target, mode string, err error) {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return "", "", "", fmt.Errorf("volume %q: want host_path:container_path[:mode]", v)
	}
	if len(parts) == 3 {
		mode = parts[2]
	}
	return parts[0], parts[1], mode, nil
}

// parseUlimit parses "soft" or "soft:hard".
func parseUlimit(v string) (soft, hard int64, err error) {
	softStr, hardStr, found := strings.Cut(v, ":")
	if _, err := fmt.Sscan(softStr, &soft); err != nil {
		return 0, 0, fmt.Errorf("%q: want soft[:hard] integers", v)
	}
	hard = soft
	if found {
		if _, err := fmt.Sscan(hardStr, &hard); err != nil {
			return 0, 0, fmt.Errorf("%q: want soft[:hard] integers", v)
		}
	}
	return soft, hard, nil
}
