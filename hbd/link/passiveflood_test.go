package link

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/testenv"
)

// TestFloodBetweenRareDrains: node 1 reads its routine socket only at its
// wake-ups, as a quiet passive does (about once a deadtime, at its
// peer's deadline, where its core then judges the peer). A burst of
// forged marked datagrams with node 2's address, sent right after one
// wake-up's drain, fills the socket's buffer, and the kernel may drop
// node 2's statuses that follow it. The next wake-up's drain must say
// that it found a flood (TakeFloods: the caller's core then gives node 2
// a deadtime before it judges it), naming its link, and node 2's
// statuses after that drain come at once (flood mode). The link's
// KernelDrops then counts every datagram the kernel dropped, once.
func TestFloodBetweenRareDrains(t *testing.T) {
	n1, n2, spoof, to, peers := drainedPair(t)
	if f := n1.TakeFloods(nil); len(f) != 0 {
		t.Fatalf("a flood reported before any: %q", f)
	}
	const burst = 2000 // more than the socket's buffer holds
	for i := range burst {
		if _, err := spoof.WriteToUDPAddrPort(routineMsg(fmt.Sprint("forged ", i)), to); err != nil {
			t.Fatal(err)
		}
	}
	n2.Send(routineMsg("status 2")) // may be dropped by the kernel
	time.Sleep(50 * time.Millisecond)
	got := drained(n1) // the next wake-up
	if f := n1.TakeFloods(nil); !slices.Equal(f, []string{"lo"}) {
		t.Errorf("the drain after the burst reports floods on %q, want [lo] (it read %d datagrams)", f, len(got))
	}
	if f := n1.TakeFloods(nil); len(f) != 0 {
		t.Errorf("a second TakeFloods gives %q, want none", f)
	}
	// The flood mode's reader empties the buffer the drain left (a
	// keepalive is more than enough), and reads node 2's next status at
	// once.
	for prev := -1; len(peers) != prev; time.Sleep(50 * time.Millisecond) {
		prev = len(peers)
	}
	n2.Send(routineMsg("status 3"))
	deadline := time.After(waitFor)
	for {
		select {
		case p := <-peers:
			if string(p.Data) == string(routineMsg("status 3")) {
				// Status 3 came after every drop and told of them all.
				st := n1.Stats()["lo"]
				_, _, drops := meminfo(t, n1.routineSocks()[0].fd)
				t.Logf("kernel drops %d (the socket's count %d), floods %d", st.KernelDrops, drops, st.Floods)
				if drops == 0 || st.KernelDrops != uint64(drops) {
					t.Errorf("KernelDrops %d, the routine socket dropped %d", st.KernelDrops, drops)
				}
				return
			}
		case <-deadline:
			t.Fatal("node 2's status after the flooded drain was not read at once")
		}
	}
}

// TestExactFillBetweenDrains: a handful of forged datagrams, sized to
// fill the routine socket's buffer exactly (sizes an attacker works out
// once on the same kernel; here read from the socket itself), leave no
// room for node 2's next statuses, and none of them is dropped, so none
// carries a drop count (SO_RXQ_OVFL). The next drain reads fewer than
// floodDrain datagrams; it must still see that the kernel dropped node
// 2's statuses (the socket's own count) and report a flood, so that the
// caller's core gives node 2 a deadtime.
func TestExactFillBetweenDrains(t *testing.T) {
	for _, max := range []int{60000, 16 << 10} {
		t.Run(fmt.Sprintf("datagrams of at most %d bytes", max), func(t *testing.T) { exactFill(t, max) })
	}
}

// meminfo is SO_MEMINFO of fd: rmem_alloc, rcvbuf, drops.
func meminfo(t *testing.T, fd int) (rmem, rcvbuf, drops uint32) {
	mi, ok := sockMemInfo(fd)
	if !ok {
		t.Fatal("SO_MEMINFO refused")
	}
	return mi[0], mi[1], mi[skMemInfoDrops]
}

