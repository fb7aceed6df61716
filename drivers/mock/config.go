package mock

import (
	"fmt"
	"sort"
	"time"
)

// taskConfig is a task's `config` block for mock_driver, with the keys of
// Nomad's test driver that shape a task's life and output.
type taskConfig struct {
	// StartError fails StartTask with this message.
	StartError string
	// StartBlockFor delays StartTask.
	StartBlockFor time.Duration
	// RunFor is how long the task runs before it exits; 0 exits once its
	// output is written.
	RunFor time.Duration
	// ExitCode, ExitSignal and ExitErrMsg are how the task ends by itself.
	ExitCode   int
	ExitSignal int
	ExitErrMsg string
	// KillAfter is how long the task takes to exit once told to stop.
	KillAfter time.Duration
	// SignalError fails SignalTask with this message.
	SignalError string
	// Stdout and Stderr are what the task writes to its log streams.
	Stdout, Stderr output
}

// output is a string written Repeat+1 times, RepeatDuration apart.
type output struct {
	String         string
	Repeat         int
	RepeatDuration time.Duration
}

func parseTaskConfig(raw map[string]any) (taskConfig, error) {
	var cfg taskConfig
	var unknown []string
	for k := range raw {
		if !taskKeys[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return cfg, fmt.Errorf("mock_driver task config: unknown key %q", unknown[0])
	}
	var err error
	str := func(key string, dst *string) {
		if err == nil {
			*dst, err = stringKey(raw, key)
		}
	}
	dur := func(key string, dst *time.Duration) {
		if err == nil {
			*dst, err = durationKey(raw, key)
		}
	}
	num := func(key string, dst *int) {
		if err == nil {
			*dst, err = intKey(raw, key)
		}
	}
	str("start_error", &cfg.StartError)
	dur("start_block_for", &cfg.StartBlockFor)
	dur("run_for", &cfg.RunFor)
	num("exit_code", &cfg.ExitCode)
	num("exit_signal", &cfg.ExitSignal)
	str("exit_err_msg", &cfg.ExitErrMsg)
	dur("kill_after", &cfg.KillAfter)
	str("signal_error", &cfg.SignalError)
	str("stdout_string", &cfg.Stdout.String)
	num("stdout_repeat", &cfg.Stdout.Repeat)
	dur("stdout_repeat_duration", &cfg.Stdout.RepeatDuration)
	str("stderr_string", &cfg.Stderr.String)
	num("stderr_repeat", &cfg.Stderr.Repeat)
	dur("stderr_repeat_duration", &cfg.Stderr.RepeatDuration)
	return cfg, err
}

var taskKeys = map[string]bool{
	"start_error": true, "start_block_for": true, "run_for": true,
	"exit_code": true, "exit_signal": true, "exit_err_msg": true,
	"kill_after": true, "signal_error": true,
	"stdout_string": true, "stdout_repeat": true, "stdout_repeat_duration": true,
	"stderr_string": true, "stderr_repeat": true, "stderr_repeat_duration": true,
}

func stringKey(raw map[string]any, key string) (string, error) {
	v, ok := raw[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("mock_driver task config: %q must be a string, got %T", key, v)
	}
	return s, nil
}

// durationKey reads a duration written as Go writes one ("10s", "1m30s").
func durationKey(raw map[string]any, key string) (time.Duration, error) {
	s, err := stringKey(raw, key)
	if err != nil || s == "" {
		return 0, err
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("mock_driver task config: %q: %w", key, err)
	}
	if d < 0 {
		return 0, fmt.Errorf("mock_driver task config: %q must not be negative", key)
	}
	return d, nil
}

func intKey(raw map[string]any, key string) (int, error) {
	switch v := raw[key].(type) {
	case nil:
		return 0, nil
	case int:
		return v, nil
	case int64:
		return int(v), nil
	case uint64:
		return int(v), nil
	case float64:
		if v != float64(int(v)) {
			return 0, fmt.Errorf("mock_driver task config: %q must be a whole number, got %v", key, v)
		}
		return int(v), nil
	default:
		return 0, fmt.Errorf("mock_driver task config: %q must be a number, got %T", key, v)
	}
}
