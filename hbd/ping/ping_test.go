package ping

import (
	"bytes"
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/testenv"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

func TestLoopbackReachable(t *testing.T) {
	if testing.Short() {
		t.Skip("sends ICMP echo on loopback")
	}
	targets := []Target{{Name: "127.0.0.1", Hosts: []netip.Addr{netip.MustParseAddr("127.0.0.1")}}}
	v6 := testenv.HasIPv6Loopback()
	if v6 {
		targets = append(targets, Target{Name: "v6", Hosts: []netip.Addr{netip.MustParseAddr("::1")}})
	}
	p := New(targets, Options{Deadping: 2 * time.Second, Interval: 100 * time.Millisecond, Log: t.Logf})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan Status, 10)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, func(s Status) { got <- s }) }()
	select {
	case s := <-got:
		if n := len(targets); s.Reachable != n || s.Total != n {
			t.Errorf("status %+v, want %d of %d", s, n, n)
		}
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-ctx.Done():
		t.Fatal("no status within 10s")
	}
	t.Logf("sockets: %s", p.Mode())
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if !v6 {
		testenv.NeedIPv6Loopback(t) // IPv4 passed; says why ::1 was not pinged
	}
}

func TestStatusCountsGroups(t *testing.T) {
	a, b, c := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3")
	p := New([]Target{{Name: "a", Hosts: []netip.Addr{a}}, {Name: "gw", Hosts: []netip.Addr{b, c}}}, Options{Deadping: time.Second})
	now := time.Now()
	tests := []struct {
		name  string
		last  map[netip.Addr]time.Time
		reach int
		down  []string
	}{
		{"none", nil, 0, []string{"a", "gw"}},
		{"one of the group", map[netip.Addr]time.Time{c: now.Add(-500 * time.Millisecond)}, 1, []string{"a"}},
		{"all", map[netip.Addr]time.Time{a: now, b: now}, 2, nil},
		{"too old", map[netip.Addr]time.Time{a: now.Add(-time.Second), b: now.Add(-2 * time.Second)}, 0, []string{"a", "gw"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.last = map[netip.Addr]time.Time{}
			for k, v := range tt.last {
				p.last[k] = v
			}
			s := p.Status(now)
			if s.Reachable != tt.reach || s.Total != 2 || len(s.Down) != len(tt.down) {
				t.Errorf("Status = %+v, want %d of 2 down %v", s, tt.reach, tt.down)
			}
		})
	}
}

func TestMatchReply(t *testing.T) {
	gw, other := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.9")
	v6 := netip.MustParseAddr("2001:db8::1")
	p := New([]Target{{Name: "gw", Hosts: []netip.Addr{gw}}, {Name: "v6", Hosts: []netip.Addr{v6}}},
		Options{Deadping: time.Second, Interval: 250 * time.Millisecond})
	p.seq = 10 // requests 1..10 sent; the window is deadping/interval + 2 = 6
	reply := func(typ icmp.Type, id, seq int, data []byte) *icmp.Message {
		return &icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: seq, Data: data}}
	}
	ok4 := func(seq int) *icmp.Message { return reply(ipv4.ICMPTypeEchoReply, p.id, seq, p.payload(seq)) }
	tests := []struct {
		name    string
		from    netip.Addr
		m       *icmp.Message
		checkID bool
		want    bool
	}{
		{"current request", gw, ok4(10), true, true},
		{"recent request", gw, ok4(5), true, true},
		{"older than deadping", gw, ok4(4), true, false},
		{"never sent", gw, ok4(11), true, false},
		{"IPv4-mapped source", netip.AddrFrom16(gw.As16()), ok4(10), true, true},
		{"not a ping node", other, ok4(10), true, false},
		{"IPv6 ping node", v6, reply(ipv6.ICMPTypeEchoReply, p.id, 9, p.payload(9)), true, true},
		{"other process's id (raw)", gw, reply(ipv4.ICMPTypeEchoReply, p.id^1, 10, p.payload(10)), true, false},
		{"id not checked (unprivileged)", gw, reply(ipv4.ICMPTypeEchoReply, p.id^1, 10, p.payload(10)), false, true},
		{"payload of another seq", gw, reply(ipv4.ICMPTypeEchoReply, p.id, 10, p.payload(9)), true, false},
		{"another prober's payload", gw, reply(ipv4.ICMPTypeEchoReply, p.id, 10, []byte("hbd ping")), true, false},
		{"empty payload", gw, reply(ipv4.ICMPTypeEchoReply, p.id, 10, nil), true, false},
		{"echo request, not reply", gw, reply(ipv4.ICMPTypeEcho, p.id, 10, p.payload(10)), true, false},
		{"not an echo", gw, &icmp.Message{Type: ipv4.ICMPTypeDestinationUnreachable, Body: &icmp.DstUnreach{}}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, ok := p.match(tt.from, tt.m, tt.checkID)
			if ok != tt.want {
				t.Fatalf("match = %v, want %v", ok, tt.want)
			}
			if ok && host != tt.from.Unmap() {
				t.Errorf("counted for %v, want %v", host, tt.from.Unmap())
			}
		})
	}
}

func TestMatchBeforeFirstRequest(t *testing.T) {
	gw := netip.MustParseAddr("10.0.0.1")
	p := New([]Target{{Name: "gw", Hosts: []netip.Addr{gw}}}, Options{Deadping: time.Second})
	m := &icmp.Message{Type: ipv4.ICMPTypeEchoReply, Body: &icmp.Echo{ID: p.id, Seq: 0, Data: p.payload(0)}}
	if _, ok := p.match(gw, m, true); ok {
		t.Error("a reply before any request was sent matched")
	}
}

func TestProbersDoNotShareNonce(t *testing.T) {
	a := New(nil, Options{Deadping: time.Second})
	b := New(nil, Options{Deadping: time.Second})
	if bytes.Equal(a.payload(1), b.payload(1)) {
		t.Error("two probers send the same payload; one would count the other's replies")
	}
}
