package qemu

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"time"
)

// monitorTimeout bounds talking to QEMU's monitor.
const monitorTimeout = 10 * time.Second

// powerdown asks the VM, through QEMU's human monitor, to shut down as if
// its power button was pressed (system_powerdown).
func powerdown(socket string) error {
	conn, err := net.DialTimeout("unix", socket, monitorTimeout)
	if err != nil {
		return fmt.Errorf("connect to qemu monitor: %w", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(monitorTimeout))
	r := bufio.NewReader(conn)
	// The monitor greets, then prompts "(qemu) ".
	if err := readUntil(r, "(qemu) "); err != nil {
		return fmt.Errorf("read qemu monitor greeting: %w", err)
	}
	if _, err := conn.Write([]byte("system_powerdown\n")); err != nil {
		return fmt.Errorf("send system_powerdown: %w", err)
	}
	if err := readUntil(r, "(qemu) "); err != nil {
		return fmt.Errorf("read system_powerdown reply: %w", err)
	}
	return nil
}

// readUntil reads until the input so far ends with suffix.
func readUntil(r *bufio.Reader, suffix string) error {
	var seen strings.Builder
	for !strings.HasSuffix(seen.String(), suffix) {
		b, err := r.ReadByte()
		if err != nil {
			return err
		}
		seen.WriteByte(b)
	}
	return nil
}
