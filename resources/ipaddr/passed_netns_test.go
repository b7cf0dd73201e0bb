//go:build linux

package ipaddr

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/hbdproject/hbd/hbd/netlab"
)

// passedCounter counts the frames a host's eth0 receives for an address
// from one source MAC: what a handover on the node of that MAC passed on
// to it (a handover sends the frames it passes on with its own node's
// MAC as the source).
type passedCounter struct {
	fd   int
	n    atomic.Int64
	stop atomic.Bool
	done chan struct{}
}

// countPassed counts, on h's eth0, the IPv4 or IPv6 frames for vip whose
// source MAC is from (a handover's node) until its finish or the test's
// end. The socket is open before countPassed returns; frames before the
// filter is attached may be counted too (a test opens it well before the
// frames it counts).
func countPassed(t *testing.T, h *netlab.Host, from string, vip string) *passedCounter {
	t.Helper()
	src, err := net.ParseMAC(from)
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddr(vip)
	c := &passedCounter{fd: -1, done: make(chan struct{})}
	if err := h.Do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return err
		}
		c.fd = fd
		// Only frames from src are queued: a flood from other MACs
		// would fill the socket's buffer and hide them.
		prog, err := bpf.Assemble([]bpf.Instruction{
			bpf.LoadAbsolute{Off: 6, Size: 4},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: binary.BigEndian.Uint32(src[0:4]), SkipFalse: 2},
			bpf.LoadAbsolute{Off: 10, Size: 2},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(binary.BigEndian.Uint16(src[4:6])), SkipTrue: 1},
			bpf.RetConstant{Val: 0},
			bpf.RetConstant{Val: 2048},
		})
		if err != nil {
			return err
		}
		filter := make([]unix.SockFilter, len(prog))
		for i, ins := range prog {
			filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
		}
		fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
		if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
			return err
		}
		// A short receive timeout lets the reader see its stop.
		tv := unix.Timeval{Usec: 20000}
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index})
	}); err != nil {
		if c.fd >= 0 {
			unix.Close(c.fd)
		}
		t.Fatal(err)
	}
	go func() {
		defer close(c.done)
		defer unix.Close(c.fd)
		buf := make([]byte, 2048)
		for !c.stop.Load() {
			n, from, err := unix.Recvfrom(c.fd, buf, 0)
			if err != nil {
				continue // the timeout (or a signal): look at stop again
			}
			if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
				continue
			}
			if frameForFrom(buf[:n], src, addr) {
				c.n.Add(1)
			}
		}
	}()
	t.Cleanup(func() { c.finish() })
	return c
}

// finish stops the counter and returns its count.
func (c *passedCounter) finish() int {
	c.stop.Store(true)
	<-c.done
	return int(c.n.Load())
}

// frameForFrom says whether frame is an IPv4 or IPv6 packet to addr
// sent from the Ethernet address src.
func frameForFrom(frame []byte, src net.HardwareAddr, addr netip.Addr) bool {
	if len(frame) < 14 || string(frame[6:12]) != string(src) {
		return false
	}
	switch binary.BigEndian.Uint16(frame[12:14]) {
	case 0x0800:
		return addr.Is4() && len(frame) >= 34 && netip.AddrFrom4([4]byte(frame[30:34])) == addr
	case etherTypeIPv6:
		return addr.Is6() && len(frame) >= 54 && netip.AddrFrom16([16]byte(frame[38:54])) == addr
	}
	return false
}
