package link

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
	"golang.org/x/sys/unix"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/testenv"
	"github.com/hbdproject/hbd/hbd/wire"
)

// routineMsg is a datagram that begins with the routine mark.
func routineMsg(s string) []byte { return []byte(wire.RoutinePrefix + s) }

// drained is what one Drain of s gives, copied.
func drained(s *Set) []string {
	var got []string
	s.Drain(func(p Packet) {
		got = append(got, p.From.Addr().String()+" "+strings.TrimPrefix(string(p.Data), wire.RoutinePrefix))
	})
	return got
}

// steeredPair is twoNodes whose node 1 the kernel steers for: it skips
// where the kernel cannot.
func steeredPair(t *testing.T, opts1 Options) (n1, n2 *Set, port int) {
	t.Helper()
	port = freePort(t)
	n1, n2 = twoNodes(t, port, opts1, Options{Packets: make(chan Packet, 64)})
	if !n1.Stats()["lo"].Steered {
		testenv.Skip(t, "the kernel does not steer (SO_ATTACH_REUSEPORT_CBPF refused)")
	}
	stampsOnArrival(t)
	return n1, n2, port
}

// stampsOnArrival waits until the kernel stamps datagrams as they arrive
// (Packet.At). It turns its receive stamps on for the whole system when
// a first socket asks for them (SO_TIMESTAMPNS), from a work queue, and
// off when the last one closes: until that work has run, a datagram is
// stamped when it is read, and arrivals compared across sockets come in
// the order of the reads. A test that has just opened sockets that ask
// for them, while no other socket of the system does, waits for it before
// it sends what it compares; its sockets keep the stamps on from then.
func stampsOnArrival(t *testing.T) {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1) }); err != nil || serr != nil {
		t.Fatalf("SO_TIMESTAMPNS: %v %v", err, serr)
	}
	to := c.LocalAddr().(*net.UDPAddr).AddrPort()
	buf, oob := make([]byte, 8), make([]byte, oobSpace)
	for deadline := time.Now().Add(waitFor); ; {
		if _, err := c.WriteToUDPAddrPort([]byte("p"), to); err != nil {
			t.Fatal(err)
		}
		sent := time.Now() // loopback delivers (and stamps) on send
		time.Sleep(5 * time.Millisecond)
		_, oobn, _, _, err := c.ReadMsgUDPAddrPort(buf, oob)
		if err != nil {
			t.Fatal(err)
		}
		if k := parseCmsgs(oob[:oobn]).kernelTime; !k.IsZero() && k.Before(sent.Add(2*time.Millisecond)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the kernel did not stamp datagrams on arrival within %v", waitFor)
		}
	}
}

// TestSteering: a routine datagram from the peer waits for Drain; any
// other datagram from it arrives at once; a stranger's routine datagram
// goes to Others, never to the peer's sockets.
func TestSteering(t *testing.T) {
	peers, others := make(chan Packet, 16), make(chan Packet, 16)
	n1, n2, port := steeredPair(t, Options{Packets: peers, Others: others})
	from2 := netip.MustParseAddrPort(fmt.Sprintf("127.0.0.2:%d", port))

	n2.Send(routineMsg("r1"))
	expectNone(t, peers, routineMsg("r1"), 100*time.Millisecond)
	if got := drained(n1); len(got) != 1 || got[0] != "127.0.0.2 r1" {
		t.Errorf("drained %q, want the routine datagram", got)
	}
	if got := drained(n1); len(got) != 0 {
		t.Errorf("drained %q again", got)
	}
	n2.Send([]byte("u1"))
	expectPacket(t, peers, []byte("u1"), "lo", from2)
	// Too short to hold the mark, or the mark's start only: read at once.
	for _, b := range [][]byte{[]byte("###\n"), []byte(wire.RoutinePrefix[:len(wire.RoutinePrefix)-6])} {
		n2.Send(b)
		expectPacket(t, peers, b, "lo", from2)
	}

	c := stranger(t)
	to := netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", port))
	if _, err := c.WriteToUDPAddrPort(routineMsg("s1"), to); err != nil {
		t.Fatal(err)
	}
	expectPacket(t, others, routineMsg("s1"), "lo", c.LocalAddr().(*net.UDPAddr).AddrPort())
	if got := drained(n1); len(got) != 0 {
		t.Errorf("drained %q: a stranger's datagram on a peer's routine socket", got)
	}
	waitStats(t, n1, "lo", "one routine datagram read at a drain", func(st LinkStats) bool {
		return st.RoutineRead == 1 && st.Received == 5 && st.Floods == 0
	})
}

