package cluster

import (
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/wire"
)

// When a quiet peer's scaled deadline ends, what was heard of it before
// is not judged by the plain deadtime at once (quietEnded): keepalive 1 s,
// deadtime 3 s, node2 quiet with S = 10 s.

// quietStatus2 is node2's status seq on link, arrived at at, saying
// hbd_quiet (hex ms; "" for none).
func quietStatus2(seq uint64, at time.Time, link, quiet string) Receive {
	kv := []string{"t", "status", "st", "active", "dt", "bb8", "protocol", "1"}
	if quiet != "" {
		kv = append(kv, wire.FHbdQuiet, quiet)
	}
	return Receive{Now: at, Link: link, Msg: peerMsg(gen2, seq, at, kv...)}
}

// joinedQuiet is node1 joined with node2 on links, node2 announcing that
// it holds nothing and then quiet (S = 10 s) at t0+1s on every link.
func joinedQuiet(t *testing.T, links ...string) *Node {
	t.Helper()
	n := joined(t, links...)
	announceHolding(n, 4, 1, "")
	for _, l := range links {
		n.Step(quietStatus2(5, t0.Add(time.Second), l, "2710"))
	}
	if q := peerStatusOf(n, "node2").Quiet; q != 10*time.Second {
		t.Fatalf("node2 quiet %v, want 10s", q)
	}
	return n
}

// node2, quiet, wakes 5 s after its quiet status (more than a deadtime):
// its status without hbd_quiet comes on eth0, then its copy on eth1. eth1
// was last heard 5 s ago, but it is not declared dead in between: it
// proved alive with that status. If eth1 then stays silent it is dead a
// deadtime after the wake-up, not later.
func TestQuietEndNoLinkFlap(t *testing.T) {
	n := joinedQuiet(t, "eth0", "eth1")
	woke := t0.Add(6 * time.Second)
	var all []string
	all = append(all, logs(advanceTo(n, woke.Add(-time.Millisecond)))...)
	all = append(all, logs(n.Step(quietStatus2(6, woke, "eth0", "")))...)
	all = append(all, logs(n.Step(quietStatus2(6, woke.Add(time.Millisecond), "eth1", "")))...)
	// From now on only eth0 carries node2's statuses.
	for i := 1; i <= 2; i++ {
		at := woke.Add(time.Duration(i) * time.Second)
		all = append(all, logs(advanceTo(n, at.Add(-time.Millisecond)))...)
		all = append(all, logs(n.Step(quietStatus2(uint64(6+i), at, "eth0", "")))...)
	}
	if l := strings.Join(all, "\n"); strings.Contains(l, "dead") {
		t.Fatalf("a death while node2 was heard on every link:\n%s", l)
	}
	dead := woke.Add(3*time.Second + time.Millisecond)
	l := strings.Join(logs(advanceTo(n, dead)), "\n")
	if !strings.Contains(l, "Link node2:eth1 dead.") || strings.Contains(l, "node node2: is dead") {
		t.Errorf("by %v after the wake-up: want eth1 dead and node2 alive:\n%s", dead.Sub(woke), l)
	}
}

// node2, quiet, wakes 1 s after its quiet status; its wake-up status is
// lost and its next statuses, routine, wait for node1's next wake-up,
// which reads them all 9.5 s after the quiet status, in order, each with
// its arrival. The first one read ends the scaled deadline; node2, heard
// every second, is not declared dead (nor flaps) meanwhile. Silent after
// the last one, it is dead a deadtime after the read.
func TestQuietEndLateStatusesNoDeath(t *testing.T) {
	n := joinedQuiet(t, "eth0")
	read := t0.Add(10*time.Second + 500*time.Millisecond)
	var all []string
	all = append(all, logs(advanceTo(n, read))...)
	all = append(all, logs(n.Step(Tick{Now: read, Load: testLoad}))...) // the wake-up that reads them
	var last time.Time
	for i := 0; i < 9; i++ { // seq 6, the wake-up status, is lost
		last = t0.Add(2*time.Second + 10*time.Millisecond + time.Duration(i)*time.Second)
		all = append(all, logs(n.Step(quietStatus2(uint64(7+i), last, "eth0", "")))...)
	}
	if l := strings.Join(all, "\n"); strings.Contains(l, "dead") || strings.Contains(l, "returning") {
		t.Fatalf("node2 declared dead though heard every second:\n%s", l)
	}
	if ps := peerStatusOf(n, "node2"); ps.State != StateActive || ps.Quiet != 0 {
		t.Fatalf("node2 %s, quiet %v; want active, not quiet", ps.State, ps.Quiet)
	}
	if l := strings.Join(logs(advanceTo(n, read.Add(3*time.Second-time.Millisecond))), "\n"); strings.Contains(l, "is dead") {
		t.Errorf("node2 dead less than a deadtime after its statuses were read:\n%s", l)
	}
	if l := strings.Join(logs(advanceTo(n, read.Add(3*time.Second))), "\n"); !strings.Contains(l, "node node2: is dead") {
		t.Errorf("node2, silent since +%v, not dead a deadtime after the read:\n%s", last.Sub(t0), l)
	}
}
