package daemon

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/link"
	"github.com/hbdproject/hbd/hbd/wire"
)

// quietPeerRig is the heartbeat rig with node2 quiet: it announces that
// it holds nothing, then its status comes every 100 ms (ten of the rig's
// keepalives), its deadline 400 ms after it was last heard, heard on both
// links.
func quietPeerRig(t *testing.T) *heartbeatRig {
	r := newHeartbeatRig(t, false)
	r.d.drainFn = r.d.drained
	r.now = r.now.Add(r.cfg.Keepalive)
	receive := func(m *wire.Message) {
		b, err := r.d.keys.AppendEncode(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"eth0", "eth1"} {
			if !r.d.intake.peer(link.Packet{Link: name, From: r.from, Data: b, At: r.now}) {
				t.Fatal("the loop's queue is full")
			}
			r.d.receive(<-r.d.intake.out)
			r.d.settle(r.timer)
		}
	}
	receive(r.peer.message(r.now, wire.FType, wire.TResource, wire.FRscHold, "none", wire.FRType, "full", wire.FIsStable, "1",
		wire.FHbdHeld, "", wire.FHbdWant, "", wire.FHbdEpoch, "1"))
	receive(r.peer.message(r.now, wire.FType, wire.TStatus, wire.FStatus, cluster.StateActive, wire.FDeadtime, "28", wire.FProtocol, "1", wire.FHbdQuiet, "64"))
	if ps := r.d.core.Status().Peers; len(ps) != 1 || ps[0].Quiet != 100*time.Millisecond {
		t.Fatalf("node1 sees node2 %+v, want quiet 100ms", ps)
	}
	return r
}

// lineHook keeps every line logged (a logrus hook).
type lineHook struct {
	mu    sync.Mutex
	lines []string
}

func (h *lineHook) Levels() []logrus.Level { return logrus.AllLevels }
func (h *lineHook) Fire(e *logrus.Entry) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lines = append(h.lines, e.Message)
	return nil
}

func (h *lineHook) matching(sub string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, l := range h.lines {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}

// TestWokenQuietPeerNoDeath: node2 is quiet (status every 100 ms,
// node1's deadline for it 400 ms after it was last heard: the rig's
// keepalive 10 ms, deadtime 40 ms). 15 ms after its quiet status was read,
// node2 wakes for something of its own (no news from node1): its wake-up
// status, not routine and without hbd_quiet, is lost; its next statuses
// are routine, every keepalive, without hbd_quiet, and wait in the routine
// sockets. node1 ticks every keepalive as its loop does. Whatever it reads
// when, node2 (and its links) proved alive every keepalive: no death.
func TestWokenQuietPeerNoDeath(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after time.Duration // from node2's last quiet status to its wake-up
	}{
		{"wakes 15 ms after its quiet status", 15 * time.Millisecond},
		{"wakes 65 ms after its quiet status (more than a deadtime)", 65 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) { wokenQuietPeer(t, tc.after) })
	}
}

func wokenQuietPeer(t *testing.T, after time.Duration) {
	r := quietPeerRig(t)
	hook := &lineHook{}
	r.d.log.Logger.AddHook(hook)
	since := r.d.core.Status().Peers[0].Since
	ka := r.cfg.Keepalive
	wake := r.now.Add(after)
	r.peer.seq++ // the wake-up status, lost
	next := wake.Add(ka)
	for range 30 {
		r.now = r.now.Add(ka)
		for ; !next.After(r.now.Add(-time.Millisecond)); next = next.Add(ka) {
			b := r.peer.status(r.tb, next) // routine, without hbd_quiet
			for _, name := range []string{"eth0", "eth1"} {
				r.links.queueRoutine(link.Packet{Link: name, From: r.from, Data: b, At: next})
			}
		}
		r.d.tick(r.now)
		r.d.settle(r.timer)
	}
	for _, sub := range []string{"is dead", "dead."} {
		if d := hook.matching(sub); len(d) > 0 {
			t.Errorf("node1 logged %q though node2's statuses came every keepalive:\n%s\nall:\n%s", sub, strings.Join(d, "\n"), strings.Join(hook.lines, "\n"))
		}
	}
	if ps := r.d.core.Status().Peers[0]; ps.State != "active" || !ps.Since.Equal(since) {
		t.Errorf("node1 sees node2 %s since %v, want active since %v", ps.State, ps.Since, since)
	}
}

// TestQuietWakeNoLinkFlap: node2, quiet, wakes (a command on it) five
// times, nothing lost: node1 must declare no link of node2 dead.
func TestQuietWakeNoLinkFlap(t *testing.T) {
	const ka, dt = 50 * time.Millisecond, 200 * time.Millisecond
	p := newPair(t, ka, dt)
	for i := range 5 {
		p.waitQuiet(15 * time.Second)
		time.Sleep(time.Duration(300+100*i) * time.Millisecond)
		p.rigs[1].call(ctl.Request{Cmd: "cleanup"})
		time.Sleep(3 * dt)
	}
	if d := p.deaths(0); len(d) > 0 {
		t.Errorf("node1 declared deaths while node2 woke with nothing lost:\n%s", strings.Join(d, "\n"))
	}
}
