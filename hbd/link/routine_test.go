package link

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/testenv"
	"github.com/hbdproject/hbd/hbd/wire"
)

// spin busies the caller for about d, as the verification of a drained
// datagram does on the caller's loop.
func spin(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
	}
}

// TestDrainReturnsDuringFlood: a flood of routine datagrams forged with
// the peer's address, sent for as long as the drain lasts, does not hold
// Drain (and the caller's loop, which sends no heartbeat meanwhile): a
// drain stops after floodDrain datagrams and the flood mode's reader takes
// the rest.
func TestDrainReturnsDuringFlood(t *testing.T) {
	n1, _, port := steeredPair(t, Options{Packets: make(chan Packet, 4096)})
	spoof, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		testenv.Skip(t, "%v", err)
	}
	defer spoof.Close()
	to := netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", port))
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		b := routineMsg("forged")
		for end := time.Now().Add(3 * time.Second); !stop.Load() && time.Now().Before(end); {
			spoof.WriteToUDPAddrPort(b, to)
		}
	}()
	defer func() { stop.Store(true); wg.Wait() }()
	time.Sleep(20 * time.Millisecond) // the flood fills the routine socket
	n := 0
	n1.Drain(func(Packet) { n++; spin(3 * time.Microsecond) })
	if n > floodDrain+recvBatch {
		t.Errorf("Drain read %d datagrams of a flood, want at most %d", n, floodDrain+recvBatch)
	}
	if st := n1.Stats()["lo"]; st.Floods != 1 {
		t.Errorf("stats %+v: want one flood", st)
	}
}

// TestDrainedArrivalAfterWait: a routine datagram waits in its socket
// until the caller's next wake-up, a keepalive or more (here longer than
// maxKernelAge); its At is still when it arrived (the daemon orders
// drained messages by it), not when it was read.
func TestDrainedArrivalAfterWait(t *testing.T) {
	n1, n2, _ := steeredPair(t, Options{Packets: make(chan Packet, 16)})
	sent := time.Now()
	n2.Send(routineMsg("r"))
	time.Sleep(maxKernelAge + 300*time.Millisecond)
	var at time.Time
	n1.Drain(func(p Packet) { at = p.At })
	if at.IsZero() {
		t.Fatal("nothing drained")
	}
	if d := at.Sub(sent); d < 0 || d > 100*time.Millisecond {
		t.Errorf("drained At is %v after the send, want its arrival", d)
	}
}

// TestArrivalAfter: a drained datagram's arrival is taken from the
// kernel's stamp whatever its age, but kept after the moment its socket
// was last found empty and before the read, whatever the wall clock did.
// When the wall clock stepped by more than maxWallStep while the socket
// waited, the datagram arrives when it came, whether it came before the
// step (its stamp off by the step) or after it, where only one reading
// fits within the wait; where both fit, at the later one. A step within
// maxWallStep leaves the stamp believed. The first stepped case is a
// quiet passive's at keepalive 50 ms / deadtime 200 ms: its holder's
// status came 150 ms before the read, the socket empty 200 ms before it,
// and the wall clock stepped forward by 175 ms between the two, so the
// stamp says 325 ms.
func TestArrivalAfter(t *testing.T) {
	now := time.Now()
	wall := func(d time.Duration) time.Time { return now.Round(0).Add(-d) } // a kernel stamp: no monotonic reading
	const ms = time.Millisecond
	for _, tc := range []struct {
		name   string
		waited time.Duration // since the socket was found empty
		kernel time.Time
		step   time.Duration
		want   time.Duration // before now
	}{
		{"no stamp", 5 * time.Second, time.Time{}, 0, 0},
		{"fresh", 5 * time.Second, wall(ms), 0, ms},
		{"waited longer than maxKernelAge", 5 * time.Second, wall(4 * time.Second), 0, 4 * time.Second},
		{"stamped before the socket was empty (clock stepped forward)", 5 * time.Second, wall(time.Minute), 0, 5 * time.Second},
		{"stamped in the future (clock stepped back)", 5 * time.Second, wall(-time.Second), 0, 0},
		{"a step forward after it came", 200 * ms, wall(325 * ms), 175 * ms, 150 * ms},
		{"the same step unsaid", 200 * ms, wall(325 * ms), 0, 200 * ms},
		{"a step forward before it came", 200 * ms, wall(20 * ms), 175 * ms, 20 * ms},
		{"a step forward, both readings fit", 200 * ms, wall(150 * ms), 50 * ms, 100 * ms},
		{"a step forward of just over the bound", 200 * ms, wall(156 * ms), maxWallStep + ms, 150 * ms},
		{"a slew within the bound", 200 * ms, wall(153 * ms), 3 * ms, 153 * ms},
		{"a step back after it came", 200 * ms, wall(-850 * ms), -time.Second, 150 * ms},
		{"a step back before it came", 200 * ms, wall(100 * ms), -time.Second, 100 * ms},
		{"a step back, both readings fit", 200 * ms, wall(100 * ms), -50 * ms, 100 * ms},
		{"no reading fits (steps both ways)", 200 * ms, wall(500 * ms), 175 * ms, 200 * ms},
	} {
		if got := now.Sub(ArrivalAfter(now, tc.kernel, now.Add(-tc.waited), tc.step)); got != tc.want {
			t.Errorf("%s: arrival %v before now, want %v", tc.name, got, tc.want)
		}
	}
}

