package link

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"
)

// stranger is a socket on an address no ucast line names.
func stranger(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 3)})
	if err != nil {
		t.Skipf("skipping: cannot bind 127.0.0.3: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestOthersSeparatesStrangers: with Options.Others, a peer's datagrams
// arrive on Packets and a stranger's on Others; a full Others channel
// (a flood nobody drains) costs the peer nothing.
func TestOthersSeparatesStrangers(t *testing.T) {
	port := freePort(t)
	peers := make(chan Packet, 16)
	others := make(chan Packet, 1) // never drained below: it stays full
	n1, n2 := twoNodes(t, port, Options{Packets: peers, Others: others}, Options{Packets: make(chan Packet, 16)})
	c := stranger(t)
	to := netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", port))

	if _, err := c.WriteToUDPAddrPort([]byte("first stranger"), to); err != nil {
		t.Fatal(err)
	}
	expectPacket(t, others, []byte("first stranger"), "lo", c.LocalAddr().(*net.UDPAddr).AddrPort())
	others <- Packet{} // full from now on

	const flood = 200
	for i := range flood {
		if _, err := c.WriteToUDPAddrPort(fmt.Appendf(nil, "flood %d", i), to); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		b := fmt.Appendf(nil, "peer %d", i)
		n2.Send(b)
		expectPacket(t, peers, b, "lo", netip.MustParseAddrPort(fmt.Sprintf("127.0.0.2:%d", port)))
	}
	expectNone(t, peers, []byte("flood 0"), 100*time.Millisecond)
	waitStats(t, n1, "lo", "the flood dropped, no peer datagram dropped", func(st LinkStats) bool {
		return st.Received == 4 && st.ReceiveDrops == flood && st.PeerDrops == 0
	})
}

// TestOthersNilSharesPackets: without Others everything arrives on
// Packets, as before, and a peer's datagram dropped on a full channel is
// counted as a PeerDrop.
func TestOthersNilSharesPackets(t *testing.T) {
	port := freePort(t)
	ch := make(chan Packet, 1)
	n1, n2 := twoNodes(t, port, Options{Packets: ch}, Options{Packets: make(chan Packet, 16)})
	c := stranger(t)
	to := netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", port))
	if _, err := c.WriteToUDPAddrPort([]byte("stranger"), to); err != nil {
		t.Fatal(err)
	}
	expectPacket(t, ch, []byte("stranger"), "lo", c.LocalAddr().(*net.UDPAddr).AddrPort())
	ch <- Packet{} // full
	n2.Send([]byte("peer"))
	waitStats(t, n1, "lo", "the peer's datagram dropped as a PeerDrop", func(st LinkStats) bool {
		return st.Received == 1 && st.ReceiveDrops == 1 && st.PeerDrops == 1
	})
}

// TestMaxDatagramClips: a datagram longer than Options.MaxDatagram arrives
// clipped to MaxDatagram+1 bytes; one that fits arrives whole.
func TestMaxDatagramClips(t *testing.T) {
	port := freePort(t)
	ch := make(chan Packet, 4)
	_, n2 := twoNodes(t, port, Options{Packets: ch, MaxDatagram: 100}, Options{Packets: make(chan Packet, 4)})
	for _, tc := range []struct{ sent, want int }{{100, 100}, {101, 101}, {5000, 101}} {
		n2.Send(bytes.Repeat([]byte{'x'}, tc.sent))
		select {
		case p := <-ch:
			if len(p.Data) != tc.want {
				t.Errorf("sent %d bytes, received %d, want %d", tc.sent, len(p.Data), tc.want)
			}
		case <-time.After(waitFor):
			t.Fatalf("no datagram of %d bytes", tc.sent)
		}
	}
}
