package link

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

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

// TestCloseDrainUnderFlood: a peer's socket flooded faster than its
// reader hands datagrams on (datagrams forged with the peer's address)
// never runs empty, yet CloseDrain returns while the flood goes on: the
// readers stop after the batch in hand once the set closes, and what
// is left is read as Drain reads it, a bounded number. The caller is the
// event loop, between two heartbeats.
func TestCloseDrainUnderFlood(t *testing.T) {
	for _, tc := range []struct {
		name   string
		attach func(int, []unix.SockFilter) error
	}{
		{"steered", nil},
		{"not steered", func(int, []unix.SockFilter) error { return unix.EOPNOTSUPP }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A reader much slower than the sender: 100 µs a datagram.
			slow := func(Packet) bool { time.Sleep(100 * time.Microsecond); return true }
			n1, n2 := twoNodes(t, freePort(t), Options{Peer: slow, Others: make(chan Packet, 16), attachSteering: tc.attach},
				Options{Packets: make(chan Packet, 16)})
			stop, flooded := make(chan struct{}), make(chan bool, 1)
			go func() {
				// Bounded: 10 s at the most, or until CloseDrain returns.
				end := time.Now().Add(10 * time.Second)
				for i := 0; ; i++ {
					select {
					case <-stop:
						flooded <- false
						return
					default:
					}
					if time.Now().After(end) {
						flooded <- true // ran to its end: CloseDrain did not return
						return
					}
					n2.Send([]byte("flood"))
				}
			}()
			time.Sleep(100 * time.Millisecond) // the socket full, the reader behind
			closed := make(chan error, 1)
			go func() { closed <- n1.CloseDrain(func(Packet) {}) }()
			var err error
			select {
			case err = <-closed:
				close(stop)
			case ended := <-flooded:
				if ended {
					t.Fatal("CloseDrain did not return while the flood went on (10 s)")
				}
			}
			if <-flooded {
				t.Error("the flood ran to its end before CloseDrain returned")
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
