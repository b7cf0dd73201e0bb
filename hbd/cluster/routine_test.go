package cluster

import (
	"fmt"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/wire"
)

// routineOf renders every Send of acts as "TYPE:routine" or "TYPE:now".
func routineOf(acts []Action) []string {
	var out []string
	for _, a := range acts {
		if s, ok := a.(*Send); ok {
			how := "now"
			if s.Routine {
				how = "routine"
			}
			out = append(out, s.Msg.Value(wire.FType)+":"+how)
		}
	}
	return out
}

// TestRoutineSends: a status is routine only when it repeats the last
// one while node2 and its link are up as they were at the last status;
// an acknowledgement always is; anything else is read at once.
func TestRoutineSends(t *testing.T) {
	n := joined(t)
	seq := uint64(3)
	// hear has node2 send a status (st active) just before node1's next
	// tick, then ticks node1.
	hear := func() []Action {
		at := n.NextTick()
		seq++
		n.Step(status2(gen2, seq, at.Add(-time.Millisecond), "active"))
		return n.Step(Tick{Now: at})
	}
	steps := []struct {
		name string
		do   func() []Action
		want string
	}{
		// joined's last status said st=active with node2 up; node2 turns
		// active since: news.
		{"node2 active since the last status", hear, "[status:now]"},
		{"steady", hear, "[status:routine]"},
		{"steady again", hear, "[status:routine]"},
		{"own status changes: the start's deadtime bonus ends", func() []Action {
			var last []Action
			for !n.bonusOver {
				last = hear()
			}
			return last
		}, "[status:now status:routine]"},
		{"steady after the change", hear, "[status:routine]"},
		{"node2 silent until dead", func() []Action {
			var all []Action
			for n.peers[0].state != StateDead {
				all = append(all, n.Step(Tick{Now: n.NextTick()})...)
			}
			return all
		}, "[status:routine status:routine]"},
		{"node2 dead", func() []Action { return n.Step(Tick{Now: n.NextTick()}) }, "[status:now]"},
		{"node2 back", hear, "[status:now]"},
		{"steady after the return", hear, "[status:routine]"},
	}
	for _, s := range steps {
		if got := fmt.Sprint(routineOf(s.do())); got != s.want {
			t.Errorf("%s: sends %s, want %s", s.name, got, s.want)
		}
	}
	// An acknowledgement may wait; a retransmission request may not.
	for s := seq + 1; s <= seq+AckEvery; s++ {
		got := routineOf(n.Step(status2(gen2, s, n.NextTick().Add(-time.Millisecond), "active")))
		if s%AckEvery == n.peers[0].ackTrigger && fmt.Sprint(got) != "[NS_ackmsg:routine]" {
			t.Errorf("seq %d: sends %v, want a routine ack", s, got)
		}
	}
	n.Step(status2(gen2, seq+AckEvery+2, n.NextTick().Add(-time.Millisecond), "active"))
	var rexmit []string
	for i := 0; i < 5 && len(rexmit) == 0; i++ {
		for _, r := range routineOf(n.Step(Tick{Now: n.NextTick()})) {
			if r != "status:routine" {
				rexmit = append(rexmit, r)
			}
		}
	}
	if got := fmt.Sprint(rexmit); got != "[NS_rexmit:now]" {
		t.Errorf("after a gap: sends %v besides routine statuses, want one retransmission request read at once", got)
	}
}