// TestSteeringKeepsOrder: a routine datagram sent before one that is read
// at once is waiting in its socket when the later one arrives, so a Drain
// before acting on the later one sees them in the order sent.
func TestSteeringKeepsOrder(t *testing.T) {
	peers := make(chan Packet, 16)
	n1, n2, _ := steeredPair(t, Options{Packets: peers})
	for i := range 20 {
		n2.Send(routineMsg(fmt.Sprint("r", i)))
		n2.Send([]byte(fmt.Sprint("u", i)))
		select {
		case p := <-peers:
			if string(p.Data) != fmt.Sprint("u", i) {
				t.Fatalf("got %q, want u%d", p.Data, i)
			}
		case <-time.After(waitFor):
			t.Fatalf("no u%d", i)
		}
		if got := drained(n1); len(got) != 1 || got[0] != fmt.Sprint("127.0.0.2 r", i) {
			t.Fatalf("drained %q after u%d, want r%d", got, i, i)
		}
	}
}

// TestRoutineFlood: a flood of routine datagrams with the peer's source
// address (the mark is public) makes the routine socket read at once,
// the peer's own routine datagrams keep arriving, and once the flood is
// over and the drains find it quiet, the socket is read at wake-ups
// again.
func TestRoutineFlood(t *testing.T) {
	peers := make(chan Packet, 4096)
	n1, n2, port := steeredPair(t, Options{Packets: peers, quietFor: 300 * time.Millisecond})
	spoof, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		testenv.Skip(t, "%v", err)
	}
	defer spoof.Close()
	to := netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", port))
	const flood = 2000 // more than the socket's buffer holds
	for i := range flood {
		if _, err := spoof.WriteToUDPAddrPort(routineMsg(fmt.Sprint("flood ", i)), to); err != nil {
			t.Fatal(err)
		}
	}
	if got := drained(n1); len(got) <= floodDrain || len(got) > floodDrain+recvBatch {
		t.Fatalf("drained %d datagrams of the flood, want more than %d and no more than the batch after it", len(got), floodDrain)
	}
	if st := n1.Stats()["lo"]; st.Floods != 1 {
		t.Fatalf("stats %+v: want one flood", st)
	}
	// Flooded: the peer's routine datagrams come at once, and the first
	// one read says how many the kernel dropped. (The flood's reader
	// empties the buffer the drain left first.)
	for prev := -1; len(peers) != prev; time.Sleep(50 * time.Millisecond) {
		prev = len(peers)
	}
	n2.Send(routineMsg("during"))
	expectPacket(t, peers, routineMsg("during"), "lo", netip.MustParseAddrPort(fmt.Sprintf("127.0.0.2:%d", port)))
	if st := n1.Stats()["lo"]; st.KernelDrops == 0 || st.Floods != 1 {
		t.Fatalf("stats %+v: want the kernel's drops counted", st)
	}
	// Quiet: the drains end the flood mode after quietFor.
	deadline := time.Now().Add(waitFor)
	for n1.routineSocks()[0].poll != nil {
		if time.Now().After(deadline) {
			t.Fatal("still reading the routine socket at once after the flood")
		}
		drained(n1)
		time.Sleep(20 * time.Millisecond)
	}
	n2.Send(routineMsg("after"))
	expectNone(t, peers, routineMsg("after"), 100*time.Millisecond)
	if got := drained(n1); len(got) != 1 || got[0] != "127.0.0.2 after" {
		t.Errorf("drained %q after the flood, want the routine datagram", got)
	}
	if st := n1.Stats()["lo"]; st.Floods != 1 {
		t.Errorf("stats %+v: want the one flood", st)
	}
}

// routineSocks is every routine socket of s.
func (s *Set) routineSocks() []*routineSock {
	var all []*routineSock
	for _, l := range s.links {
		all = append(all, l.routine...)
	}
	return all
}

