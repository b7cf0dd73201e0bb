package link

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCloseDrainLosesNothing: every datagram a peer sent before the set
// closes reaches the caller, through a reader (Options.Peer) or through
// CloseDrain's fn, exactly once, whether the link is steered or not:
// the peer's datagrams are in the set's sockets when CloseDrain begins
// (loopback delivers on send), most of them not read yet by a reader
// that has not run meanwhile. A set closed already gives nothing more.
func TestCloseDrainLosesNothing(t *testing.T) {
	refuse := func(int, []unix.SockFilter) error { return unix.EOPNOTSUPP }
	for _, tc := range []struct {
		name   string
		attach func(int, []unix.SockFilter) error
	}{
		{"steered", nil},
		{"not steered", refuse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const rounds, sent = 20, 12 // at most floodDrain a socket
			for round := range rounds {
				var mu sync.Mutex
				var got []string
				take := func(p Packet) {
					mu.Lock()
					defer mu.Unlock()
					got = append(got, string(p.Data))
				}
				peer := func(p Packet) bool { take(p); return true }
				n1, n2 := twoNodes(t, freePort(t), Options{Peer: peer, Others: make(chan Packet, 16), attachSteering: tc.attach},
					Options{Packets: make(chan Packet, 16)})
				if steered := n1.Stats()["lo"].Steered; steered != (tc.attach == nil) {
					if !steered {
						t.Skip("the kernel does not steer (SO_ATTACH_REUSEPORT_CBPF refused)")
					}
					t.Fatalf("steered %v with steering refused", steered)
				}
				var want []string
				for i := range sent {
					b := []byte(fmt.Sprint("u", i))
					if i%2 == 1 {
						b = routineMsg(fmt.Sprint("r", i))
					}
					n2.Send(b)
					want = append(want, string(b))
				}
				if err := n1.CloseDrain(take); err != nil {
					t.Fatal(err)
				}
				if err := n1.CloseDrain(func(p Packet) { t.Errorf("closed already, and gave %q", p.Data) }); err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Fatalf("round %d: got %q, want each of %q once", round, got, want)
				}
				mu.Unlock()
			}
		})
	}
}
