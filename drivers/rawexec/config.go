package rawexec

import (
	"errors"
	"fmt"
	"sort"
)

// pluginConfig is the agent's `plugin "raw_exec" { config { ... } }` block.
type pluginConfig struct {
	Enabled bool
}

// taskConfig is a task's `config` block for raw_exec.
type taskConfig struct {
	Command string
	Args    []string
	WorkDir string
}

// taskKeys are the keys Nomad's raw_exec accepts; the cgroup and uid/gid
// keys are accepted for compatibility and have no effect here.
var taskKeys = map[string]bool{
	"command": true, "args": true, "work_dir": true,
	"cgroup_v1_override": true, "cgroup_v2_override": true, "oom_score_adj": true,
	"denied_host_uids": true, "denied_host_gids": true,
}

var pluginKeys = map[string]bool{
	"enabled": true, "no_cgroups": true, "denied_host_uids": true, "denied_host_gids": true,
}

func parsePluginConfig(raw map[string]any) (pluginConfig, error) {
	var cfg pluginConfig
	if err := checkKeys("plugin config", raw, pluginKeys); err != nil {
		return cfg, err
	}
	if v, ok := raw["enabled"]; ok {
		b, ok := v.(bool)
		if !ok {
			return cfg, fmt.Errorf("raw_exec plugin config: \"enabled\" must be a bool, got %T", v)
		}
		cfg.Enabled = b
	}
	return cfg, nil
}

func parseTaskConfig(raw map[string]any) (taskConfig, error) {
	var cfg taskConfig
	if err := checkKeys("task config", raw, taskKeys); err != nil {
		return cfg, err
	}
	var err error
	if cfg.Command, err = stringKey(raw, "command"); err != nil {
		return cfg, err
	}
	if cfg.Command == "" {
		return cfg, errors.New("raw_exec task config: missing required key \"command\"")
	}
	if cfg.WorkDir, err = stringKey(raw, "work_dir"); err != nil {
		return cfg, err
	}
	cfg.Args, err = stringList(raw, "args")
	return cfg, err
}

func checkKeys(what string, raw map[string]any, known map[string]bool) error {
	var unknown []string
	for k := range raw {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return fmt.Errorf("raw_exec %s: unknown key %q", what, unknown[0])
}

func stringKey(raw map[string]any, key string) (string, error) {
	v, ok := raw[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("raw_exec task config: %q must be a string, got %T", key, v)
	}
	return s, nil
}

func stringList(raw map[string]any, key string) ([]string, error) {
	switch v := raw[key].(type) {
	case nil:
		return nil, nil
	case []string:
		return v, nil
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("raw_exec task config: %s[%d] must be a string, got %T", key, i, e)
			}
			out[i] = s
		}
		return out, nil
	default:
		return nil, fmt.Errorf("raw_exec task config: %q must be a list of strings, got %T", key, v)
	}
}
