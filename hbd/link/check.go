package link

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/hbdproject/hbd/hbd/config"
)

// Check says what Open would refuse about media on this machine, found
// without sending anything: a bcast line on an interface without an
// IPv4 broadcast address, a ucast line whose LOCAL address this machine
// cannot send from (asked of the kernel by binding a UDP socket to it on
// an unused port, closed at once). A medium on an interface this
// machine lacks is left out: config.Load reports those, once per
// interface. What may change on this machine (an address not assigned
// yet) is marked config.Diag.Machine; what ha.cf says wrong is not.
func Check(media []config.Medium) []config.Diag {
	return check(media, lookupIface, probeBind)
}

func check(media []config.Medium, lookup func(string) (ifaceInfo, error), bind func(netip.Addr) error) []config.Diag {
	var out []config.Diag
	for _, m := range media {
		ifi, err := lookup(m.Iface)
		if err != nil {
			continue
		}
		lp := &linkPlan{Kind: m.Kind, Iface: ifi}
		if err := lp.add(m); err != nil {
			var nb noBroadcastError
			out = append(out, config.Diag{Pos: m.Pos, Severity: config.SevError, Msg: fmt.Sprintf("%s %s: %v", m.Kind, m.Iface, err),
				Machine: errors.As(err, &nb)})
			continue
		}
		local := m.Local.Unmap()
		if !local.IsValid() {
			continue
		}
		if err := bind(zoned(local, m.Iface)); errors.Is(err, syscall.EADDRNOTAVAIL) {
			out = append(out, config.Diag{Pos: m.Pos, Severity: config.SevError, Machine: true,
				Msg: fmt.Sprintf("%s %s: local address %s is not an address of this machine, so hbd cannot send from it (%v); fix the address or add it to an interface",
					m.Kind, m.Iface, local, err)})
		}
	}
	return out
}

// probeBind binds a UDP socket to a, on a port the kernel picks, and
// closes it: the kernel's word on whether a is an address of this
// machine (its local routes, ip_nonlocal_bind).
func probeBind(a netip.Addr) error {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 0)))
	if err != nil {
		return err
	}
	return c.Close()
}
