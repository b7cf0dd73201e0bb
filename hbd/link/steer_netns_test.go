//go:build linux

package link

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/netlab"
)

// drainFor drains s until it gives something or d passes.
func drainFor(s *Set, d time.Duration) []Packet {
	var got []Packet
	for end := time.Now().Add(d); len(got) == 0 && time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		s.Drain(func(p Packet) { p.Data = append([]byte(nil), p.Data...); got = append(got, p) })
	}
	return got
}

// TestNetnsSteer6: IPv6 (ULA and link-local with its zone) with three
// nodes: each peer's routine datagrams wait for Drain and carry its
// address; its other datagrams come at once; a stranger's go to Others.
func TestNetnsSteer6(t *testing.T) {
	lab := netlab.NewT(t, t.Name())
	const nsC6, nsCLL, nsD6 = "fd00:213::3", "fe80::213:3", "fd00:213::4"
	a := labHost(t, lab, "a", nsA6+"/64", nsALL+"/64")
	b := labHost(t, lab, "b", nsB6+"/64", nsBLL+"/64")
	c := labHost(t, lab, "c", nsC6+"/64", nsCLL+"/64")
	d := labHost(t, lab, "d", nsD6+"/64")
	waitReady(t, a, b, c, d)
	const port = 694
	for _, tc := range []struct{ name, a, b, c string }{{"ula", nsA6, nsB6, nsC6}, {"link-local", nsALL, nsBLL, nsCLL}} {
		t.Run(tc.name, func(t *testing.T) {
			media := []config.Medium{ucast("eth0", tc.a, "", port, 1), ucast("eth0", tc.b, "", port, 2), ucast("eth0", tc.c, "", port, 3)}
			peers, others := make(chan Packet, 16), make(chan Packet, 16)
			sa := openIn(t, a, media, Options{Packets: peers, Others: others})
			sb := openIn(t, b, media, Options{Packets: make(chan Packet, 16)})
			sc := openIn(t, c, media, Options{Packets: make(chan Packet, 16)})
			if !sa.Stats()["eth0"].Steered {
				t.Fatalf("not steered: %+v", sa.Stats())
			}
			want := func(addr string) netip.AddrPort {
				x := netip.MustParseAddr(addr)
				if x.IsLinkLocalUnicast() {
					x = x.WithZone("eth0")
				}
				return netip.AddrPortFrom(x, port)
			}
			for _, p := range []struct {
				s    *Set
				addr string
			}{{sb, tc.b}, {sc, tc.c}} {
				p.s.SendOn("eth0", routineMsg("r"))
				expectNone(t, peers, routineMsg("r"), 50*time.Millisecond)
				got := drainFor(sa, waitFor)
				if len(got) != 1 || got[0].From != want(p.addr) {
					t.Errorf("drained %+v, want one routine datagram from %s", got, p.addr)
				}
				p.s.SendOn("eth0", []byte("u"))
				expectPacket(t, peers, []byte("u"), "eth0", want(p.addr))
			}
			// A stranger's routine datagram.
			err := d.Do(func() error {
				s, err := net.DialUDP("udp6", nil, &net.UDPAddr{IP: net.ParseIP(nsA6), Port: port})
				if err != nil {
					return err
				}
				defer s.Close()
				_, err = s.Write(routineMsg("s"))
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "ula" {
				select {
				case p := <-others:
					if string(p.Data) != string(routineMsg("s")) {
						t.Errorf("others got %q", p.Data)
					}
				case <-time.After(waitFor):
					t.Errorf("the stranger's routine datagram did not reach Others")
				}
			}
			if got := drainFor(sa, 50*time.Millisecond); len(got) != 0 {
				t.Errorf("drained a stranger's datagram: %+v", got)
			}
			sa.Close()
			sb.Close()
			sc.Close()
		})
	}
}

// TestNetnsSteerTwoLinksWildcard: ha.cf's usual two ucast lines on two
// interfaces, without local addresses, bind the wildcard address at one
// port on each: both links steer (each device's sockets are a group of
// their own), and each drains its own link's routine datagrams.
func TestNetnsSteerTwoLinksWildcard(t *testing.T) {
	a, b := twoBridges(t)
	const port = 694
	media := []config.Medium{
		ucast("eth0", nsA4, "", port, 1), ucast("eth0", nsB4, "", port, 2),
		ucast("eth1", nsA41, "", port, 3), ucast("eth1", nsB41, "", port, 4),
	}
	sa := openIn(t, a, media, Options{Packets: make(chan Packet, 16)})
	sb := openIn(t, b, media, Options{Packets: make(chan Packet, 16)})
	for _, name := range []string{"eth0", "eth1"} {
		if !sa.Stats()[name].Steered {
			t.Fatalf("link %s not steered", name)
		}
		if err := sb.SendOn(name, routineMsg(name)); err != nil {
			t.Fatal(err)
		}
		got := drainFor(sa, waitFor)
		if len(got) != 1 || got[0].Link != name || string(got[0].Data) != string(routineMsg(name)) {
			t.Errorf("drained %+v, want the routine datagram sent on %s", got, name)
		}
	}
}
