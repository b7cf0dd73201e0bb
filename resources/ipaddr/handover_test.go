package ipaddr

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// ipFrame is an Ethernet frame of an IP packet from src to dst (a UDP
// header's worth of payload), to mac.
func ipFrame(mac net.HardwareAddr, src, dst netip.Addr) []byte {
	f := make([]byte, 14, 100)
	copy(f[0:6], mac)
	copy(f[6:12], net.HardwareAddr{2, 0, 0, 0, 0, 9})
	if dst.Is4() {
		binary.BigEndian.PutUint16(f[12:14], 0x0800)
		h := make([]byte, 20)
		h[0], h[9] = 0x45, unix.IPPROTO_UDP
		copy(h[12:16], src.AsSlice())
		copy(h[16:20], dst.AsSlice())
		return append(append(f, h...), make([]byte, 8)...)
	}
	binary.BigEndian.PutUint16(f[12:14], etherTypeIPv6)
	h := make([]byte, 40)
	h[0], h[6] = 0x60, unix.IPPROTO_UDP
	copy(h[8:24], src.AsSlice())
	copy(h[24:40], dst.AsSlice())
	return append(append(f, h...), make([]byte, 8)...)
}

// TestHandoverFilter: the kernel's filter and classify agree on what a
// handover keeps: frames to the address and its announcements, nothing
// else (another address, a client's ARP request, another protocol).
func TestHandoverFilter(t *testing.T) {
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	v4, other4 := netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("10.1.2.4")
	v6, other6 := netip.MustParseAddr("fd00::5"), netip.MustParseAddr("fd00::6")
	client4, client6 := netip.MustParseAddr("10.1.2.9"), netip.MustParseAddr("fd00::9")
	arpAsk := garp(arpRequest, mac, client4) // a client's ARP: sender is the client
	copy(arpAsk[14+24:14+28], v4.AsSlice())
	unicastReply := garp(arpReply, mac, v4) // to this node alone: no client sees it
	copy(unicastReply[0:6], net.HardwareAddr{2, 0, 0, 0, 0, 7})
	holderAsks := garp(arpRequest, mac, v4) // the holder's kernel asking for a client
	copy(holderAsks[14+24:14+28], client4.AsSlice())
	otherSender := garp(arpRequest, mac, v4) // sender hardware address not the frame's source
	copy(otherSender[6:12], net.HardwareAddr{2, 0, 0, 0, 0, 8})
	unicastNA := unsolicitedNA(mac, v6)
	copy(unicastNA[0:6], net.HardwareAddr{2, 0, 0, 0, 0, 7})
	ipv4Other := ipFrame(mac, client4, v4)
	binary.BigEndian.PutUint16(ipv4Other[12:14], 0x88cc) // not IP
	tests := []struct {
		name  string
		addr  netip.Addr
		frame []byte
		want  int
		kept  bool // the kernel's filter keeps it (for classify to judge) though it is no announcement
	}{
		{"gratuitous ARP request", v4, garp(arpRequest, mac, v4), frameAnnounce, false},
		{"gratuitous ARP reply", v4, garp(arpReply, mac, v4), frameAnnounce, false},
		{"another address's ARP", v4, garp(arpRequest, mac, other4), frameOther, false},
		{"a client asking for the address", v4, arpAsk, frameOther, false},
		{"an ARP reply to this node alone", v4, unicastReply, frameOther, true},
		{"the holder asking for a client", v4, holderAsks, frameOther, true},
		{"a sender that is not the frame's source", v4, otherSender, frameOther, true},
		{"an advertisement to this node alone", v6, unicastNA, frameOther, true},
		{"IPv4 to the address", v4, ipFrame(mac, client4, v4), frameToAddr, false},
		{"IPv4 to another address", v4, ipFrame(mac, client4, other4), frameOther, false},
		{"IPv4 from the address", v4, ipFrame(mac, v4, client4), frameOther, false},
		{"another ethertype", v4, ipv4Other, frameOther, false},
		{"IPv6 to an IPv4 address's handover", v4, ipFrame(mac, client6, v6), frameOther, false},
		{"short frame", v4, make([]byte, 10), frameOther, false},
		{"neighbour advertisement", v6, unsolicitedNA(mac, v6), frameAnnounce, false},
		{"another address's advertisement", v6, unsolicitedNA(mac, other6), frameOther, false},
		{"IPv6 to the address", v6, ipFrame(mac, client6, v6), frameToAddr, false},
		{"IPv6 to another address", v6, ipFrame(mac, client6, other6), frameOther, false},
		{"ARP at an IPv6 address's handover", v6, garp(arpRequest, mac, v4), frameOther, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prog, err := handoverFilter(tc.addr)
			if err != nil {
				t.Fatal(err)
			}
			ins := make([]bpf.Instruction, len(prog))
			for i, r := range prog {
				ins[i] = r.Disassemble()
			}
			vm, err := bpf.NewVM(ins)
			if err != nil {
				t.Fatal(err)
			}
			kept, err := vm.Run(tc.frame)
			if err != nil {
				t.Fatal(err)
			}
			if want := tc.want != frameOther || tc.kept; (kept > 0) != want {
				t.Errorf("filter keeps %d bytes, want kept=%v", kept, want)
			}
			if got := classify(tc.frame, tc.addr); got != tc.want {
				t.Errorf("classify = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestHandoverStopsWhenOursAgain: a handover passes nothing on once this
// node's record of the address is back (a start here wrote it before
// adding the address, whose frames this node's stack then takes), and
// holds frames only up to its bound while no new holder is known.
func TestHandoverStopsWhenOursAgain(t *testing.T) {
	own, taker := net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2}
	v4 := netip.MustParseAddr("10.1.2.3")
	rec := filepath.Join(t.TempDir(), "rec")
	h := &handover{fd: -1, own: own, addr: v4, record: rec, removed: time.Now()}
	to := append(make([]byte, vnetHdrLen), ipFrame(own, netip.MustParseAddr("10.1.2.9"), v4)...)
	for range handoverHeld + 3 {
		h.frame(append([]byte(nil), to...), unix.PACKET_HOST, time.Now())
	}
	if len(h.held) != handoverHeld || h.dropped != 3 {
		t.Fatalf("held %d, dropped %d: want %d held, 3 dropped", len(h.held), h.dropped, handoverHeld)
	}
	h.frame(append([]byte(nil), to...), unix.PACKET_BROADCAST, time.Now())
	if len(h.held) != handoverHeld || h.dropped != 3 {
		t.Errorf("a frame not sent to this node's MAC was held or counted")
	}
	if err := os.WriteFile(rec, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.frame(append(make([]byte, vnetHdrLen), garp(arpRequest, taker, v4)...), unix.PACKET_BROADCAST, time.Now())
	if !h.ours || h.passed != 0 {
		t.Errorf("ours=%v passed=%d with the record back: want ours, nothing passed on", h.ours, h.passed)
	}
	if h.taker.String() != taker.String() {
		t.Errorf("new holder %v, want %v", h.taker, taker)
	}
	h2 := &handover{fd: -1, own: own, addr: v4, record: rec + ".none", removed: time.Now()}
	h2.frame(append(make([]byte, vnetHdrLen), garp(arpReply, own, v4)...), unix.PACKET_BROADCAST, time.Now())
	if h2.taker != nil {
		t.Errorf("this node's own announcement taken for the new holder's")
	}
	h2.frame(append(make([]byte, vnetHdrLen), garp(arpRequest, taker, v4)...), unix.PACKET_BROADCAST, time.Now())
	h2.frame(append(make([]byte, vnetHdrLen), garp(arpReply, taker, v4)...), unix.PACKET_BROADCAST, time.Now())
	if h2.taker.String() != taker.String() || h2.contested {
		t.Errorf("new holder %v, contested %v after its request and reply: want %v, not contested", h2.taker, h2.contested, taker)
	}
	h2.frame(append(make([]byte, vnetHdrLen), garp(arpRequest, net.HardwareAddr{2, 0, 0, 0, 0, 3}, v4)...), unix.PACKET_BROADCAST, time.Now())
	if !h2.contested {
		t.Errorf("a second node's announcement did not end the handover")
	}
}
