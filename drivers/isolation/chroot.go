package isolation

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"
)

// buildChroot lays out the task's root in its own mount namespace: the
// chroot_env paths bound read-only, /alloc bound to the alloc directory,
// the task's writable directories and host volumes, a fresh /proc and a
// minimal /dev with the task's device nodes. The
// mounts exist only inside the namespace and vanish with it.
func buildChroot(spec *Spec, cred *credential) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	root := spec.TaskDir
	// The root must be a mount point for pivot_root; binding it to itself
	// makes it one, and the mounts below land inside that bind.
	if err := unix.Mount(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind task dir: %w", err)
	}
	if err := bindChrootEnv(root, spec.ChrootEnv); err != nil {
		return err
	}
	if spec.ResolvConf != "" {
		if err := bindMount(spec.ResolvConf, filepath.Join(root, "etc/resolv.conf"), true); err != nil {
			return err
		}
	}
	if spec.Hostname != "" {
		if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
			return fmt.Errorf("set hostname %q: %w", spec.Hostname, err)
		}
	}
	for _, dir := range []string{"local", "secrets", "tmp"} {
		path := filepath.Join(root, dir)
		if err := os.MkdirAll(path, 0o755); err != nil {
			return fmt.Errorf("create task dir %s: %w", dir, err)
		}
		if err := os.Chown(path, cred.uid, cred.gid); err != nil {
			return fmt.Errorf("give %s to %s: %w", dir, cred.name, err)
		}
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o777|os.ModeSticky); err != nil {
		return fmt.Errorf("open /tmp: %w", err)
	}
	if spec.AllocDir != "" {
		if err := bindMount(spec.AllocDir, filepath.Join(root, "alloc"), false); err != nil {
			return err
		}
	}
	if err := bindVolumes(root, spec.Mounts); err != nil {
		return err
	}
	if err := mountProc(filepath.Join(root, "proc")); err != nil {
		return err
	}
	if err := mountSys(filepath.Join(root, "sys")); err != nil {
		return err
	}
	if err := mountDev(filepath.Join(root, "dev"), spec.HostIPC); err != nil {
		return err
	}
	return bindDevices(root, spec.DeviceNodes)
}

// enterRoot makes root the process's root directory: pivot_root, which
// leaves no way back to the host's tree, or chroot when asked to or where
// the host's root cannot be pivoted (an initramfs).
func enterRoot(root string, noPivot bool) error {
	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("enter task dir: %w", err)
	}
	if noPivot || unix.PivotRoot(".", ".") != nil {
		if err := unix.Chroot("."); err != nil {
			return fmt.Errorf("chroot %s: %w", root, err)
		}
		return unix.Chdir("/")
	}
	// The old root now sits on top of the new one: detach it.
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach host root: %w", err)
	}
	return unix.Chdir("/")
}

// bindChrootEnv binds each host path of env (or DefaultChrootEnv) at its
// place under root, parents first. Missing host paths are skipped; a host
// symlink is recreated as the same symlink.
func bindChrootEnv(root string, env map[string]string) error {
	if env == nil {
		env = DefaultChrootEnv
	}
	dests := make([]string, 0, len(env))
	sources := make(map[string]string, len(env))
	for src, dst := range env {
		dests = append(dests, dst)
		sources[dst] = src
	}
	sort.Strings(dests)
	for _, dst := range dests {
		src := sources[dst]
		target := filepath.Join(root, filepath.Clean("/"+dst))
		info, err := os.Lstat(src)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("chroot_env %s: %w", src, err)
		}
		if info.Mode()&os.ModeSymlink != 0 {
			if err := copySymlink(src, target); err != nil {
				return err
			}
			continue
		}
		if err := bindMount(src, target, true); err != nil {
			return err
		}
	}
	return nil
}

func copySymlink(src, target string) error {
	link, err := os.Readlink(src)
	if err != nil {
		return fmt.Errorf("chroot_env %s: %w", src, err)
	}
	if _, err := os.Lstat(target); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return fmt.Errorf("chroot_env %s: %w", src, err)
	}
	if err := os.Symlink(link, target); err != nil {
		return fmt.Errorf("chroot_env %s: %w", src, err)
	}
	return nil
}