// TestSteeringRefused: where the kernel refuses the program, the link
// opens as without steering (a connected socket per peer), says so once,
// and every datagram is read at once.
func TestSteeringRefused(t *testing.T) {
	port := freePort(t)
	log, hook := test.NewNullLogger()
	peers := make(chan Packet, 16)
	refuse := func(int, []unix.SockFilter) error {
		return errors.New("SO_ATTACH_REUSEPORT_CBPF: operation not supported")
	}
	n1, n2 := twoNodes(t, port, Options{Packets: peers, Log: log, attachSteering: refuse}, Options{Packets: make(chan Packet, 16)})
	if st := n1.Stats()["lo"]; st.Steered || n1.SharedAddress() {
		t.Fatalf("stats %+v, shared address %v: steered, or refused for a shared address", st, n1.SharedAddress())
	}
	if l := n1.byName["lo"]; len(l.peerConns) != 1 || len(l.routine) != 0 {
		t.Fatalf("%d peer sockets, %d routine sockets; want 1 and 0", len(l.peerConns), len(l.routine))
	}
	var warned []string
	for _, e := range hook.AllEntries() {
		if e.Level == logrus.WarnLevel {
			warned = append(warned, e.Message)
		}
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "every heartbeat wakes the daemon") {
		t.Errorf("warnings %q, want one saying steering is off", warned)
	}
	n2.Send(routineMsg("r"))
	expectPacket(t, peers, routineMsg("r"), "lo", netip.MustParseAddrPort(fmt.Sprintf("127.0.0.2:%d", port)))
	if got := drained(n1); len(got) != 0 {
		t.Errorf("drained %q without routine sockets", got)
	}
}

