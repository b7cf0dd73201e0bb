package link

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// iptosLowdelay is IPTOS_LOWDELAY, the TOS Heartbeat sets on its write
// sockets ("write socket priority set to IPTOS_LOWDELAY").
const iptosLowdelay = 0x10

// sockOpts is what happened while setting a socket up.
type sockOpts struct {
	deviceEPERM bool // SO_BINDTODEVICE was refused; the socket is not bound to the device
}

// openSocket creates, configures and binds one UDP socket of a link.
//
// Options, all set before bind:
//   - SO_BINDTODEVICE to the link's interface, as Heartbeat does, so that a
//     link hears only what arrives on its interface and sends only through
//     it (a cut cable fails the send instead of rerouting it). Unprivileged
//     processes get EPERM; the socket then stays unbound to the device
//     (the loopback demo runs that way) and the caller logs it once.
//   - SO_REUSEADDR, as Heartbeat, so that links on different interfaces can
//     all bind the wildcard address at udpport. SO_REUSEPORT (which
//     Heartbeat sets everywhere) only with reusePort, for the sockets of a
//     steered ucast link (steer.go): without a program the kernel
//     load-balances unicast datagrams among all sockets sharing the
//     address and port, so two hbd nodes on one host (or a stale process)
//     would each silently receive only part of the other's heartbeats;
//     with the steering program the link checks first that no other socket
//     shares them. Without it, two sockets that would share one address
//     and port fail at bind with "address already in use", unless both set
//     SO_REUSEADDR, where Linux delivers unicast to one of them only: that
//     is why nodes sharing a host each bind their own local address
//     (Medium.Local).
//   - SO_BROADCAST (bcast), IP_TOS / IPV6_TCLASS = IPTOS_LOWDELAY,
//     IP_PKTINFO / IPV6_RECVPKTINFO (to tell unicast from broadcast and
//     multicast on a wildcard socket), SO_TIMESTAMPNS (see Packet.At) and
//     SO_RXQ_OVFL (LinkStats.KernelDrops).
//
// reusePort sets SO_REUSEPORT too: the socket joins the steered group of
// its address and port (steer.go).
func openSocket(ctx context.Context, iface ifaceInfo, sp sockPlan, reusePort bool) (*net.UDPConn, sockOpts, error) {
	var so sockOpts
	v4 := sp.Bind.Addr().Is4()
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = configure(int(fd), iface.Name, v4, sp.Role == roleBroadcast, reusePort, &so)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	network := "udp6"
	if v4 {
		network = "udp4"
	}
	pc, err := lc.ListenPacket(ctx, network, sysAddrPort(sp.Bind, iface).String())
	if err != nil {
		return nil, so, fmt.Errorf("bind %s: %w", sp.Bind, err)
	}
	conn := pc.(*net.UDPConn)
	if sp.Role == roleMulticast {
		if err := joinGroup(conn, iface, sp); err != nil {
			conn.Close()
			return nil, so, err
		}
	}
	return conn, so, nil
}

func configure(fd int, iface string, v4, broadcast, reusePort bool, so *sockOpts) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fmt.Errorf("SO_REUSEADDR: %w", err)
	}
	if reusePort {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return fmt.Errorf("SO_REUSEPORT: %w", err)
		}
	}
	if err := unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, iface); err != nil {
		if !errors.Is(err, unix.EPERM) {
			return fmt.Errorf("SO_BINDTODEVICE %s: %w", iface, err)
		}
		so.deviceEPERM = true
	}
	if broadcast {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 1); err != nil {
			return fmt.Errorf("SO_BROADCAST: %w", err)
		}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return fmt.Errorf("SO_TIMESTAMPNS: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1); err != nil {
		return fmt.Errorf("SO_RXQ_OVFL: %w", err)
	}
	if v4 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TOS, iptosLowdelay); err != nil {
			return fmt.Errorf("IP_TOS: %w", err)
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_PKTINFO, 1); err != nil {
			return fmt.Errorf("IP_PKTINFO: %w", err)
		}
		return nil
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_TCLASS, iptosLowdelay); err != nil {
		return fmt.Errorf("IPV6_TCLASS: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1); err != nil {
		return fmt.Errorf("IPV6_RECVPKTINFO: %w", err)
	}
	return nil
}

