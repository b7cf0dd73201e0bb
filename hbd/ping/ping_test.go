package ping

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

func TestLoopbackReachable(t *testing.T) {
	if testing.Short() {
		t.Skip("sends ICMP echo on loopback")
	}
	targets := []Target{
		{Name: "127.0.0.1", Hosts: []netip.Addr{netip.MustParseAddr("127.0.0.1")}},
		{Name: "v6", Hosts: []netip.Addr{netip.MustParseAddr("::1")}},
	}
	p := New(targets, Options{Deadping: 2 * time.Second, Interval: 100 * time.Millisecond, Log: t.Logf})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan Status, 10)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, func(s Status) { got <- s }) }()
	select {
	case s := <-got:
		if s.Reachable != 2 || s.Total != 2 {
			t.Errorf("status %+v, want 2 of 2", s)
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
