package link

import (
	"bytes"
	"context"
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

	const flood = 100 // well within the socket's buffer: the kernel drops none
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

// TestPeerFunc: with Options.Peer, a peer's datagrams are given to it on
// the reader's goroutine (Packets is not needed), a stranger's still go
// to Others, and a datagram Peer refuses is counted as a PeerDrop.
func TestPeerFunc(t *testing.T) {
	port := freePort(t)
	got := make(chan Packet, 16)
	refuse := make(chan bool, 16)
	peer := func(p Packet) bool {
		if <-refuse {
			return false
		}
		p.Data = bytes.Clone(p.Data) // valid only during the call
		got <- p
		return true
	}
	others := make(chan Packet, 16)
	n1, n2 := twoNodes(t, port, Options{Peer: peer, Others: others}, Options{Packets: make(chan Packet, 16)})
	c := stranger(t)
	to := netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", port))
	from2 := netip.MustParseAddrPort(fmt.Sprintf("127.0.0.2:%d", port))

	refuse <- false
	n2.Send([]byte("peer 1"))
	expectPacket(t, got, []byte("peer 1"), "lo", from2)
	if _, err := c.WriteToUDPAddrPort([]byte("stranger"), to); err != nil {
		t.Fatal(err)
	}
	expectPacket(t, others, []byte("stranger"), "lo", c.LocalAddr().(*net.UDPAddr).AddrPort())
	refuse <- true
	n2.Send([]byte("peer 2"))
	refuse <- false
	n2.Send([]byte("peer 3"))
	expectPacket(t, got, []byte("peer 3"), "lo", from2)
	waitStats(t, n1, "lo", "the refused datagram counted as a PeerDrop", func(st LinkStats) bool {
		return st.Received == 3 && st.ReceiveDrops == 1 && st.PeerDrops == 1
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

// TestPeerSockets: each ucast peer gets a socket bound like the link's and
// connected to the peer's address with port 0; the kernel then queues the
// peer's datagrams, from any source port, on that socket and everyone
// else's on the shared one.
func TestPeerSockets(t *testing.T) {
	port := freePort(t)
	n1, _ := twoNodes(t, port, Options{Packets: make(chan Packet, 4)}, Options{Packets: make(chan Packet, 4)})
	if l := n1.byName["lo"]; len(l.peerConns) != 1 || l.peerSock[0] != 0 {
		t.Fatalf("%d peer sockets, want 1 (127.0.0.2; our own address is not a peer)", len(l.peerConns))
	}

	// The kernel's side of it, on sockets no reader drains.
	lo, err := lookupIface("lo")
	if err != nil {
		t.Fatal(err)
	}
	port = freePort(t)
	sp := sockPlan{Bind: netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", port)), Role: roleUnicast}
	shared, _, err := openSocket(context.Background(), lo, sp, false)
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	mine, _, err := openSocket(context.Background(), lo, sp, false)
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Close()
	if err := connectAnyPort(mine, netip.MustParseAddr("127.0.0.2"), lo); err != nil {
		t.Fatal(err)
	}
	to := sp.Bind
	for _, from := range []string{"127.0.0.2:0", "127.0.0.3:0", fmt.Sprintf("127.0.0.2:%d", freePort(t))} {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(from)))
		if err != nil {
			t.Skipf("skipping: %v", err)
		}
		if _, err := c.WriteToUDPAddrPort([]byte(from), to); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	read := func(c *net.UDPConn) []string {
		var got []string
		buf := make([]byte, 100)
		for {
			_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			_, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return got
			}
			got = append(got, from.Addr().String())
		}
	}
	if got := read(mine); len(got) != 2 || got[0] != "127.0.0.2" || got[1] != "127.0.0.2" {
		t.Errorf("the peer's socket got datagrams from %v, want two from 127.0.0.2", got)
	}
	if got := read(shared); len(got) != 1 || got[0] != "127.0.0.3" {
		t.Errorf("the shared socket got datagrams from %v, want one from 127.0.0.3", got)
	}
}

// TestSharedReadRate: a stranger's flood is read at most at
// SharedReadRate, the kernel drops the rest (and KernelDrops says so),
// and the peer's datagrams, on the peer's own socket, arrive meanwhile.
func TestSharedReadRate(t *testing.T) {
	port := freePort(t)
	const rate = 2000 // a second: 20 per 10 ms slice
	peers, others := make(chan Packet, 16), make(chan Packet, 100_000)
	n1, n2 := twoNodes(t, port, Options{Packets: peers, Others: others, SharedReadRate: rate}, Options{Packets: make(chan Packet, 16)})
	c := stranger(t)
	to := netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", port))
	const flood = 20_000
	start := time.Now()
	for i := range flood {
		if _, err := c.WriteToUDPAddrPort(fmt.Appendf(nil, "flood %d", i), to); err != nil {
			t.Fatal(err)
		}
		if i%2000 == 0 {
			b := fmt.Appendf(nil, "peer %d", i)
			n2.Send(b)
			expectPacket(t, peers, b, "lo", netip.MustParseAddrPort(fmt.Sprintf("127.0.0.2:%d", port)))
		}
	}
	waitStats(t, n1, "lo", "the kernel's drops counted", func(st LinkStats) bool { return st.KernelDrops > 0 })
	// The reader goes on with what the socket's buffer still holds, at
	// the rate: wait until it has read it all.
	read := uint64(len(others))
	for deadline := time.Now().Add(waitFor); ; {
		time.Sleep(100 * time.Millisecond)
		if n := uint64(len(others)); n != read && time.Now().Before(deadline) {
			read = n
			continue
		}
		break
	}
	allowed := uint64(rate*time.Since(start).Seconds()) + rate/100
	if read > allowed {
		t.Errorf("read %d of the flood in %s, more than %d at %d a second", read, time.Since(start), allowed, rate)
	}
	st := n1.Stats()["lo"]
	if st.PeerDrops != 0 || st.Received-read != 10 {
		t.Errorf("stats %+v: want the peer's 10 datagrams received, none dropped", st)
	}
	t.Logf("flood of %d: %d read, %d dropped by the kernel so far", flood, read, st.KernelDrops)
}

// TestQueuedDatagrams: datagrams that queue in the socket while the
// reader is busy all arrive, in order, however many fill the batches of
// recvmmsg (none, fewer than a batch, exactly one, more), and so does
// one sent after the queue was drained.
func TestQueuedDatagrams(t *testing.T) {
	port := freePort(t)
	got := make(chan string, 64)
	held, hold := make(chan struct{}), make(chan struct{})
	peer := func(p Packet) bool {
		if string(p.Data) == "hold" { // keep the reader busy
			held <- struct{}{}
			<-hold
			return true
		}
		got <- string(p.Data)
		return true
	}
	_, n2 := twoNodes(t, port, Options{Peer: peer, Others: make(chan Packet, 16)}, Options{Packets: make(chan Packet, 16)})
	for k := range 2*recvBatch + 2 {
		n2.Send([]byte("hold"))
		select {
		case <-held:
		case <-time.After(waitFor):
			t.Fatalf("burst of %d: the reader never got the datagram that holds it", k)
		}
		for i := range k {
			n2.Send(fmt.Appendf(nil, "%d/%d", i, k))
		}
		hold <- struct{}{}
		for i := range k {
			want := fmt.Sprintf("%d/%d", i, k)
			select {
			case g := <-got:
				if g != want {
					t.Fatalf("burst of %d: got %q, want %q", k, g, want)
				}
			case <-time.After(waitFor):
				t.Fatalf("burst of %d: %q never arrived", k, want)
			}
		}
		n2.Send([]byte("after"))
		select {
		case g := <-got:
			if g != "after" {
				t.Fatalf("after a burst of %d: got %q, want \"after\"", k, g)
			}
		case <-time.After(waitFor):
			t.Fatalf("after a burst of %d: a datagram sent once the queue was drained never arrived", k)
		}
	}
}