// openRawSocket is openSocket for a unicast socket that stays out of the
// runtime's poller (a routine socket, steer.go): a non-blocking descriptor
// of its own, configured and bound as openSocket does, with SO_REUSEPORT.
func openRawSocket(iface ifaceInfo, sp sockPlan) (int, error) {
	v4 := sp.Bind.Addr().Is4()
	family := unix.AF_INET6
	if v4 {
		family = unix.AF_INET
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	var so sockOpts
	if err := configure(fd, iface.Name, v4, false, true, &so); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if !v4 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("IPV6_V6ONLY: %w", err)
		}
	}
	ap := sysAddrPort(sp.Bind, iface)
	var sa unix.Sockaddr
	if v4 {
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	} else {
		sa6 := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
		if ap.Addr().Zone() != "" {
			sa6.ZoneId = uint32(iface.Index)
		}
		sa = sa6
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("bind %s: %w", sp.Bind, err)
	}
	return fd, nil
}

// joinGroup joins the multicast group on the interface and sets the
// outgoing interface, TTL (hop limit) and loopback of the mcast line.
func joinGroup(conn *net.UDPConn, iface ifaceInfo, sp sockPlan) error {
	ifi, err := net.InterfaceByIndex(iface.Index)
	if err != nil {
		return fmt.Errorf("interface %s: %w", iface.Name, err)
	}
	group := &net.UDPAddr{IP: sp.Group.AsSlice()}
	if sp.Group.Is4() {
		p := ipv4.NewPacketConn(conn)
		if err := p.JoinGroup(ifi, group); err != nil {
			return fmt.Errorf("join %s on %s: %w", sp.Group, iface.Name, err)
		}
		if err := p.SetMulticastInterface(ifi); err != nil {
			return fmt.Errorf("IP_MULTICAST_IF %s: %w", iface.Name, err)
		}
		if err := p.SetMulticastTTL(sp.TTL); err != nil {
			return fmt.Errorf("IP_MULTICAST_TTL %d: %w", sp.TTL, err)
		}
		if err := p.SetMulticastLoopback(sp.Loop); err != nil {
			return fmt.Errorf("IP_MULTICAST_LOOP: %w", err)
		}
		return nil
	}
	p := ipv6.NewPacketConn(conn)
	if err := p.JoinGroup(ifi, group); err != nil {
		return fmt.Errorf("join %s on %s: %w", sp.Group, iface.Name, err)
	}
	if err := p.SetMulticastInterface(ifi); err != nil {
		return fmt.Errorf("IPV6_MULTICAST_IF %s: %w", iface.Name, err)
	}
	if err := p.SetMulticastHopLimit(sp.TTL); err != nil {
		return fmt.Errorf("IPV6_MULTICAST_HOPS %d: %w", sp.TTL, err)
	}
	if err := p.SetMulticastLoopback(sp.Loop); err != nil {
		return fmt.Errorf("IPV6_MULTICAST_LOOP: %w", err)
	}
	return nil
}

// connectAnyPort connects c to addr with port 0: the kernel then matches
// datagrams from addr, from any source port, to c rather than to an
// unconnected socket bound to the same address and port.
func connectAnyPort(c *net.UDPConn, addr netip.Addr, iface ifaceInfo) error {
	var sa unix.Sockaddr
	if addr.Is4() {
		sa = &unix.SockaddrInet4{Addr: addr.As4()}
	} else {
		sa6 := &unix.SockaddrInet6{Addr: addr.As16()}
		if addr.Zone() != "" {
			sa6.ZoneId = uint32(iface.Index)
		}
		sa = sa6
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return fmt.Errorf("connect %s: %w", addr, err)
	}
	var cerr error
	if err := rc.Control(func(fd uintptr) { cerr = unix.Connect(int(fd), sa) }); err != nil {
		return fmt.Errorf("connect %s: %w", addr, err)
	}
	if cerr != nil {
		return fmt.Errorf("connect %s: %w", addr, cerr)
	}
	return nil
}

