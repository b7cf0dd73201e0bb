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
// a deadtime before it judges it), and node 2's statuses after that
// drain come at once (flood mode).
func TestFloodBetweenRareDrains(t *testing.T) {
	peers := make(chan Packet, 4096)
	n1, n2, port := steeredPair(t, Options{Packets: peers})
	spoof, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		testenv.Skip(t, "%v", err)
	}
	defer spoof.Close()
	to := netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", port))
	n2.Send(routineMsg("status 1"))
	time.Sleep(20 * time.Millisecond)
	if got := drained(n1); !slices.Contains(got, "127.0.0.2 status 1") {
		t.Fatalf("first drain %q, want node 2's status", got)
	}
	if f := n1.TakeFloods(); f != 0 {
		t.Fatalf("a flood reported before any: %d", f)
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
	if f := n1.TakeFloods(); f != 1 {
		t.Errorf("the drain after the burst reports %d floods, want 1 (it read %d datagrams)", f, len(got))
	}
	if f := n1.TakeFloods(); f != 0 {
		t.Errorf("a second TakeFloods gives %d, want 0", f)
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
				st := n1.Stats()["lo"]
				t.Logf("kernel drops %d, floods %d", st.KernelDrops, st.Floods)
				return
			}
		case <-deadline:
			t.Fatal("node 2's status after the flooded drain was not read at once")
		}
	}
}
