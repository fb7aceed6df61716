// Package capture records the IPv4 packets crossing one interface (an
// AF_PACKET socket, as tcpdump's), so that tests can check what travels on
// the wire: that overlay traffic is encrypted, say.
package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roam-project/roam/network"
)

// Packet is one IPv4 packet seen on the interface.
type Packet struct {
	Src, Dst net.IP
	// Proto is the IP protocol (unix.IPPROTO_UDP, ...); DstPort the UDP
	// or TCP destination port, 0 for other protocols.
	Proto   int
	DstPort int
	// Data is the whole IP packet.
	Data []byte
}

// Capture is a running capture.
type Capture struct {
	fd   int
	mu   sync.Mutex
	pkts []Packet
	stop chan struct{}
	done chan struct{}
}

// Start captures on iface in the network namespace at nsPath ("" is the
// current one) until Stop.
func Start(nsPath, iface string) (*Capture, error) {
	var fd int
	err := network.InNamespace(nsPath, func() error {
		ifi, err := net.InterfaceByName(iface)
		if err != nil {
			return err
		}
		proto := htons(unix.ETH_P_ALL)
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(proto))
		if err != nil {
			return fmt.Errorf("packet socket: %w", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: ifi.Index}); err != nil {
			unix.Close(fd)
			return fmt.Errorf("bind packet socket to %s: %w", iface, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	tv := unix.NsecToTimeval((100 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, err
	}
	c := &Capture{fd: fd, stop: make(chan struct{}), done: make(chan struct{})}
	go c.read()
	return c, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (c *Capture) read() {
	defer close(c.done)
	buf := make([]byte, 65536)
	for {
		n, _, err := unix.Recvfrom(c.fd, buf, 0)
		if errors.Is(err, unix.EAGAIN) {
			select {
			case <-c.stop:
				return // and nothing left queued
			default:
				continue
			}
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return
		}
		if p, ok := parse(buf[:n]); ok {
			c.mu.Lock()
			c.pkts = append(c.pkts, p)
			c.mu.Unlock()
		}
	}
}

// parse reads an Ethernet frame holding an IPv4 packet.
func parse(frame []byte) (Packet, bool) {
	if len(frame) < 14+20 || binary.BigEndian.Uint16(frame[12:14]) != unix.ETH_P_IP {
		return Packet{}, false
	}
	ip := frame[14:]
	ihl := int(ip[0]&0x0f) * 4
	if ip[0]>>4 != 4 || ihl < 20 || len(ip) < ihl {
		return Packet{}, false
	}
	p := Packet{Src: net.IP(append([]byte(nil), ip[12:16]...)), Dst: net.IP(append([]byte(nil), ip[16:20]...)),
		Proto: int(ip[9]), Data: append([]byte(nil), ip...)}
	if (p.Proto == unix.IPPROTO_UDP || p.Proto == unix.IPPROTO_TCP) && len(ip) >= ihl+4 {
		p.DstPort = int(binary.BigEndian.Uint16(ip[ihl+2 : ihl+4]))
	}
	return p, true
}

// Packets returns what was captured so far.
func (c *Capture) Packets() []Packet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Packet(nil), c.pkts...)
}

// Stop ends the capture and returns every packet it saw.
func (c *Capture) Stop() []Packet {
	close(c.stop)
	<-c.done // once the queue is drained and the receive timeout passed
	unix.Close(c.fd)
	return c.Packets()
}