// sysAddrPort gives a zoned (link-local) address the interface index as
// its zone for the socket calls. Go resolves a zone name through a
// process-wide cache of interface names, which is wrong for sockets of
// another network namespace (and stale after a rename); an index is used
// as it is.
func sysAddrPort(ap netip.AddrPort, iface ifaceInfo) netip.AddrPort {
	if ap.Addr().Zone() == "" {
		return ap
	}
	return netip.AddrPortFrom(ap.Addr().WithZone(strconv.Itoa(iface.Index)), ap.Port())
}

// oobSpace holds a timestamp, an IPv4 or IPv6 packet-info message and a
// drop counter.
var oobSpace = unix.CmsgSpace(16) + unix.CmsgSpace(unix.SizeofInet6Pktinfo) + unix.CmsgSpace(4) + 64

// cmsgInfo is what the control messages of one datagram say.
type cmsgInfo struct {
	kernelTime time.Time  // SO_TIMESTAMPNS, zero if absent
	dst        netip.Addr // header destination from IP(V6)_PKTINFO, invalid if absent
	ifindex    int        // arrival interface from IP(V6)_PKTINFO, 0 if absent
	// overflows is the socket's count of datagrams dropped for a full
	// buffer (SO_RXQ_OVFL); the kernel sends it only once it is not 0.
	overflows    uint32
	hasOverflows bool
}

// parseCmsgs reads the timestamp and destination address out of oob
// without allocating.
func parseCmsgs(oob []byte) cmsgInfo {
	var ci cmsgInfo
	for len(oob) > 0 {
		h, data, rest, err := unix.ParseOneSocketControlMessage(oob)
		if err != nil {
			break
		}
		oob = rest
		switch {
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && len(data) >= 16:
			sec := int64(binary.NativeEndian.Uint64(data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(data[8:16]))
			ci.kernelTime = time.Unix(sec, nsec)
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SO_RXQ_OVFL && len(data) >= 4:
			ci.overflows, ci.hasOverflows = binary.NativeEndian.Uint32(data[0:4]), true
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			// struct in_pktinfo { int ifindex; in_addr spec_dst; in_addr addr; }
			ci.dst = netip.AddrFrom4([4]byte(data[8:12]))
			ci.ifindex = int(int32(binary.NativeEndian.Uint32(data[0:4])))
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			// struct in6_pktinfo { in6_addr addr; int ifindex; }
			ci.dst = netip.AddrFrom16([16]byte(data[0:16]))
			ci.ifindex = int(binary.NativeEndian.Uint32(data[16:20]))
		}
	}
	return ci
}

// maxKernelAge bounds the correction Packet.At takes from the kernel
// timestamp; anything beyond it means the wall clock stepped.
const maxKernelAge = 2 * time.Second

// arrival turns the moment the read returned (now, with a monotonic
// reading) and the kernel's receive timestamp (wall clock only) into the
// arrival time: now minus how long the datagram waited in the socket
// buffer. The result keeps now's monotonic reading, so durations computed
// from it are immune to wall clock steps; a step that makes the age
// negative or implausible is ignored.
func arrival(now, kernel time.Time) time.Time {
	if kernel.IsZero() {
		return now
	}
	age := now.Sub(kernel) // kernel has no monotonic reading: wall clock difference
	if age <= 0 || age > maxKernelAge {
		return now
	}
	return now.Add(-age)
}

// arrivalOrder keeps the arrivals given to one socket's datagrams in the
// order the socket queued them. A socket's queue is first in, first out,
// but the stamps come from the wall clock: a step back between two
// datagrams' kernel stamps can give the later one the earlier arrival
// (the first one's age is then negative, so it is stamped at the read),
// and a caller that orders what several sockets gave by Packet.At would
// put them the wrong way round. A datagram is stamped no earlier than the
// one before it on the same socket.
type arrivalOrder struct{ last time.Time }

// next returns at, or the previous datagram's arrival when at is earlier.
func (o *arrivalOrder) next(at time.Time) time.Time {
	if at.Before(o.last) {
		return o.last
	}
	o.last = at
	return at
}
