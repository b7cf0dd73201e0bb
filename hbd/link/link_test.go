package link

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
	"golang.org/x/sys/unix"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/testenv"
)

// waitFor is the generous bound for anything expected to happen.
const waitFor = 5 * time.Second

// freePort returns a UDP port free on 127.0.0.1, 127.0.0.2 and, where
// IPv6 is on, ::1 at the time of the call.
func freePort(t testing.TB) int {
	t.Helper()
	addrs := []string{"127.0.0.2"}
	if testenv.HasIPv6Loopback() {
		addrs = append(addrs, "[::1]")
	}
	for range 50 {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		port := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		ok := true
		for _, a := range addrs {
			c2, err := net.ListenPacket("udp", fmt.Sprintf("%s:%d", a, port))
			if err != nil {
				ok = false
				break
			}
			c2.Close()
		}
		if ok {
			return port
		}
	}
	t.Fatal("no free UDP port")
	return 0
}

func ucast(iface, peer, local string, port, line int) config.Medium {
	m := config.Medium{Kind: config.Ucast, Iface: iface, Addr: netip.MustParseAddr(peer), Port: port,
		Pos: config.Pos{File: "ha.cf", Line: line}}
	if strings.Contains(peer, ":") {
		m.Kind = config.Ucast6
	}
	if local != "" {
		m.Local = netip.MustParseAddr(local)
	}
	return m
}

// expectPacket waits for a packet carrying data and checks where it came
// from; packets with other payloads are skipped.
func expectPacket(t *testing.T, ch <-chan Packet, data []byte, link string, from netip.AddrPort) Packet {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case p := <-ch:
			if !bytes.Equal(p.Data, data) {
				continue
			}
			if p.Link != link || p.From != from {
				t.Fatalf("packet %q: link %q from %s, want link %q from %s", data, p.Link, p.From, link, from)
			}
			if age := time.Since(p.At); age < 0 || age > waitFor {
				t.Fatalf("packet %q: At %v is %v old", data, p.At, age)
			}
			return p
		case <-deadline:
			t.Fatalf("no packet %q on link %q from %s within %v", data, link, from, waitFor)
		}
	}
}

// expectNone checks that no packet carrying data arrives within d.
func expectNone(t *testing.T, ch <-chan Packet, data []byte, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case p := <-ch:
			if bytes.Equal(p.Data, data) {
				t.Fatalf("unexpected packet %q on link %q from %s", data, p.Link, p.From)
			}
		case <-deadline:
			return
		}
	}
}