func exactFill(t *testing.T, maxSize int) {
	n1, n2, spoof, to, _ := drainedPair(t)
	fd := n1.routineSocks()[0].fd
	// What one status costs the buffer.
	r0, _, _ := meminfo(t, fd)
	n2.Send(routineMsg("status 2"))
	time.Sleep(10 * time.Millisecond)
	r1, _, _ := meminfo(t, fd)
	statusCost := r1 - r0
	drained(n1)
	n1.TakeFloods(nil)
	sent := 0
	// What a datagram costs the buffer on this kernel (loopback), as an
	// attacker measures it once: payload + 832 from 16 KiB up (page
	// fragments), and below that the allocation's size class.
	classes := []struct{ size, cost int64 }{{6000, 8448}, {3700, 4352}, {1000, 2304}, {200, 1280}}
	for sent < 60 {
		rmem, rcvbuf, drops := meminfo(t, fd)
		rem := int64(rcvbuf) - int64(rmem)
		if rem < int64(statusCost) {
			break
		}
		var size int64
		switch {
		case rem >= 16384+832:
			size = max(min(int64(maxSize), rem-832), 16384)
		default:
			for _, c := range classes {
				if c.cost <= rem {
					size = c.size
					break
				}
			}
		}
		if size == 0 {
			break
		}
		b := make([]byte, int(size))
		copy(b, routineMsg("forged"))
		if _, err := spoof.WriteToUDPAddrPort(b, to); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
		if _, _, d := meminfo(t, fd); d != drops {
			t.Skipf("a forged datagram of %d bytes was dropped while filling (%d bytes free, it cost more): proves nothing", size, rem)
		}
		sent++
	}
	rmem, rcvbuf, _ := meminfo(t, fd)
	t.Logf("%d forged datagrams queued: %d of %d bytes of the buffer used; a status costs %d", sent, rmem, rcvbuf, statusCost)
	n2.Send(routineMsg("status 3"))
	n2.Send(routineMsg("status 4"))
	time.Sleep(50 * time.Millisecond)
	var got []string
	forged := 0
	n1.Drain(func(p Packet) {
		if s := string(p.Data); s == string(routineMsg("status 3")) || s == string(routineMsg("status 4")) {
			got = append(got, s[len(s)-8:])
		} else {
			forged++
		}
	})
	floods := n1.TakeFloods(nil)
	_, _, drops := meminfo(t, fd)
	st := n1.Stats()["lo"]
	t.Logf("the drain read %d forged datagrams; node 2's statuses %q; floods reported on %q; kernel drops %d, the socket's count %d", forged, got, floods, st.KernelDrops, drops)
	if len(got) < 2 && !slices.Equal(floods, []string{"lo"}) {
		t.Errorf("node 2's statuses were dropped (%d of 2 given) and the drain reported floods on %q, want [lo]: the daemon cannot know it lost them", len(got), floods)
	}
	if len(got) == 2 {
		t.Logf("the fill left room for node 2's statuses: it proved nothing")
	}
	// No datagram told of these drops (none came after them): the
	// socket's own count did, and hbd status shows it.
	if st.KernelDrops != uint64(drops) {
		t.Errorf("KernelDrops %d, the routine socket dropped %d", st.KernelDrops, drops)
	}
	// A status queued now carries the same count (SO_RXQ_OVFL), read in
	// flood mode or by the next drain: it is not counted again.
	n2.Send(routineMsg("status 5"))
	time.Sleep(50 * time.Millisecond)
	drained(n1)
	if st := n1.Stats()["lo"]; st.KernelDrops != uint64(drops) {
		t.Errorf("after node 2's next status, KernelDrops %d, the routine socket dropped %d", st.KernelDrops, drops)
	}
}

// drainedPair is a steered pair whose node 1 has just drained node 2's
// status, a socket at 127.0.0.2 to forge node 2's datagrams from, where
// they go, and where node 1's links hand on what their readers read.
func drainedPair(t *testing.T) (n1, n2 *Set, spoof *net.UDPConn, to netip.AddrPort, peers chan Packet) {
	t.Helper()
	peers = make(chan Packet, 4096)
	n1, n2, port := steeredPair(t, Options{Packets: peers})
	spoof, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		testenv.Skip(t, "%v", err)
	}
	t.Cleanup(func() { spoof.Close() })
	to = netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", port))
	n2.Send(routineMsg("status 1"))
	time.Sleep(20 * time.Millisecond)
	if got := drained(n1); !slices.Contains(got, "127.0.0.2 status 1") {
		t.Fatalf("first drain %q, want node 2's status", got)
	}
	return n1, n2, spoof, to, peers
}
