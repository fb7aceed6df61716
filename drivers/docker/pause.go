package docker

import (
	"archive/tar"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"

	"github.com/roam-project/roam/internal/reexec"
)

// pauseImage is the image of the containers that hold allocations' network
// namespaces. No registry is needed: it is made from the agent's own
// executable (and the shared libraries it links), whose pause role does
// nothing until it is stopped.
const (
	pauseImage = "roam/pause:1"
	pauseRole  = "/roam-pause"
)

func init() { reexec.Register(pauseRole, runPause) }

// runPause waits for SIGTERM or SIGINT and exits.
func runPause() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}

// ensurePauseImage imports the pause image unless the engine has it.
func ensurePauseImage(ctx context.Context, c *client.Client) error {
	if _, err := c.ImageInspect(ctx, pauseImage); err == nil {
		return nil
	} else if !client.IsErrNotFound(err) {
		return fmt.Errorf("inspect %s: %w", pauseImage, err)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	files, err := elfClosure(self)
	if err != nil {
		return fmt.Errorf("pause image: %w", err)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeRootfs(pw, self, files)) }()
	rc, err := c.ImageImport(ctx, image.ImportSource{Source: pr, SourceName: "-"}, pauseImage,
		image.ImportOptions{Changes: []string{`ENTRYPOINT ["` + pauseRole + `"]`}})
	if err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("import %s: %w", pauseImage, err)
	}
	defer rc.Close()
	if err := jsonmessage.DisplayJSONMessagesStream(rc, io.Discard, 0, false, nil); err != nil {
		return fmt.Errorf("import %s: %w", pauseImage, err)
	}
	return nil
}

// libDirs are where an executable's shared libraries are looked for.
var libDirs = []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
	"/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}

// elfClosure lists the interpreter and shared libraries an executable needs
// (none when it is static), each once, as absolute paths.
func elfClosure(path string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	var walk func(p string) error
	walk = func(p string) error {
		f, err := elf.Open(p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		defer f.Close()
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				data, err := io.ReadAll(prog.Open())
				if err != nil {
					return err
				}
				interp := string(data[:len(data)-1])
				if !seen[interp] {
					seen[interp] = true
					out = append(out, interp)
				}
			}
		}
		libs, err := f.ImportedLibraries()
		if err != nil {
			return nil // static
		}
		for _, lib := range libs {
			found := ""
			for _, dir := range libDirs {
				if _, err := os.Stat(filepath.Join(dir, lib)); err == nil {
					found = filepath.Join(dir, lib)
					break
				}
			}
			if found == "" {
				return fmt.Errorf("shared library %s of %s not found", lib, p)
			}
			if !seen[found] {
				seen[found] = true
				out = append(out, found)
				if err := walk(found); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return out, walk(path)
}

// writeRootfs writes the pause image's file system: the executable at
// pauseRole and each library at its own path (symlinks followed).
func writeRootfs(w io.Writer, self string, libs []string) error {
	tw := tar.NewWriter(w)
	dirs := map[string]bool{}
	add := func(src, name string) error {
		var parents []string
		for d := filepath.Dir(name); d != "." && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			if err := tw.WriteHeader(&tar.Header{Name: d + "/", Mode: 0o755, Typeflag: tar.TypeDir}); err != nil {
				return err
			}
		}
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: info.Size(), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = io.Copy(tw, f)
		return err
	}
	if err := add(self, pauseRole[1:]); err != nil {
		return err
	}
	for _, lib := range libs {
		if err := add(lib, lib[1:]); err != nil {
			return err
		}
	}
	return tw.Close()
}
