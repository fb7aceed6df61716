package isolation

import "sync"

// Settings hold an isolating driver's plugin options together with the
// client's chroot_env, safe for concurrent use. Drivers embed it to get
// SetConfig and SetChrootEnv.
type Settings struct {
	mu      sync.RWMutex
	options PluginOptions
}

// SetConfig applies the plugin options default_pid_mode, default_ipc_mode,
// allow_caps and no_pivot_root, keeping the chroot_env already set.
func (s *Settings) SetConfig(config map[string]any) error {
	var opts PluginOptions
	if err := DecodeConfig(config, &opts); err != nil {
		return err
	}
	if err := opts.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	opts.ChrootEnv = s.options.ChrootEnv
	s.options = opts
	s.mu.Unlock()
	return nil
}

// SetChrootEnv applies the client's `chroot_env`: host paths (keys) bound
// read-only at paths (values) in every task's chroot. Nil restores
// DefaultChrootEnv.
func (s *Settings) SetChrootEnv(env map[string]string) {
	s.mu.Lock()
	s.options.ChrootEnv = env
	s.mu.Unlock()
}

// ChrootSpec fills spec's chroot, namespaces and capabilities from the
// current options, the task's options and extra host paths to bind.
func (s *Settings) ChrootSpec(spec *Spec, task TaskOptions, extra map[string]string) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.options.ChrootSpec(spec, task, extra)
}
