package testenv

import (
	"net"
	"testing"
)

// HasIPv6Loopback says whether ::1 can be bound here. A host booted with
// ipv6.disable=1, or a container whose network namespace has IPv6 off
// (Docker's default: net.ipv6.conf.all.disable_ipv6=1), has no ::1 on lo.
func HasIPv6Loopback() bool {
	c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// NeedIPv6Loopback skips (or fails, see Skip) the test unless ::1 can be
// bound here.
func NeedIPv6Loopback(t testing.TB) {
	t.Helper()
	if !HasIPv6Loopback() {
		Skip(t, "no IPv6 on loopback (::1 cannot be bound: IPv6 is off in this network namespace)")
	}
}
