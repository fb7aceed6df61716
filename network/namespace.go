package network

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// namespaceDir is where named network namespaces are bind-mounted, as
// `ip netns` does.
const namespaceDir = "/var/run/netns"

// namespaceName is the name of the namespace Roam creates for an allocation.
func namespaceName(allocID string) string { return "roam-" + allocID }

// NamespacePath is where the namespace Roam creates for an allocation lives.
func NamespacePath(allocID string) string {
	return filepath.Join(namespaceDir, namespaceName(allocID))
}

// onThread runs fn on an OS thread of its own that is discarded afterwards,
// so that a thread left in another network namespace never runs other
// goroutines.
func onThread(fn func() error) error {
	done := make(chan error, 1)
	go func() {
		// Never unlocked: the thread ends with this goroutine.
		runtime.LockOSThread()
		done <- fn()
	}()
	return <-done
}

// createNamespace creates the allocation's named network namespace with its
// loopback up, and returns its path. An existing one (a client restart
// during set-up) is reused.
func createNamespace(allocID string) (string, error) {
	path := NamespacePath(allocID)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	err := onThread(func() error {
		ns, err := netns.NewNamed(namespaceName(allocID))
		if err != nil {
			return fmt.Errorf("create network namespace %s: %w", path, err)
		}
		defer ns.Close()
		lo, err := netlink.LinkByName("lo")
		if err == nil {
			err = netlink.LinkSetUp(lo)
		}
		if err != nil {
			return fmt.Errorf("bring up loopback in %s: %w", path, err)
		}
		return nil
	})
	return path, err
}

// deleteNamespace removes the allocation's named namespace; a missing one is
// not an error.
func deleteNamespace(allocID string) error {
	path := NamespacePath(allocID)
	err := unix.Unmount(path, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount network namespace %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove network namespace %s: %w", path, err)
	}
	return nil
}

// InNamespace runs fn on an OS thread that is in the network namespace at
// path, so that processes fn starts (os/exec forks from the calling thread)
// begin in it. An empty path runs fn as is.
func InNamespace(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	target, err := netns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w", path, err)
	}
	defer target.Close()
	return onThread(func() error {
		if err := netns.Set(target); err != nil {
			return fmt.Errorf("enter network namespace %s: %w", path, err)
		}
		return fn()
	})
}

// handleAt returns a netlink handle on the namespace at path.
func handleAt(path string) (*netlink.Handle, error) {
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("open network namespace %s: %w", path, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, fmt.Errorf("netlink in %s: %w", path, err)
	}
	return h, nil
}
