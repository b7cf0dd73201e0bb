//go:build linux

package link

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/netlab"
)

// Addresses the namespace tests assign (private ranges that exist only
// inside the lab's namespaces).
const (
	nsA4, nsB4   = "10.213.0.1", "10.213.0.2"
	nsA41, nsB41 = "10.213.1.1", "10.213.1.2"
	nsA6, nsB6   = "fd00:213::1", "fd00:213::2"
	nsALL, nsBLL = "fe80::213:1", "fe80::213:2"
)

// pair makes two hosts with eth0 on one bridge, with IPv4, IPv6 ULA and
// link-local addresses (their only link-local ones, so the source of what
// they send is known).
func pair(t *testing.T) (a, b *netlab.Host) {
	t.Helper()
	lab := netlab.NewT(t, t.Name())
	a = labHost(t, lab, "a", nsA4+"/24", nsA6+"/64", nsALL+"/64")
	b = labHost(t, lab, "b", nsB4+"/24", nsB6+"/64", nsBLL+"/64")
	waitReady(t, a, b)
	return a, b
}

func ap(addr string, port int) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr(addr), uint16(port))
}

func TestNetnsUcastAndCut(t *testing.T) {
	a, b := pair(t)
	const port = 694
	log, hook := logtest.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	chA, chB := make(chan Packet, 64), make(chan Packet, 64)
	media := []config.Medium{ucast("eth0", nsA4, "", port, 20), ucast("eth0", nsB4, "", port, 21)}
	sa := openIn(t, a, media, Options{Packets: chA, Log: log})
	sb := openIn(t, b, media, Options{Packets: chB})

	sa.Send([]byte("a1"))
	sb.Send([]byte("b1"))
	expectPacket(t, chB, []byte("a1"), "eth0", ap(nsA4, port))
	expectPacket(t, chA, []byte("b1"), "eth0", ap(nsB4, port))
	waitStats(t, sa, "eth0", "exactly one datagram sent (own address skipped)", func(st LinkStats) bool {
		return st.Sent == 1 && st.SendErrors == 0
	})

	// Cut A's cable: sends fail, are counted and logged once.
	ipIn(t, a, "link", "set", "eth0", "down")
	for range 20 {
		sa.Send([]byte("lost"))
		time.Sleep(5 * time.Millisecond)
	}
	waitStats(t, sa, "eth0", "20 send errors while the link is down", func(st LinkStats) bool {
		return st.SendErrors == 20 && st.Sent == 1
	})
	var unable []string
	for _, e := range hook.AllEntries() {
		if strings.Contains(e.Message, "Unable to send") {
			unable = append(unable, e.Message)
			if e.Level != logrus.ErrorLevel {
				t.Errorf("send error logged at %v", e.Level)
			}
		}
	}
	prefix := fmt.Sprintf("ucast_write: Unable to send HBcomm packet eth0 %s:%d len=4: ", nsB4, port)
	if len(unable) != 1 || !strings.HasPrefix(unable[0], prefix) {
		t.Fatalf("send errors logged as %q, want one line starting %q", unable, prefix)
	}
	t.Logf("logged: %s", unable[0])

	// Reconnect: packets flow again.
	ipIn(t, a, "link", "set", "eth0", "up")
	deadline := time.Now().Add(waitFor)
	for i := 0; ; i++ {
		msg := fmt.Appendf(nil, "again-%d", i)
		sa.Send(msg)
		select {
		case p := <-chB:
			if strings.HasPrefix(string(p.Data), "again-") {
				if p.From != ap(nsA4, port) || p.Link != "eth0" {
					t.Fatalf("after up: packet from %s on %s", p.From, p.Link)
				}
				return
			}
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no packet after the link came back; A stats %+v", sa.Stats()["eth0"])
		}
	}
}