// TestWallStep: two readings of time.Now with no step between them show
// none (within what separates the two clocks' reads in one time.Now), nor
// do readings without a monotonic one.
func TestWallStep(t *testing.T) {
	since := time.Now()
	time.Sleep(10 * time.Millisecond)
	now := time.Now()
	if step := WallStep(since, now); step > time.Millisecond || step < -time.Millisecond {
		t.Errorf("WallStep over 10 ms of no step: %v", step)
	}
	if step := WallStep(since.Round(0), now); step != 0 {
		t.Errorf("WallStep without since's monotonic reading: %v, want 0", step)
	}
}

// BenchmarkDrainEmpty is the cost of a wake-up's Drain at rest: one peer
// whose sockets hold nothing.
func BenchmarkDrainEmpty(b *testing.B) {
	port := freePort(b)
	s, err := Open(context.Background(), []config.Medium{ucast("lo", "127.0.0.2", "127.0.0.1", port, 10)}, Options{Packets: make(chan Packet, 16)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if !s.Stats()["lo"].Steered {
		b.Skip("the kernel does not steer")
	}
	fn := func(Packet) { b.Fatal("a datagram drained") }
	b.ReportAllocs()
	for b.Loop() {
		s.Drain(fn)
	}
}

// TestArrivalOrderWallClockStepBack: the wall clock steps back by a
// second between two datagrams a socket queued, read in one batch. The
// first one's kernel stamp is then in the future (stamped at the read),
// the second's is not: by their stamps alone the second came first.
// Stamped in the socket's order, neither arrives before the one queued
// ahead of it, whichever way the socket is read (at once, or drained at
// a wake-up), and a datagram queued later keeps its own later stamp.
func TestArrivalOrderWallClockStepBack(t *testing.T) {
	now := time.Now()
	since := now.Add(-50 * time.Millisecond)
	wall := func(d time.Duration) time.Time { return now.Round(0).Add(d) } // a kernel stamp: no monotonic reading
	// Queued 30 ms and 20 ms before the read, by the clock of their
	// time: the step back of 1 s came between the two.
	first, second := wall(-30*time.Millisecond+time.Second), wall(-20*time.Millisecond)
	for _, tc := range []struct {
		name  string
		stamp func(kernel time.Time) time.Time
	}{
		{"read at once", func(k time.Time) time.Time { return arrival(now, k) }},
		{"drained", func(k time.Time) time.Time { return ArrivalAfter(now, k, since, 0) }},
	} {
		a1, a2 := tc.stamp(first), tc.stamp(second)
		if !a2.Before(a1) {
			t.Fatalf("%s: the stamps alone are in order (%v, %v): the case tests nothing", tc.name, now.Sub(a1), now.Sub(a2))
		}
		var o arrivalOrder
		o1, o2 := o.next(a1), o.next(a2)
		if o2.Before(o1) {
			t.Errorf("%s: the second datagram arrives %v before the first", tc.name, o1.Sub(o2))
		}
		if !o1.Equal(a1) {
			t.Errorf("%s: the first datagram's arrival moved by %v", tc.name, o1.Sub(a1))
		}
		// A third one, after both, keeps its own stamp.
		a3 := now.Add(time.Millisecond)
		if o3 := o.next(a3); !o3.Equal(a3) {
			t.Errorf("%s: a later datagram's arrival moved by %v", tc.name, o3.Sub(a3))
		}
	}
}

// TestDrainWaitsForFloodReader: with the peer's routine socket in flood
// mode, a routine datagram of the peer that came before one of its
// other datagrams is handed on or given to Drain's fn by the time Drain
// returns, whether the flood's reader holds it (Drain waits for it) or
// it still waits in the socket behind the one the reader holds (Drain
// reads it), while the other datagram was handed on at once.
func TestDrainWaitsForFloodReader(t *testing.T) {
	var mu sync.Mutex
	var got []string
	note := func(p Packet) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, strings.TrimPrefix(string(p.Data), wire.RoutinePrefix))
	}
	noted := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
	entered, held := make(chan struct{}), make(chan struct{})
	release := sync.OnceFunc(func() { close(held) })
	defer release()
	peer := func(p Packet) bool {
		if string(p.Data) == wire.RoutinePrefix+"r0" {
			close(entered)
			<-held
		}
		note(p)
		return true
	}
	n1, n2, _ := steeredPair(t, Options{Peer: peer, Others: make(chan Packet, 16)})
	n1.drainMu.Lock()
	n1.startPoll(n1.links[0], n1.links[0].routine[0]) // as a flood would
	n1.drainMu.Unlock()
	n2.Send(routineMsg("r0"))
	select {
	case <-entered:
	case <-time.After(waitFor):
		t.Fatal("r0 never reached the flood's reader")
	}
	n2.Send(routineMsg("r1")) // waits in the socket: the reader holds r0
	n2.Send([]byte("u2"))     // read at once
	for deadline := time.Now().Add(waitFor); !slices.Contains(noted(), "u2"); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("u2 never handed on")
		}
	}
	drainWhileHeld(t, n1, note, release)
	for _, s := range []string{"r0", "r1"} {
		if !slices.Contains(noted(), s) {
			t.Errorf("%s not handed on when Drain returned (noted %q)", s, noted())
		}
	}
}

