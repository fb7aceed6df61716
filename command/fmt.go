package command

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/roam-project/roam/jobspec"
)

// fmtVerb rewrites job and agent files in canonical HCL style.
var fmtVerb = &verb{
	name:     "fmt",
	synopsis: "Rewrites Roam config and job files to canonical format",
	help: `
Usage: roam fmt [flags] paths ...

  Formats Roam agent configuration and job files to a canonical format. If a
  path is a directory, it will format all files with .nomad and .hcl
  extensions in the directory (and its subdirectories with -recursive).

  If you provide a single dash (-) as argument, fmt will read from standard
  input (STDIN) and output the processed output to standard output (STDOUT).

Format Options:

  -check
    Check if the files are formatted. If not, the exit status of the command
    will be 1 and the files will not be rewritten. This flag overrides any
    -write flag value.

  -list
    List the files which contain formatting inconsistencies. Defaults to
    -list=true.

  -recursive
    Process files in subdirectories. By default, only the given (or current)
    directory is processed.

  -write
    Overwrite the input files. Defaults to -write=true.
`,
	run: (*cli).fmt,
}

// fmtOptions are the flags of `fmt`.
type fmtOptions struct{ check, list, write, recursive bool }

// fmt implements `fmt`. It exits 1 on a syntax error, and with -check when a
// file is not in canonical format.
func (c *cli) fmt(v *verb, args []string) int {
	var o fmtOptions
	flags := c.localFlagSet(v)
	flags.BoolVar(&o.check, "check", false, "")
	flags.BoolVar(&o.list, "list", true, "")
	flags.BoolVar(&o.write, "write", true, "")
	flags.BoolVar(&o.recursive, "recursive", false, "")
	if code, ok := c.parse(v, flags, args); !ok {
		return code
	}
	if o.check {
		o.write = false
	}
	paths := flags.Args()
	if len(paths) == 0 {
		paths = []string{"."}
	}
	code := 0
	for _, p := range paths {
		if p == "-" {
			code = max(code, c.fmtStdin())
			continue
		}
		files, err := fmtTargets(p, o.recursive)
		if err != nil {
			c.errorf("%s", err)
			code = 1
			continue
		}
		for _, f := range files {
			code = max(code, c.fmtFile(f, o))
		}
	}
	return code
}

// fmtTargets returns path itself if it is a file, or the .nomad and .hcl
// files in it if it is a directory.
func fmtTargets(path string, recursive bool) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("No file or directory at %s", path)
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != path && !recursive {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(p); ext == ".nomad" || ext == ".hcl" {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("Error reading directory %s: %w", path, err)
	}
	return files, nil
}

// fmtFile formats one file and returns its exit code.
func (c *cli) fmtFile(path string, o fmtOptions) int {
	src, err := os.ReadFile(path)
	if err != nil {
		c.errorf("Error reading %s: %s", path, err)
		return 1
	}
	out, err := jobspec.Format(path, src)
	if err != nil {
		c.errorf("Error formatting %s:\n%s", path, err)
		return 1
	}
	code := 0
	if !bytes.Equal(src, out) {
		if o.list {
			c.outf("%s", path)
		}
		if o.check {
			code = 1
		}
		if o.write {
			if err := os.WriteFile(path, out, 0o644); err != nil {
				c.errorf("Error writing %s: %s", path, err)
				return 1
			}
		}
	}
	if !o.list && !o.write && !o.check {
		fmt.Fprint(c.out, string(out))
	}
	return code
}

// fmtStdin formats standard input onto standard output.
func (c *cli) fmtStdin() int {
	src, err := io.ReadAll(c.in)
	if err != nil {
		c.errorf("Error reading stdin: %s", err)
		return 1
	}
	out, err := jobspec.Format("<stdin>", src)
	if err != nil {
		c.errorf("Error formatting stdin:\n%s", strings.TrimSpace(err.Error()))
		return 1
	}
	fmt.Fprint(c.out, string(out))
	return 0
}