func TestNetnsUcast6(t *testing.T) {
	a, b := pair(t)
	const port = 694
	for _, tc := range []struct{ name, addrA, addrB string }{{"ula", nsA6, nsB6}, {"link-local", nsALL, nsBLL}} {
		t.Run(tc.name, func(t *testing.T) {
			chA, chB := make(chan Packet, 16), make(chan Packet, 16)
			media := []config.Medium{ucast("eth0", tc.addrA, "", port, 1), ucast("eth0", tc.addrB, "", port, 2)}
			sa := openIn(t, a, media, Options{Packets: chA})
			sb := openIn(t, b, media, Options{Packets: chB})
			want := func(addr string) netip.AddrPort {
				x := netip.MustParseAddr(addr)
				if x.IsLinkLocalUnicast() {
					x = x.WithZone("eth0")
				}
				return netip.AddrPortFrom(x, port)
			}
			sa.Send([]byte("a6"))
			sb.Send([]byte("b6"))
			expectPacket(t, chB, []byte("a6"), "eth0", want(tc.addrA))
			expectPacket(t, chA, []byte("b6"), "eth0", want(tc.addrB))
			waitStats(t, sa, "eth0", "one datagram sent", func(st LinkStats) bool {
				return st == LinkStats{Sent: 1, Received: 1, Steered: true}
			})
			sa.Close()
			sb.Close()
		})
	}
}

// TestNetnsBindToDevice gives A two links on two interfaces, both bound to
// the wildcard address at the same port. Only SO_BINDTODEVICE tells their
// sockets apart: without it, the kernel would hand every datagram to one of
// them and half the packets would carry the wrong link name.
func TestNetnsBindToDevice(t *testing.T) {
	a, b := twoBridges(t)
	const port = 694
	chA, chB := make(chan Packet, 64), make(chan Packet, 64)
	media := []config.Medium{
		ucast("eth0", nsA4, "", port, 1), ucast("eth0", nsB4, "", port, 2),
		ucast("eth1", nsA41, "", port, 3), ucast("eth1", nsB41, "", port, 4),
	}
	sa := openIn(t, a, media, Options{Packets: chA})
	sb := openIn(t, b, media, Options{Packets: chB})
	if got := sa.Links(); strings.Join(got, " ") != "eth0 eth1" {
		t.Fatalf("Links() = %q", got)
	}
	for i := range 5 {
		m0, m1 := fmt.Appendf(nil, "eth0-%d", i), fmt.Appendf(nil, "eth1-%d", i)
		if err := sb.SendOn("eth0", m0); err != nil {
			t.Fatal(err)
		}
		expectPacket(t, chA, m0, "eth0", ap(nsB4, port))
		if err := sb.SendOn("eth1", m1); err != nil {
			t.Fatal(err)
		}
		expectPacket(t, chA, m1, "eth1", ap(nsB41, port))
	}
	// Cutting eth1 leaves eth0 working.
	ipIn(t, a, "link", "set", "eth1", "down")
	sa.Send([]byte("one-cut"))
	expectPacket(t, chB, []byte("one-cut"), "eth0", ap(nsA4, port))
	waitStats(t, sa, "eth1", "a send error with eth1 down", func(st LinkStats) bool { return st.SendErrors == 1 })
}

// twoBridges makes two hosts with eth0 on one bridge and eth1 on another
// (IPv4 only).
func twoBridges(t *testing.T) (a, b *netlab.Host) {
	t.Helper()
	lab := netlab.NewT(t, t.Name())
	a = labHost(t, lab, "a", nsA4+"/24")
	b = labHost(t, lab, "b", nsB4+"/24")
	br1, err := lab.Bridge("br1")
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range []struct {
		h    *netlab.Host
		addr string
	}{{a, nsA41 + "/24"}, {b, nsB41 + "/24"}} {
		if err := j.h.Join(br1, "eth1", j.addr); err != nil {
			t.Fatal(err)
		}
	}
	waitReady(t, a, b)
	return a, b
}

