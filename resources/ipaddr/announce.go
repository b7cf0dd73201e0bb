package ipaddr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Frame sizes and constants of the two announcements.
const (
	etherTypeARP  = 0x0806
	etherTypeIPv6 = 0x86dd
	arpRequest    = 1
	arpReply      = 2
	minFrame      = 60 // Ethernet minimum without FCS; short frames are padded
	icmpv6NA      = 136
	naOverride    = 0x20000000
	optTargetLL   = 2
)

var (
	ethBroadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	// ff02::1, all nodes, and its Ethernet multicast address.
	allNodes    = netip.MustParseAddr("ff02::1")
	allNodesMAC = net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}
)

// garp builds a gratuitous ARP frame for ip with mac: op arpRequest is the
// RFC 5227 announcement (target hardware address zero), arpReply the form
// `arping -A` sends (target hardware address = our own). Both carry
// sender IP = target IP = ip and go to the Ethernet broadcast address.
func garp(op uint16, mac net.HardwareAddr, ip netip.Addr) []byte {
	f := make([]byte, minFrame)
	copy(f[0:6], ethBroadcast)
	copy(f[6:12], mac)
	binary.BigEndian.PutUint16(f[12:14], etherTypeARP)
	p := f[14:]
	binary.BigEndian.PutUint16(p[0:2], 1)      // hardware: Ethernet
	binary.BigEndian.PutUint16(p[2:4], 0x0800) // protocol: IPv4
	p[4], p[5] = 6, 4
	binary.BigEndian.PutUint16(p[6:8], op)
	a4 := ip.As4()
	copy(p[8:14], mac)
	copy(p[14:18], a4[:])
	if op == arpReply {
		copy(p[18:24], mac)
	}
	copy(p[24:28], a4[:])
	return f
}

// unsolicitedNA builds an unsolicited neighbour advertisement for ip with
// mac (RFC 4861 7.2.6): to ff02::1, hop limit 255, Override set, Solicited
// clear, with the target link-layer address option; the source address is
// ip itself (an address of the interface, as the RFC asks).
func unsolicitedNA(mac net.HardwareAddr, ip netip.Addr) []byte {
	const icmpLen = 4 + 4 + 16 + 8 // header, flags, target, option
	f := make([]byte, 14+40+icmpLen)
	copy(f[0:6], allNodesMAC)
	copy(f[6:12], mac)
	binary.BigEndian.PutUint16(f[12:14], etherTypeIPv6)
	h := f[14:54]
	h[0] = 0x60 // version 6
	binary.BigEndian.PutUint16(h[4:6], icmpLen)
	h[6] = unix.IPPROTO_ICMPV6
	h[7] = 255
	src, dst := ip.As16(), allNodes.As16()
	copy(h[8:24], src[:])
	copy(h[24:40], dst[:])
	m := f[54:]
	m[0] = icmpv6NA
	binary.BigEndian.PutUint32(m[4:8], naOverride)
	copy(m[8:24], src[:])
	m[24], m[25] = optTargetLL, 1 // option length in units of 8 bytes
	copy(m[26:32], mac)
	binary.BigEndian.PutUint16(m[2:4], icmpv6Checksum(src, dst, m))
	return f
}

// icmpv6Checksum is the ICMPv6 checksum over the IPv6 pseudo-header and
// the message (whose checksum field must be zero).
func icmpv6Checksum(src, dst [16]byte, msg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(src[:])
	add(dst[:])
	var tail [8]byte
	binary.BigEndian.PutUint32(tail[0:4], uint32(len(msg)))
	tail[7] = unix.IPPROTO_ICMPV6
	add(tail[:])
	add(msg)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// frames returns the announcement frames for ip with mac: the gratuitous
// ARP request and reply for IPv4, one unsolicited NA for IPv6.
func frames(mac net.HardwareAddr, ip netip.Addr) [][]byte {
	if ip.Is4() {
		return [][]byte{garp(arpRequest, mac, ip), garp(arpReply, mac, ip)}
	}
	return [][]byte{unsolicitedNA(mac, ip)}
}

// packetSocket is an AF_PACKET socket bound to nothing, used only to send
// (protocol 0: the kernel queues no received frames to it).
type packetSocket struct{ fd int }

func openPacketSocket() (*packetSocket, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("AF_PACKET socket (needs CAP_NET_RAW): %w", err)
	}
	return &packetSocket{fd: fd}, nil
}

// send writes one whole Ethernet frame out of interface ifindex: a raw
// system call (rawcall.go) that does not wait, the frame queued on the
// interface or dropped with an error; a full send buffer (EAGAIN, which
// two frames a minute never meet) is waited for through the runtime.
func (s *packetSocket) send(ifindex int, frame []byte) error {
	sa := unix.RawSockaddrLinklayer{
		Family:   unix.AF_PACKET,
		Ifindex:  int32(ifindex),
		Protocol: htons(binary.BigEndian.Uint16(frame[12:14])),
		Halen:    6,
	}
	copy(sa.Addr[:], frame[0:6])
	err := sendNoWait(syscall.RawSyscall6, s.fd, frame, unsafe.Pointer(&sa), unix.SizeofSockaddrLinklayer)
	if !errors.Is(err, unix.EAGAIN) {
		return err
	}
	to := &unix.SockaddrLinklayer{Ifindex: ifindex, Protocol: sa.Protocol, Halen: 6}
	copy(to.Addr[:], frame[0:6])
	return unix.Sendto(s.fd, frame, 0, to)
}

func (s *packetSocket) close() error { return unix.Close(s.fd) }

// htons puts v in network byte order, as sockaddr_ll.sll_protocol wants.
func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}
