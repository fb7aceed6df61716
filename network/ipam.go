package network

import (
	"errors"
	"fmt"
	"math/big"
	"net"
)

// ErrSubnetFull is returned when every address of the node's subnet is taken.
var ErrSubnetFull = errors.New("no free address in the node's subnet")

// gateway is the subnet's first host address, held by the bridge.
func gateway(subnet *net.IPNet) net.IP { return offset(subnet, 1) }

// offset returns the subnet's address n past its network address.
func offset(subnet *net.IPNet, n int64) net.IP {
	base := new(big.Int).SetBytes(subnet.IP.To4())
	ip := new(big.Int).Add(base, big.NewInt(n)).Bytes()
	out := make(net.IP, 4)
	copy(out[4-len(ip):], ip)
	return out
}

// pickAddress returns the lowest address of subnet past the gateway that is
// not in used, leaving out the broadcast address.
func pickAddress(subnet *net.IPNet, used map[string]bool) (net.IP, error) {
	ones, bits := subnet.Mask.Size()
	if bits != 32 {
		return nil, fmt.Errorf("subnet %s: only IPv4 subnets are supported", subnet)
	}
	size := int64(1) << (bits - ones)
	for n := int64(2); n < size-1; n++ {
		ip := offset(subnet, n)
		if !used[ip.String()] {
			return ip, nil
		}
	}
	return nil, fmt.Errorf("%w %s", ErrSubnetFull, subnet)
}