// bindMount binds src (a directory or a file) at target, creating target.
func bindMount(src, target string, readOnly bool) error {
	info, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("bind %s: %w", src, err)
	}
	if err := makeMountPoint(target, info.IsDir()); err != nil {
		return err
	}
	if err := unix.Mount(src, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s at %s: %w", src, target, err)
	}
	if !readOnly {
		return nil
	}
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	if err := unix.MountSetattr(-1, target, unix.AT_RECURSIVE, attr); err != nil {
		flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY)
		if err := unix.Mount("", target, "", flags, ""); err != nil {
			return fmt.Errorf("make %s read-only: %w", target, err)
		}
	}
	return nil
}

func makeMountPoint(target string, dir bool) error {
	if dir {
		if err := os.MkdirAll(target, 0o755); err != nil {
			return fmt.Errorf("create mount point %s: %w", target, err)
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return fmt.Errorf("create mount point %s: %w", target, err)
	}
	f, err := os.OpenFile(target, os.O_CREATE|os.O_RDONLY, 0o644)
	if err != nil {
		return fmt.Errorf("create mount point %s: %w", target, err)
	}
	return f.Close()
}

func mountProc(target string) error {
	if err := os.MkdirAll(target, 0o555); err != nil {
		return fmt.Errorf("create /proc: %w", err)
	}
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	if err := unix.Mount("proc", target, "proc", flags, ""); err != nil {
		return fmt.Errorf("mount /proc: %w", err)
	}
	return nil
}

// mountSys gives the task a read-only sysfs.
func mountSys(target string) error {
	if err := os.MkdirAll(target, 0o555); err != nil {
		return fmt.Errorf("create /sys: %w", err)
	}
	flags := uintptr(unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	if err := unix.Mount("sysfs", target, "sysfs", flags, ""); err != nil {
		return fmt.Errorf("mount /sys: %w", err)
	}
	return nil
}

// devNodes are the host devices a task sees in its /dev.
var devNodes = []string{"null", "zero", "full", "random", "urandom", "tty"}

// mountDev gives the task a tmpfs /dev with the usual devices, its own
// devpts instance, /dev/shm and, in its own IPC namespace, /dev/mqueue.
func mountDev(dev string, hostIPC bool) error {
	if err := os.MkdirAll(dev, 0o755); err != nil {
		return fmt.Errorf("create /dev: %w", err)
	}
	if err := unix.Mount("tmpfs", dev, "tmpfs", unix.MS_NOSUID|unix.MS_STRICTATIME, "mode=755,size=65536k"); err != nil {
		return fmt.Errorf("mount /dev: %w", err)
	}
	for _, name := range devNodes {
		if err := bindMount(filepath.Join("/dev", name), filepath.Join(dev, name), false); err != nil {
			return err
		}
	}
	mounts := []struct{ dir, fstype, data string }{
		{"pts", "devpts", "newinstance,ptmxmode=0666,mode=0620"},
		{"shm", "tmpfs", "mode=1777,size=65536k"},
	}
	if !hostIPC {
		mounts = append(mounts, struct{ dir, fstype, data string }{"mqueue", "mqueue", ""})
	}
	for _, m := range mounts {
		path := filepath.Join(dev, m.dir)
		if err := os.MkdirAll(path, 0o755); err != nil {
			return fmt.Errorf("create /dev/%s: %w", m.dir, err)
		}
		if err := unix.Mount(m.fstype, path, m.fstype, unix.MS_NOSUID|unix.MS_NOEXEC, m.data); err != nil {
			return fmt.Errorf("mount /dev/%s: %w", m.dir, err)
		}
	}
	links := map[string]string{
		"ptmx": "pts/ptmx", "fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2",
	}
	for name, to := range links {
		if err := os.Symlink(to, filepath.Join(dev, name)); err != nil {
			return fmt.Errorf("link /dev/%s: %w", name, err)
		}
	}
	return nil
}