// twoNodes opens node 1 on 127.0.0.1 and node 2 on 127.0.0.2, each with
// ha.cf's usual ucast lines for both nodes (its own included) on lo.
func twoNodes(t *testing.T, port int, opts1, opts2 Options) (*Set, *Set) {
	t.Helper()
	open := func(local string, opts Options) *Set {
		media := []config.Medium{
			ucast("lo", "127.0.0.1", local, port, 10),
			ucast("lo", "127.0.0.2", local, port, 11),
		}
		s, err := Open(context.Background(), media, opts)
		if err != nil {
			t.Fatalf("Open %s: %v", local, err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	return open("127.0.0.1", opts1), open("127.0.0.2", opts2)
}

func TestLoopbackUcastBothWays(t *testing.T) {
	port := freePort(t)
	ch1, ch2 := make(chan Packet, 16), make(chan Packet, 16)
	n1, n2 := twoNodes(t, port, Options{Packets: ch1}, Options{Packets: ch2})

	if got := n1.Links(); len(got) != 1 || got[0] != "lo" {
		t.Fatalf("Links() = %q, want [lo]", got)
	}
	for i := range 3 {
		a, b := fmt.Appendf(nil, "from-1-%d", i), fmt.Appendf(nil, "from-2-%d", i)
		n1.Send(a)
		if err := n2.SendOn("lo", b); err != nil {
			t.Fatal(err)
		}
		expectPacket(t, ch2, a, "lo", netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", port)))
		expectPacket(t, ch1, b, "lo", netip.MustParseAddrPort(fmt.Sprintf("127.0.0.2:%d", port)))
	}
	// Own address skipped: each Send went to one destination only, and
	// nobody heard its own packets.
	expectNone(t, ch1, []byte("from-1-0"), 200*time.Millisecond)
	waitStats(t, n1, "lo", "3 sent, 3 received, nothing else", func(st LinkStats) bool {
		return st == LinkStats{Sent: 3, Received: 3, Steered: true}
	})
	if err := n1.SendOn("eth9", []byte("x")); err == nil || !strings.Contains(err.Error(), "eth9") {
		t.Fatalf("SendOn unknown link: err %v", err)
	}
}

func TestLoopbackUcast6Receive(t *testing.T) {
	testenv.NeedIPv6Loopback(t)
	port := freePort(t)
	ch := make(chan Packet, 4)
	// ::1 is on lo: sending to it is skipped, the link only listens.
	s, err := Open(context.Background(), []config.Medium{ucast("lo", "::1", "", port, 3)}, Options{Packets: ch})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Send([]byte("not sent anywhere"))

	c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.WriteToUDPAddrPort([]byte("v6"), netip.AddrPortFrom(netip.IPv6Loopback(), uint16(port))); err != nil {
		t.Fatal(err)
	}
	expectPacket(t, ch, []byte("v6"), "lo", c.LocalAddr().(*net.UDPAddr).AddrPort())
	if st := s.Stats()["lo"]; st.Sent != 0 || st.SendErrors != 0 {
		t.Fatalf("stats %+v: sent to our own address", st)
	}
}

func TestOpenErrors(t *testing.T) {
	ch := make(chan Packet, 1)
	port := freePort(t)
	tests := []struct {
		name  string
		media []config.Medium
		opts  Options
		want  []string
	}{
		{"no such interface", []config.Medium{ucast("lo", "127.0.0.2", "127.0.0.1", port, 1), ucast("hbdnosuch0", "10.0.0.2", "", port, 7)},
			Options{Packets: ch}, []string{"ha.cf:7", "hbdnosuch0"}},
		{"no channel", []config.Medium{ucast("lo", "127.0.0.2", "127.0.0.1", port, 1)}, Options{}, []string{"Packets"}},
		{"no media", nil, Options{Packets: ch}, []string{"no media"}},
		{"bad port", []config.Medium{ucast("lo", "127.0.0.2", "127.0.0.1", 0, 4)}, Options{Packets: ch}, []string{"ha.cf:4", "port"}},
		{"local not ours", []config.Medium{ucast("lo", "127.0.0.2", "192.0.2.77", port, 5)}, Options{Packets: ch}, []string{"ha.cf:5", "192.0.2.77"}},
		{"mcast not a group", []config.Medium{{Kind: config.Mcast, Iface: "lo", Addr: netip.MustParseAddr("10.1.2.3"), Port: port, TTL: 1,
			Pos: config.Pos{File: "ha.cf", Line: 9}}}, Options{Packets: ch}, []string{"ha.cf:9", "not a multicast group"}},
		{"bcast without ipv4 broadcast", []config.Medium{{Kind: config.Bcast, Iface: "lo", Port: port,
			Pos: config.Pos{File: "ha.cf", Line: 2}}}, Options{Packets: ch}, []string{"ha.cf:2", "broadcast"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			s, err := Open(context.Background(), tt.media, tt.opts)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			waitGoroutines(t, before)
		})
	}
	// The failed Opens released their sockets: the port can be bound again.
	s, err := Open(context.Background(), []config.Medium{ucast("lo", "127.0.0.2", "127.0.0.1", port, 1)}, Options{Packets: ch})
	if err != nil {
		t.Fatalf("port not released by failed Opens: %v", err)
	}
	s.Close()
}

// waitStats waits until the stats of a link satisfy ok. Counters are
// updated after the write or the delivery, so a peer may hold a packet a
// moment before its sender's counter says it was sent.
func waitStats(t *testing.T, s *Set, link, want string, ok func(LinkStats) bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		st, found := s.Stats()[link]
		if !found {
			t.Fatalf("no link %q in stats %v", link, s.Stats())
		}
		if ok(st) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("link %s stats %+v, want %s", link, st, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitGoroutines waits until the goroutine count is back to at most n.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want at most %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSendNeverBlocks(t *testing.T) {
	port := freePort(t)
	// Node 2 never reads its channel (capacity 1).
	ch1, ch2 := make(chan Packet, 1), make(chan Packet, 1)
	n1, n2 := twoNodes(t, port, Options{Packets: ch1}, Options{Packets: ch2})

	const sends = 20000
	data := bytes.Repeat([]byte("x"), 300)
	start := time.Now()
	for range sends {
		n1.Send(data)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("%d Sends took %v", sends, d)
	}
	// Every Send was written or counted before it returned.
	if st := n1.Stats()["lo"]; st.Sent+st.QueueDrops+st.SendErrors != sends || st.Sent == 0 {
		t.Fatalf("stats %+v: sent+dropped+errors != %d", st, sends)
	}
	// The reader of node 2 kept reading and dropped what did not fit.
	deadline := time.Now().Add(waitFor)
	for {
		st := n2.Stats()["lo"]
		if st.Received == 1 && st.ReceiveDrops > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node 2 stats %+v: want 1 received (channel capacity) and drops", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCloseStopsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	port := freePort(t)
	ch := make(chan Packet) // unbuffered, never read
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sets []*Set
	for _, local := range []string{"127.0.0.1", "127.0.0.2"} {
		media := []config.Medium{ucast("lo", "127.0.0.1", local, port, 1), ucast("lo", "127.0.0.2", local, port, 2),
			ucast("lo", "127.0.0.3", local, port+1, 3)} // a second port: a second socket
		s, err := Open(ctx, media, Options{Packets: ch})
		if err != nil {
			t.Fatal(err)
		}
		sets = append(sets, s)
	}
	for range 100 {
		sets[0].Send([]byte("busy"))
		sets[1].Send([]byte("busy"))
	}
	if runtime.NumGoroutine() < before+6 {
		t.Fatalf("only %d goroutines after opening, want a reader per socket", runtime.NumGoroutine()-before)
	}
	if err := sets[0].Close(); err != nil {
		t.Fatal(err)
	}
	if err := sets[0].Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	sets[0].Send([]byte("after close")) // no panic, no effect
	cancel()                            // the context stops the other
	waitGoroutines(t, before)
	if err := sets[1].Close(); err != nil {
		t.Fatal(err)
	}
}

func TestArrival(t *testing.T) {
	now := time.Now()
	wall := now.Round(0)
	tests := []struct {
		name   string
		kernel time.Time
		want   time.Duration // before now
	}{
		{"no kernel stamp", time.Time{}, 0},
		{"waited 3ms in the buffer", wall.Add(-3 * time.Millisecond), 3 * time.Millisecond},
		{"clock stepped back", wall.Add(time.Hour), 0},
		{"clock stepped forward", wall.Add(-time.Hour), 0},
	}
	for _, tt := range tests {
		got := arrival(now, tt.kernel)
		if d := now.Sub(got); d != tt.want {
			t.Errorf("%s: arrival is %v before now, want %v", tt.name, d, tt.want)
		}
		if got.Round(0) == got {
			t.Errorf("%s: arrival lost its monotonic reading", tt.name)
		}
	}
}

func BenchmarkRoundTrip300(b *testing.B) {
	port := 0
	for port == 0 {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
		if err != nil {
			b.Fatal(err)
		}
		port = c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
	}
	ch1, ch2 := make(chan Packet, 64), make(chan Packet, 64)
	open := func(local string, ch chan Packet) *Set {
		s, err := Open(context.Background(), []config.Medium{
			ucast("lo", "127.0.0.1", local, port, 1), ucast("lo", "127.0.0.2", local, port, 2)}, Options{Packets: ch})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	n1, n2 := open("127.0.0.1", ch1), open("127.0.0.2", ch2)
	defer n1.Close()
	defer n2.Close()
	data := bytes.Repeat([]byte("h"), 300)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		n1.Send(data)
		select {
		case <-ch2:
		case <-time.After(waitFor):
			b.Fatalf("datagram lost on loopback: sender %+v receiver %+v", n1.Stats(), n2.Stats())
		}
	}
}

func TestSocketOptions(t *testing.T) {
	port := freePort(t)
	ch := make(chan Packet, 1)
	for _, tc := range []struct {
		name  string
		local string
		level int // IP level of the TOS and packet-info options
		tos   int
		info  int
	}{
		{"ipv4", "127.0.0.1", unix.IPPROTO_IP, unix.IP_TOS, unix.IP_PKTINFO},
		{"ipv6", "::1", unix.IPPROTO_IPV6, unix.IPV6_TCLASS, unix.IPV6_RECVPKTINFO},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.level == unix.IPPROTO_IPV6 {
				testenv.NeedIPv6Loopback(t)
			}
			s, err := Open(context.Background(), []config.Medium{ucast("lo", tc.local, tc.local, port, 1)}, Options{Packets: ch})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			rc, err := s.links[0].conns[0].SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			var dev string
			got := map[string]int{}
			var errs []error
			rc.Control(func(fd uintptr) {
				get := func(name string, level, opt int) {
					v, err := unix.GetsockoptInt(int(fd), level, opt)
					errs = append(errs, err)
					got[name] = v
				}
				get("SO_REUSEADDR", unix.SOL_SOCKET, unix.SO_REUSEADDR)
				get("SO_REUSEPORT", unix.SOL_SOCKET, unix.SO_REUSEPORT)
				get("SO_TIMESTAMPNS", unix.SOL_SOCKET, unix.SO_TIMESTAMPNS)
				get("SO_RXQ_OVFL", unix.SOL_SOCKET, unix.SO_RXQ_OVFL)
				get("TOS", tc.level, tc.tos)
				get("PKTINFO", tc.level, tc.info)
				var err error
				dev, err = unix.GetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE)
				errs = append(errs, err)
			})
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			want := map[string]int{"SO_REUSEADDR": 1, "SO_REUSEPORT": 0, "SO_TIMESTAMPNS": 1, "SO_RXQ_OVFL": 1, "TOS": iptosLowdelay, "PKTINFO": 1}
			if !maps.Equal(got, want) {
				t.Errorf("socket options %v, want %v", got, want)
			}
			if dev != "lo" {
				t.Errorf("bound to device %q, want lo", dev)
			}
		})
	}
}

// A ucast link whose every line names an address of this node's sends
// nothing: when the node has peers that is said once, at WARN, with the
// addresses; when it has none (Alone) it is what ha.cf means and is said
// at info level. A link with a peer to send to says nothing of the kind.
func TestReceiveOnlyUcastWarns(t *testing.T) {
	port := freePort(t)
	for _, tc := range []struct {
		name  string
		media []config.Medium
		alone bool
		level logrus.Level // of the "receive only" line; 0 (panic): none
	}{
		{"own address only, with peers", []config.Medium{ucast("lo", "127.0.0.1", "", port, 9)}, false, logrus.WarnLevel},
		{"own address only, alone", []config.Medium{ucast("lo", "127.0.0.1", "", port, 9)}, true, logrus.InfoLevel},
		{"own and a peer", []config.Medium{ucast("lo", "127.0.0.1", "", port, 9), ucast("lo", "127.0.0.2", "", port, 10)}, false, 0},
		{"own and a peer, alone", []config.Medium{ucast("lo", "127.0.0.1", "", port, 9), ucast("lo", "127.0.0.2", "", port, 10)}, true, 0},
		{"peer with LOCAL", []config.Medium{ucast("lo", "127.0.0.2", "127.0.0.1", port, 9)}, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log, hook := test.NewNullLogger()
			s, err := Open(context.Background(), tc.media, Options{Packets: make(chan Packet, 4), Log: log, Alone: tc.alone})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var said []*logrus.Entry
			for _, e := range hook.AllEntries() {
				if strings.Contains(e.Message, "receive only") {
					said = append(said, e)
				}
			}
			if tc.level == 0 {
				if len(said) != 0 {
					t.Errorf("said %q", said[0].Message)
				}
				return
			}
			if len(said) != 1 {
				t.Fatalf("%d lines say receive only, want one", len(said))
			}
			if said[0].Level != tc.level {
				t.Errorf("%q logged at %s, want %s", said[0].Message, said[0].Level, tc.level)
			}
			want := []string{"interface lo (receive only)", "this node's own (127.0.0.1)", "ucast IFACE PEER LOCAL"}
			if tc.alone {
				want = []string{"interface lo (receive only)", "this node's own (127.0.0.1)", "no other node"}
			}
			for _, w := range want {
				if !strings.Contains(said[0].Message, w) {
					t.Errorf("%q does not say %q", said[0].Message, w)
				}
			}
		})
	}
}
