package daemon

import (
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/link"
)

// TestFloodedDrainDelaysDeath: node2's last status came at the rig's
// now, on eth0; at the wake-up of its deadline (40 ms later) the drain
// finds a routine socket flooded (TakeFloods): the statuses it sent
// there since may have been dropped by the kernel. The core hears of it,
// with the flooded link's name, before it judges node2: flooded on eth0,
// node2 is not declared dead then; silent on, it is declared dead a
// deadtime after the flood. Without the flood, or with one on eth1,
// where node2 is not heard, it dies at its deadline.
func TestFloodedDrainDelaysDeath(t *testing.T) {
	for _, flooded := range [][]string{nil, {"eth0"}, {"eth1"}} {
		r := newHeartbeatRig(t, false)
		r.d.drainFn = r.d.drained
		hook := &lineHook{}
		r.d.log.Logger.AddHook(hook)
		ka, last := r.cfg.Keepalive, r.now
		deadAt := time.Duration(0)
		for i := 1; i <= 12 && deadAt == 0; i++ {
			at := last.Add(time.Duration(i) * ka)
			if flooded != nil && i == 4 {
				r.links.mu.Lock()
				r.links.floods = flooded
				r.links.mu.Unlock()
			}
			r.d.tick(at)
			r.d.settle(r.timer)
			if len(hook.matching("node node2: is dead")) > 0 {
				deadAt = at.Sub(last)
			}
		}
		grace := len(flooded) > 0 && flooded[0] == "eth0"
		want := 4 * ka // the deadline
		if grace {
			want = 7 * ka // a deadtime after the flood found at the previous wake-up's time
		}
		if deadAt != want {
			t.Errorf("flooded %q: node2 declared dead %v after its last status, want %v\n%s", flooded, deadAt, want, strings.Join(hook.lines, "\n"))
		}
		if warned := len(hook.matching("Routine heartbeats flooded on eth0")) > 0; warned != grace {
			t.Errorf("flooded %q: flood logged %v", flooded, warned)
		}
	}
}

// TestFloodedDrainReadsFirst: at the wake-up of node2's deadline (40 ms
// after its last status) the drain finds a flood on eth1, where node2 is
// not heard (no grace), and reads node2's routine status that arrived
// 35 ms after the last one. The core hears of the flood before that
// status but judges nobody then: node2 lives on, and is declared dead a
// deadtime after that status (at the wake-up 80 ms after the first).
func TestFloodedDrainReadsFirst(t *testing.T) {
	r := newHeartbeatRig(t, false)
	r.d.drainFn = r.d.drained
	hook := &lineHook{}
	r.d.log.Logger.AddHook(hook)
	ka, last := r.cfg.Keepalive, r.now
	var at time.Time
	r.d.readClock = func() time.Time { return at } // the rig's clock
	deadAt := time.Duration(0)
	for i := 1; i <= 12 && deadAt == 0; i++ {
		at = last.Add(time.Duration(i) * ka)
		if i == 4 {
			arrived := last.Add(35 * time.Millisecond)
			r.links.queueRoutine(link.Packet{Link: "eth0", From: r.from, Data: r.peer.status(t, arrived), At: arrived})
			r.links.mu.Lock()
			r.links.floods = []string{"eth1"}
			r.links.mu.Unlock()
		}
		r.d.tick(at)
		r.d.settle(r.timer)
		if len(hook.matching("node node2: is dead")) > 0 {
			deadAt = at.Sub(last)
		}
	}
	if want := 8 * ka; deadAt != want {
		t.Errorf("node2 declared dead %v after its first status, want %v\n%s", deadAt, want, strings.Join(hook.lines, "\n"))
	}
	if len(hook.matching("Routine heartbeats flooded")) > 0 {
		t.Errorf("a grace logged for a flood on a link node2 is not heard on:\n%s", strings.Join(hook.lines, "\n"))
	}
}