// TestQuietAllowance: what a routine socket in flood mode may have read
// between two drains and still be quiet grows with the time between
// them, by keepalives.
func TestQuietAllowance(t *testing.T) {
	const ka = 10 * time.Millisecond
	for _, tc := range []struct {
		interval, keepalive time.Duration
		want                uint64
	}{
		{0, ka, quietDrain},
		{ka / 2, ka, quietDrain},
		{ka, ka, quietDrain},
		{ka + ka/2, ka, quietDrain},
		{2 * ka, ka, 2 * quietDrain},
		{10 * ka, ka, 10 * quietDrain},
		{time.Hour, ka, 360_000 * quietDrain},
		{time.Hour, 0, quietDrain}, // keepalive unknown: per drain
		{-time.Second, ka, quietDrain},
	} {
		if got := quietAllowance(tc.interval, tc.keepalive); got != tc.want {
			t.Errorf("interval %v, keepalive %v: %d, want %d", tc.interval, tc.keepalive, got, tc.want)
		}
	}
}

// TestFloodModeEndsWithRareDrains: a node that drains once every ten
// keepalives (a quiet passive) finds ten of its peer's statuses each time;
// its routine socket leaves flood mode after quietFor all the same,
// unless the keepalive is unknown (a few per drain, as before). A flood
// that goes on at ten datagrams a keepalive keeps it in flood mode.
func TestFloodModeEndsWithRareDrains(t *testing.T) {
	const (
		ka       = 20 * time.Millisecond
		every    = 10 * ka
		quietFor = 300 * time.Millisecond
	)
	for _, tc := range []struct {
		name      string
		keepalive time.Duration
		perDrain  int // datagrams the peer sends between two drains
		ends      bool
	}{
		{"statuses of ten keepalives", ka, 10, true},
		{"keepalive unknown", 0, 10, false},
		{"a flood of ten a keepalive", ka, 100, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n1, n2, _ := steeredPair(t, Options{Packets: make(chan Packet, 4096), quietFor: quietFor, Keepalive: tc.keepalive})
			r := n1.links[0].routine[0]
			n1.drainMu.Lock()
			n1.startPoll(n1.links[0], r) // as a flood would
			n1.drainMu.Unlock()
			// Long enough for quietFor several times over; bounded.
			end := time.Now().Add(5 * quietFor)
			if tc.ends {
				end = time.Now().Add(waitFor)
			}
			drains := 0
			for r.poll != nil && time.Now().Before(end) {
				for i := range tc.perDrain {
					n2.Send(routineMsg(fmt.Sprint("s", drains, ".", i)))
				}
				time.Sleep(every)
				drained(n1)
				drains++
			}
			if ended := r.poll == nil; ended != tc.ends {
				t.Errorf("flood mode ended %v after %d drains %v apart, want %v", ended, drains, every, tc.ends)
			}
		})
	}
}

// BenchmarkSockMemInfo is the cost of the look at a routine socket's
// drop count that a drain which read anything makes (dropped).
func BenchmarkSockMemInfo(b *testing.B) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	f, err := c.File()
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := sockMemInfo(fd); !ok {
			b.Fatal("SO_MEMINFO refused")
		}
	}
}
