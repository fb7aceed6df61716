// Package java is the "java" task driver: it runs a class or a jar in a JVM
// under the same isolation as the exec driver (namespaces, a chroot of the
// task directory that also holds the JVM's home, cgroup limits).
package java

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/roam-project/roam/drivers"
	"github.com/roam-project/roam/drivers/isolation"
)

// Name is the driver's name in job files.
const Name = "java"

// DefaultUser runs tasks that name no user, as in Nomad.
const DefaultUser = "nobody"

// taskConfig is the task's `config` block.
type taskConfig struct {
	isolation.TaskOptions
	Class      string   `json:"class"`
	ClassPath  string   `json:"class_path"`
	JarPath    string   `json:"jar_path"`
	JVMOptions []string `json:"jvm_options"`
	Args       []string `json:"args"`
}

// Driver is the java driver. The zero value is not usable; call New.
type Driver struct {
	*isolation.Tasks

	isolation.Settings

	mu  sync.Mutex
	jvm *jvm // from the last healthy fingerprint
}

var _ drivers.Driver = (*Driver)(nil)

// New returns a java driver whose supervisors keep their state under
// stateRoot (isolation.DefaultStateRoot when empty).
func New(stateRoot string) *Driver {
	if stateRoot == "" {
		stateRoot = isolation.DefaultStateRoot
	}
	return &Driver{Tasks: isolation.NewTasks(Name, stateRoot)}
}

// Name returns "java".
func (d *Driver) Name() string { return Name }

// Fingerprint detects the JVM (`java -version`) and reports its version,
// runtime and VM as driver.java.version, .runtime and .vm.
func (d *Driver) Fingerprint(ctx context.Context) *drivers.Fingerprint {
	fp := isolation.FingerprintIsolation(ctx)
	j, err := findJVM(ctx)
	if err != nil {
		return &drivers.Fingerprint{HealthDescription: err.Error(), Attributes: map[string]string{}}
	}
	d.mu.Lock()
	d.jvm = j
	d.mu.Unlock()
	if fp.Healthy {
		fp.Attributes["version"] = j.version
		fp.Attributes["runtime"] = j.runtime
		fp.Attributes["vm"] = j.vm
	}
	return fp
}

// ValidateConfig checks a task's config block.
func (d *Driver) ValidateConfig(config map[string]any) error {
	_, err := decodeTaskConfig(config)
	return err
}

func decodeTaskConfig(config map[string]any) (*taskConfig, error) {
	var tc taskConfig
	if err := isolation.DecodeConfig(config, &tc); err != nil {
		return nil, err
	}
	if tc.Class == "" && tc.JarPath == "" {
		return nil, errors.New(`config needs "jar_path" or "class"`)
	}
	if err := tc.Validate(); err != nil {
		return nil, err
	}
	return &tc, nil
}

// StartTask starts the JVM in the task's chroot.
func (d *Driver) StartTask(cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	tc, err := decodeTaskConfig(cfg.Config)
	if err != nil {
		return nil, err
	}
	if tc.JarPath != "" {
		if err := checkInTaskDir(cfg.TaskDir, tc.WorkDir, tc.JarPath); err != nil {
			return nil, err
		}
	}
	j, err := d.currentJVM()
	if err != nil {
		return nil, err
	}
	spec := isolation.NewSpec(cfg)
	spec.Command, spec.Args = j.binary, javaArgs(tc)
	if spec.User == "" {
		spec.User = DefaultUser
	}
	err = d.ChrootSpec(spec, tc.TaskOptions, map[string]string{j.home: j.home})
	if err != nil {
		return nil, err
	}
	return d.Launch(cfg, spec)
}

func (d *Driver) currentJVM() (*jvm, error) {
	d.mu.Lock()
	j := d.jvm
	d.mu.Unlock()
	if j != nil {
		return j, nil
	}
	j, err := findJVM(context.Background())
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.jvm = j
	d.mu.Unlock()
	return j, nil
}

// javaArgs builds the JVM's command line: options, class path, then the
// jar (-jar) or the class, then the task's args.
func javaArgs(tc *taskConfig) []string {
	args := append([]string{}, tc.JVMOptions...)
	classPath := tc.ClassPath
	switch {
	case tc.JarPath != "" && tc.Class == "":
		if classPath != "" {
			args = append(args, "-cp", classPath)
		}
		args = append(args, "-jar", tc.JarPath)
	case tc.JarPath != "":
		classPath = strings.Trim(tc.JarPath+":"+classPath, ":")
		args = append(args, "-cp", classPath, tc.Class)
	default:
		if classPath != "" {
			args = append(args, "-cp", classPath)
		}
		args = append(args, tc.Class)
	}
	return append(args, tc.Args...)
}

// checkInTaskDir makes sure the jar exists where the task will look for
// it: relative to its work dir inside the chroot of taskDir.
func checkInTaskDir(taskDir, workDir, jar string) error {
	inChroot := jar
	if !filepath.IsAbs(jar) {
		inChroot = filepath.Join("/", workDir, jar)
	}
	onHost := filepath.Join(taskDir, filepath.Clean(inChroot))
	if _, err := os.Stat(onHost); err != nil {
		return fmt.Errorf("jar_path %q: no such file in the task directory (looked for %s): "+
			"download it with an artifact block or fix the path", jar, onHost)
	}
	return nil
}
