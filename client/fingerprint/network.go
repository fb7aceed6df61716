package fingerprint

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// defaultMBits is reported when the link speed cannot be read, as Nomad does.
const defaultMBits = 1000

// network detects the interface and address that allocations bind to.
func network(cfg Config, r *Result) error {
	name := cfg.NetworkInterface
	if name == "" {
		name = defaultRouteInterface()
	}
	iface, err := findInterface(name)
	if err != nil {
		return err
	}
	ip, err := interfaceIP(iface)
	if err != nil {
		return err
	}
	bits := 32
	if ip.To4() == nil {
		bits = 128
	}
	mbits := linkSpeed(iface.Name)
	r.Attributes["unique.network.ip-address"] = ip.String()
	r.Resources.Networks = []*api.NetworkResource{{
		Mode: "host", Device: iface.Name, IP: ip.String(),
		CIDR: fmt.Sprintf("%s/%d", ip, bits), MBits: &mbits,
	}}
	return nil
}

func findInterface(name string) (*net.Interface, error) {
	if name != "" {
		iface, err := net.InterfaceByName(name)
		if err != nil {
			return nil, fmt.Errorf("network interface %q: %w", name, err)
		}
		return iface, nil
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list network interfaces: %w", err)
	}
	for i := range ifaces {
		if ifaces[i].Flags&net.FlagLoopback != 0 {
			return &ifaces[i], nil
		}
	}
	return nil, fmt.Errorf("no network interface found")
}

// interfaceIP returns the interface's first IPv4 address, else its first.
func interfaceIP(iface *net.Interface) (net.IP, error) {
	addrs, err := iface.Addrs()
	if err != nil {
		return nil, fmt.Errorf("addresses of %s: %w", iface.Name, err)
	}
	var first net.IP
	for _, a := range addrs {
		ipnet, ok := a.(*net.IPNet)
		if !ok || ipnet.IP.IsLinkLocalUnicast() {
			continue
		}
		if ipnet.IP.To4() != nil {
			return ipnet.IP.To4(), nil
		}
		if first == nil {
			first = ipnet.IP
		}
	}
	if first == nil {
		return nil, fmt.Errorf("interface %s has no usable address", iface.Name)
	}
	return first, nil
}

// defaultRouteInterface reads the interface of the IPv4 default route.
func defaultRouteInterface() string {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) > 2 && fields[1] == "00000000" && fields[0] != "Iface" {
			return fields[0]
		}
	}
	return ""
}

func linkSpeed(name string) int {
	data, err := os.ReadFile("/sys/class/net/" + name + "/speed")
	if err != nil {
		return defaultMBits
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || n <= 0 {
		return defaultMBits
	}
	return n
}
