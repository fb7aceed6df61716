package java

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// fingerprintTimeout bounds `java -version`.
const fingerprintTimeout = 30 * time.Second

// jvm is the JVM found on this machine.
type jvm struct {
	binary  string // absolute path, symlinks resolved
	home    string // the directory holding bin/java
	version string
	runtime string
	vm      string
}

// findJVM finds java in PATH and runs `java -version`.
func findJVM(ctx context.Context) (*jvm, error) {
	path, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("java not found in PATH: %w", err)
	}
	binary, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", path, err)
	}
	ctx, cancel := context.WithTimeout(ctx, fingerprintTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "-version").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("java -version: %w: %s", err, bytes.TrimSpace(out))
	}
	j, err := parseVersion(out)
	if err != nil {
		return nil, err
	}
	j.binary, j.home = binary, filepath.Dir(filepath.Dir(binary))
	return j, nil
}

// parseVersion reads `java -version` output: a version line with the
// version in quotes, then the runtime line, then the VM line.
func parseVersion(out []byte) (*jvm, error) {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		// The JVM may print notes first ("Picked up JAVA_TOOL_OPTIONS").
		if len(lines) == 0 && !strings.Contains(line, " version ") {
			continue
		}
		lines = append(lines, line)
	}
	if len(lines) < 3 {
		return nil, fmt.Errorf("java -version: unexpected output %q", out)
	}
	_, rest, _ := strings.Cut(lines[0], `"`)
	version, _, ok := strings.Cut(rest, `"`)
	if !ok || version == "" {
		return nil, fmt.Errorf("java -version: no version in %q", lines[0])
	}
	return &jvm{version: version, runtime: lines[1], vm: lines[2]}, nil
}
