package main

import (
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
)

// TestStatusShowsQuiet: hbd status flags a quiet node, itself and as a
// peer with the time it is declared dead.
func TestStatusShowsQuiet(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		peer cluster.PeerStatus
		want string
	}{
		{cluster.PeerStatus{Name: "node2"}, ""},
		{cluster.PeerStatus{Name: "node2", Quiet: 10 * time.Second, DeadAt: now.Add(27300 * time.Millisecond)}, "quiet(10s,dead-in-27.3s)"},
		{cluster.PeerStatus{Name: "node2", InStandby: true, Quiet: 100 * time.Millisecond, DeadAt: now.Add(-time.Second)}, "standby,quiet(100ms,dead-in-0s)"},
		{cluster.PeerStatus{Name: "node2", Quiet: time.Second}, "quiet(1s)"},
	} {
		if got := strings.Join(peerFlags(tc.peer, now), ","); got != tc.want {
			t.Errorf("%+v: flags %q, want %q", tc.peer, got, tc.want)
		}
	}
	if got := flags(selfFlags(cluster.Status{Quiet: 10 * time.Second})); got != "quiet(10s)" {
		t.Errorf("this node's flags %q, want quiet(10s)", got)
	}
	if got := flags(selfFlags(cluster.Status{})); got != "-" {
		t.Errorf("this node's flags %q, want -", got)
	}
}