// TestSteeringSharedAddress: a socket of another process bound to the
// same address and port with SO_REUSEPORT would take indexes of the
// group: the link does not steer then.
func TestSteeringSharedAddress(t *testing.T) {
	port := freePort(t)
	fd, err := openRawSocket(ifaceInfo{Name: "lo"}, sockPlan{Bind: netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", port)), Role: roleUnicast})
	if err != nil {
		testenv.Skip(t, "%v", err)
	}
	defer unix.Close(fd)
	n1, _ := twoNodes(t, port, Options{Packets: make(chan Packet, 16)}, Options{Packets: make(chan Packet, 16)})
	if st := n1.Stats()["lo"]; st.Steered || !n1.SharedAddress() {
		t.Errorf("steered %v, shared address %v, with a foreign socket in the group", st.Steered, n1.SharedAddress())
	}
}

// TestProcAddr: /proc/net/udp's form of an address, on a little-endian
// machine.
func TestProcAddr(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		testenv.Skip(t, "the expected forms are a little-endian machine's")
	}
	for _, tc := range []struct{ ap, want string }{
		{"127.0.0.1:694", "0100007F:02B6"},
		{"[::1]:694", "00000000000000000000000001000000:02B6"},
		{"10.1.2.3:65535", "0302010A:FFFF"},
	} {
		if got := procAddr(netip.MustParseAddrPort(tc.ap)); got != tc.want {
			t.Errorf("procAddr(%s) = %s, want %s", tc.ap, got, tc.want)
		}
	}
}

// TestSteeringBesideUnsteered: media opened beside a set that does not
// steer (a reload's, before the old set closes) steer: that set's sockets
// cannot join the new group. So the second reload of the media after a
// start steers again.
func TestSteeringBesideUnsteered(t *testing.T) {
	port := freePort(t)
	media := []config.Medium{
		ucast("lo", "127.0.0.1", "127.0.0.1", port, 10),
		ucast("lo", "127.0.0.2", "127.0.0.1", port, 11),
	}
	plain, err := Open(context.Background(), media, Options{Packets: make(chan Packet, 16), attachSteering: func(int, []unix.SockFilter) error {
		return errors.New("SO_ATTACH_REUSEPORT_CBPF: operation not supported")
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if plain.Stats()["lo"].Steered {
		t.Fatalf("the set with a refused program steers")
	}
	peers := make(chan Packet, 16)
	n1, err := Open(context.Background(), media, Options{Packets: peers})
	if err != nil {
		t.Fatal(err)
	}
	defer n1.Close()
	if !n1.Stats()["lo"].Steered {
		t.Fatalf("not steered beside a set that does not steer")
	}
	plain.Close()
	n2, err := Open(context.Background(), []config.Medium{
		ucast("lo", "127.0.0.1", "127.0.0.2", port, 10),
		ucast("lo", "127.0.0.2", "127.0.0.2", port, 11),
	}, Options{Packets: make(chan Packet, 16)})
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close()
	n2.Send(routineMsg("r"))
	expectNone(t, peers, routineMsg("r"), 50*time.Millisecond)
	if got := drained(n1); len(got) != 1 || got[0] != "127.0.0.2 r" {
		t.Errorf("drained %q, want the routine datagram", got)
	}
}

// heldReader opens a steered pair whose first node's reader gives each
// datagram of the peer to note, and has the peer send "u0": it returns
// once the reader holds u0, which it keeps until release is closed.
func heldReader(t *testing.T, note func(Packet)) (n1, n2 *Set, release chan struct{}) {
	t.Helper()
	entered, release := make(chan struct{}), make(chan struct{})
	peer := func(p Packet) bool {
		if string(p.Data) == "u0" {
			close(entered)
			<-release
		}
		note(p)
		return true
	}
	n1, n2, _ = steeredPair(t, Options{Peer: peer, Others: make(chan Packet, 16)})
	n2.Send([]byte("u0"))
	select {
	case <-entered:
	case <-time.After(waitFor):
		close(release)
		t.Fatal("u0 never reached the reader")
	}
	return n1, n2, release
}

// TestDrainWaitsForOwnSocket: a peer's datagram that is not routine and
// came before a routine one is handed on or given to Drain's fn by the
// time Drain returns, whether its reader goroutine is busy with an
// earlier one (Drain waits for it) or has not read it yet (Drain reads
// it): ordered by arrival, the peer's datagrams are then in the order
// sent.
func TestDrainWaitsForOwnSocket(t *testing.T) {
	type got struct {
		data string
		at   time.Time
	}
	var mu sync.Mutex
	var log []got
	note := func(p Packet) {
		mu.Lock()
		defer mu.Unlock()
		log = append(log, got{strings.TrimPrefix(string(p.Data), wire.RoutinePrefix), p.At})
	}
	n1, n2, release := heldReader(t, note)
	n2.Send([]byte("u1")) // waits in the socket: its reader is busy with u0
	n2.Send(routineMsg("r2"))
	time.Sleep(20 * time.Millisecond) // both in their sockets
	drainWhileHeld(t, n1, note, func() { close(release) })
	mu.Lock()
	defer mu.Unlock()
	slices.SortStableFunc(log, func(a, b got) int { return a.at.Compare(b.at) })
	var order []string
	for _, g := range log {
		order = append(order, g.data)
	}
	if want := []string{"u0", "u1", "r2"}; !slices.Equal(order, want) {
		t.Errorf("by arrival when Drain returned: %q, want %q", order, want)
	}
}

// drainWhileHeld calls s.Drain(fn) while a reader goroutine of s holds
// an earlier datagram of the peer until release is called: Drain must
// not return before, and must once it is called.
func drainWhileHeld(t *testing.T, s *Set, fn func(Packet), release func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Drain(fn)
	}()
	select {
	case <-done:
		release()
		t.Fatal("Drain returned while the reader still held an earlier datagram of the peer")
	case <-time.After(100 * time.Millisecond):
	}
	release()
	select {
	case <-done:
	case <-time.After(waitFor):
		t.Fatal("Drain did not return once the reader was done")
	}
}

// TestDrainOwnReadsAtMostFloodDrain: a flood of a peer's own socket
// (datagrams forged with its address) costs a Drain at most floodDrain
// datagrams of it, each verified on the caller's loop; its reader takes
// the rest. The reader is held on the first datagram while the rest
// queue, and slow after it, so that Drain finds most of them waiting.
func TestDrainOwnReadsAtMostFloodDrain(t *testing.T) {
	// A reader slower than Drain's wait for its lock.
	n1, n2, release := heldReader(t, func(Packet) { time.Sleep(time.Millisecond) })
	const flood = 4 * floodDrain
	for i := range flood {
		n2.Send(fmt.Appendf(nil, "f%d", i))
	}
	time.Sleep(20 * time.Millisecond) // all in the socket
	drained := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		n1.Drain(func(Packet) { drained++ })
	}()
	// Drain waits for the reader's batch; once it has waited this long,
	// the lock goes to it before the reader's next batch.
	time.Sleep(50 * time.Millisecond)
	close(release)
	select {
	case <-done:
	case <-time.After(waitFor):
		t.Fatal("Drain did not return")
	}
	if drained > floodDrain || drained == 0 {
		t.Errorf("Drain gave %d of %d datagrams waiting in the peer's own socket, want 1 to %d", drained, flood, floodDrain)
	}
}
