package artifact

import (
	"archive/tar"
	"archive/zip"
	"compress/bzip2"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// unpack extracts the archive at src into the directory dst; root bounds
// every path it writes.
func unpack(format, src, dst, root string) error {
	if format == "zip" {
		return unzip(src, dst, root)
	}
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("open archive: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	switch format {
	case "tar.gz", "gz":
		gz, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("read gzip: %w", err)
		}
		defer gz.Close()
		r = gz
	case "tar.bz2":
		r = bzip2.NewReader(f)
	}
	if format == "gz" {
		name := strings.TrimSuffix(filepath.Base(src), ".gz")
		if gz, ok := r.(*gzip.Reader); ok && gz.Name != "" {
			name = filepath.Base(gz.Name)
		}
		return writeFile(r, filepath.Join(dst, name), 0o644, root)
	}
	return untar(tar.NewReader(r), dst, root)
}

func untar(tr *tar.Reader, dst, root string) error {
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		p, err := entryPath(dst, h.Name)
		if err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = mkdirWithin(p, root)
		case tar.TypeReg:
			err = writeFile(tr, p, fs.FileMode(h.Mode).Perm(), root)
		case tar.TypeSymlink:
			err = symlinkWithin(h.Linkname, p, dst, root)
		case tar.TypeLink:
			var target string
			if target, err = entryPath(dst, h.Linkname); err == nil {
				err = copyFile(target, p, fs.FileMode(h.Mode).Perm(), root)
			}
		default:
			continue // devices, fifos: never created
		}
		if err != nil {
			return fmt.Errorf("archive entry %q: %w", h.Name, err)
		}
	}
}

func unzip(src, dst, root string) error {
	zr, err := zip.OpenReader(src)
	if err != nil {
		return fmt.Errorf("open zip: %w", err)
	}
	defer zr.Close()
	for _, zf := range zr.File {
		if err := unzipEntry(zf, dst, root); err != nil {
			return fmt.Errorf("archive entry %q: %w", zf.Name, err)
		}
	}
	return nil
}

func unzipEntry(zf *zip.File, dst, root string) error {
	p, err := entryPath(dst, zf.Name)
	if err != nil {
		return err
	}
	mode := zf.Mode()
	if mode.IsDir() {
		return mkdirWithin(p, root)
	}
	rc, err := zf.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	if mode&fs.ModeSymlink != 0 {
		target, err := io.ReadAll(io.LimitReader(rc, 4096))
		if err != nil {
			return err
		}
		return symlinkWithin(string(target), p, dst, root)
	}
	perm := mode.Perm()
	if perm == 0 {
		perm = 0o644
	}
	return writeFile(rc, p, perm, root)
}

// entryPath places an archive entry's name under dst, refusing absolute
// names and names that climb out (zip-slip).
func entryPath(dst, name string) (string, error) {
	if filepath.IsAbs(name) || strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("%w: absolute entry name", ErrEscapes)
	}
	p := filepath.Join(dst, name)
	if !inside(dst, p) {
		return "", ErrEscapes
	}
	return p, nil
}

// symlinkWithin creates a symlink at p whose target must resolve inside
// dst.
func symlinkWithin(target, p, dst, root string) error {
	if filepath.IsAbs(target) || !inside(dst, filepath.Join(filepath.Dir(p), target)) {
		return fmt.Errorf("%w: symlink to %q", ErrEscapes, target)
	}
	if err := mkdirWithin(filepath.Dir(p), root); err != nil {
		return err
	}
	os.Remove(p)
	return os.Symlink(target, p)
}

// mkdirWithin creates dir and checks it did not resolve outside root
// through a symlink.
func mkdirWithin(dir, root string) error {
	if err := checkResolved(root, dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return checkResolved(root, dir)
}

// writeFile writes r to p (replacing a file or symlink there) with perm.
func writeFile(r io.Reader, p string, perm fs.FileMode, root string) error {
	if err := mkdirWithin(filepath.Dir(p), root); err != nil {
		return err
	}
	if fi, err := os.Lstat(p); err == nil && !fi.Mode().IsRegular() {
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Chmod(p, perm)
}

// copyFile copies the file at src to dst with perm.
func copyFile(src, dst string, perm fs.FileMode, root string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	return writeFile(f, dst, perm, root)
}

// copyDir copies the directory tree at src into dst; symlinks are copied
// only when they point inside the tree.
func copyDir(src, dst, root string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return mkdirWithin(target, root)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return symlinkWithin(link, target, dst, root)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			return copyFile(p, target, info.Mode().Perm(), root)
		}
		return nil
	})
}
