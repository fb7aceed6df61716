package java

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roam-project/roam/drivers/isolation/isolationtest"
	"github.com/roam-project/roam/internal/reexec"
)

func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}

const helloSource = `public class Hello {
	public static void main(String[] args) {
		System.out.println("Hello, " + String.join(" ", args) + " as " + System.getProperty("user.name"));
	}
}
`

// buildHello compiles Hello into dir and packs it into dir/hello.jar.
func buildHello(t *testing.T, dir string) {
	t.Helper()
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "Hello.java"), []byte(helloSource), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"javac", "-d", dir, filepath.Join(src, "Hello.java")},
		{"jar", "cfe", filepath.Join(dir, "hello.jar"), "Hello", "-C", dir, "Hello.class"},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", args[0], err, out)
		}
	}
}

func TestJavaRunsClassAndJar(t *testing.T) {
	isolationtest.RequireRoot(t)
	if _, err := exec.LookPath("javac"); err != nil {
		t.Skip("javac is not installed")
	}
	cases := []struct {
		name   string
		config map[string]any
		want   string
	}{
		{name: "class", config: map[string]any{"class": "Hello", "class_path": "/local", "args": []string{"class"}},
			want: "Hello, class as nobody\n"},
		{name: "jar", config: map[string]any{"jar_path": "local/hello.jar", "jvm_options": []string{"-Xmx32m"},
			"args": []string{"jar", "mode"}}, want: "Hello, jar mode as nobody\n"},
		{name: "class from jar", config: map[string]any{"jar_path": "/local/hello.jar", "class": "Hello"},
			want: "Hello,  as nobody\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := New(t.TempDir())
			cfg := isolationtest.TaskConfig(t, "hello", tc.config, 256)
			buildHello(t, filepath.Join(cfg.TaskDir, "local"))
			res := isolationtest.Run(t, d, cfg)
			stdout, stderr := isolationtest.ReadLog(t, cfg.StdoutPath), isolationtest.ReadLog(t, cfg.StderrPath)
			if !res.Successful() {
				t.Fatalf("exit = %+v; stdout %q; stderr %q", res, stdout, stderr)
			}
			if stdout != tc.want {
				t.Errorf("stdout = %q, want %q (stderr %q)", stdout, tc.want, stderr)
			}
		})
	}
}

func TestJavaMissingJar(t *testing.T) {
	d := New(t.TempDir())
	cfg := isolationtest.TaskConfig(t, "hello", map[string]any{"jar_path": "local/missing.jar"}, 256)
	_, err := d.StartTask(cfg)
	if err == nil || !strings.Contains(err.Error(), `jar_path "local/missing.jar"`) {
		t.Fatalf("start error = %v, want one naming the missing jar", err)
	}
}

func TestJavaFingerprint(t *testing.T) {
	isolationtest.RequireRoot(t)
	if _, err := exec.LookPath("java"); err != nil {
		t.Skip("java is not installed")
	}
	fp := New(t.TempDir()).Fingerprint(context.Background())
	if !fp.Detected || !fp.Healthy {
		t.Fatalf("fingerprint = %+v, want a healthy JVM", fp)
	}
	for _, key := range []string{"", "version", "runtime", "vm"} {
		if fp.Attributes[key] == "" {
			t.Errorf("attribute %q missing in %v", key, fp.Attributes)
		}
	}
}

func TestParseVersion(t *testing.T) {
	cases := []struct {
		name                 string
		out                  string
		version, runtime, vm string
		wantErr              bool
	}{
		{name: "openjdk 17", out: "openjdk version \"17.0.15\" 2025-04-15\n" +
			"OpenJDK Runtime Environment (build 17.0.15+6-Debian-1deb12u1)\n" +
			"OpenJDK 64-Bit Server VM (build 17.0.15+6-Debian-1deb12u1, mixed mode, sharing)\n",
			version: "17.0.15", runtime: "OpenJDK Runtime Environment (build 17.0.15+6-Debian-1deb12u1)",
			vm: "OpenJDK 64-Bit Server VM (build 17.0.15+6-Debian-1deb12u1, mixed mode, sharing)"},
		{name: "oracle 8 after a note", out: "Picked up JAVA_TOOL_OPTIONS: -Xmx1g\n" +
			"java version \"1.8.0_202\"\nJava(TM) SE Runtime Environment (build 1.8.0_202-b08)\n" +
			"Java HotSpot(TM) 64-Bit Server VM (build 25.202-b08, mixed mode)\n",
			version: "1.8.0_202", runtime: "Java(TM) SE Runtime Environment (build 1.8.0_202-b08)",
			vm: "Java HotSpot(TM) 64-Bit Server VM (build 25.202-b08, mixed mode)"},
		{name: "garbage", out: "command not found\n", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j, err := parseVersion([]byte(tc.out))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parsed %+v, want an error", j)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if j.version != tc.version || j.runtime != tc.runtime || j.vm != tc.vm {
				t.Errorf("parsed %+v", j)
			}
		})
	}
}

func TestJavaValidateConfig(t *testing.T) {
	cases := []struct {
		name    string
		config  map[string]any
		wantErr string
	}{
		{name: "jar", config: map[string]any{"jar_path": "local/a.jar", "jvm_options": []any{"-Xmx64m"}}},
		{name: "class", config: map[string]any{"class": "Main", "class_path": "local"}},
		{name: "neither", config: map[string]any{"args": []any{"x"}}, wantErr: `"jar_path" or "class"`},
		{name: "unknown key", config: map[string]any{"class": "Main", "jar": "a"}, wantErr: `"jar"`},
		{name: "mistyped jvm_options", config: map[string]any{"class": "Main", "jvm_options": "-Xmx1g"},
			wantErr: `"jvm_options"`},
	}
	d := New(t.TempDir())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := d.ValidateConfig(tc.config)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error = %v, want it to mention %s", err, tc.wantErr)
			}
		})
	}
}