func TestNetnsBcast(t *testing.T) {
	a, b := pair(t)
	const port = 694
	chA, chB := make(chan Packet, 64), make(chan Packet, 64)
	// ucast and bcast on the same interface and port: two links, and each
	// hears only its own kind of traffic.
	media := []config.Medium{
		{Kind: config.Bcast, Iface: "eth0", Port: port, Pos: config.Pos{File: "ha.cf", Line: 1}},
		ucast("eth0", nsA4, "", port, 2), ucast("eth0", nsB4, "", port, 3),
	}
	sa := openIn(t, a, media, Options{Packets: chA})
	sb := openIn(t, b, media, Options{Packets: chB})
	if got := strings.Join(sa.Links(), " "); got != "eth0/bcast eth0" {
		t.Fatalf("Links() = %q", got)
	}
	if err := sa.SendOn("eth0/bcast", []byte("broadcast")); err != nil {
		t.Fatal(err)
	}
	expectPacket(t, chB, []byte("broadcast"), "eth0/bcast", ap(nsA4, port))
	// A hears its own broadcast too (the kernel loops broadcasts back), on
	// the bcast link only.
	expectPacket(t, chA, []byte("broadcast"), "eth0/bcast", ap(nsA4, port))
	if err := sa.SendOn("eth0", []byte("unicast")); err != nil {
		t.Fatal(err)
	}
	expectPacket(t, chB, []byte("unicast"), "eth0", ap(nsA4, port))
	expectNone(t, chB, []byte("broadcast"), 300*time.Millisecond) // no copy on the ucast link
	waitStats(t, sb, "eth0", "one datagram received", func(st LinkStats) bool { return st.Received == 1 })
	waitStats(t, sb, "eth0/bcast", "one datagram received", func(st LinkStats) bool { return st.Received == 1 })
}

func TestNetnsMcast(t *testing.T) {
	a, b := pair(t)
	const port = 6940
	for _, tc := range []struct {
		name  string
		kind  config.MediumKind
		group string
		from  netip.AddrPort
		ttl   int
		loop  bool
	}{
		{"v4 ttl 1 no loop", config.Mcast, "239.0.213.1", ap(nsA4, port), 1, false},
		{"v4 ttl 3 loop", config.Mcast, "239.0.213.2", ap(nsA4, port), 3, true},
		{"v6 hops 2 no loop", config.Mcast6, "ff02::213:1", netip.AddrPortFrom(netip.MustParseAddr(nsALL).WithZone("eth0"), port), 2, false},
		{"v6 hops 1 loop", config.Mcast6, "ff02::213:2", netip.AddrPortFrom(netip.MustParseAddr(nsALL).WithZone("eth0"), port), 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chA, chB := make(chan Packet, 16), make(chan Packet, 16)
			media := []config.Medium{{Kind: tc.kind, Iface: "eth0", Addr: netip.MustParseAddr(tc.group), Port: port,
				TTL: tc.ttl, Loop: tc.loop, Pos: config.Pos{File: "ha.cf", Line: 1}}}
			sa := openIn(t, a, media, Options{Packets: chA})
			sb := openIn(t, b, media, Options{Packets: chB})
			defer sa.Close()
			defer sb.Close()

			// The socket options are what the line says.
			c := sa.links[0].conns[0]
			var ttl int
			var loop bool
			var err1, err2 error
			if tc.kind == config.Mcast {
				p := ipv4.NewPacketConn(c)
				ttl, err1 = p.MulticastTTL()
				loop, err2 = p.MulticastLoopback()
			} else {
				p := ipv6.NewPacketConn(c)
				ttl, err1 = p.MulticastHopLimit()
				loop, err2 = p.MulticastLoopback()
			}
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if ttl != tc.ttl || loop != tc.loop {
				t.Fatalf("socket has ttl %d loop %v, want %d %v", ttl, loop, tc.ttl, tc.loop)
			}

			sa.Send([]byte("mc"))
			expectPacket(t, chB, []byte("mc"), "eth0", tc.from)
			if tc.loop {
				expectPacket(t, chA, []byte("mc"), "eth0", tc.from)
			} else {
				expectNone(t, chA, []byte("mc"), 300*time.Millisecond)
			}
		})
	}
}
