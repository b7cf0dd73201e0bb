package cluster

import (
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
)

// TestOneNodeStopHasNoTaker: a one-node cluster's graceful stop is a
// planned release (it drains) with no taker: no node will start the
// group and announce its addresses, so nothing is to be handed over.
func TestOneNodeStopHasNoTaker(t *testing.T) {
	c := testConfig("node1")
	c.Nodes = []string{"node1"}
	c.DrainTime = 100 * time.Millisecond
	c.Groups = []config.Group{{Preferred: "node1", Resources: []config.Resource{{Spec: "IPaddr2::10.0.0.5", Name: "IPaddr2"}}}}
	key := c.Groups[0].Key()
	n := New(Options{Config: c, UUID: uuid1, Generation: 1, Now: t0})
	acts := n.Step(Tick{Now: t0, Load: testLoad})
	now, started := t0, false
	for i := 0; i < 100 && !started; i++ {
		for _, p := range actionsOf[ProbeGroup](acts) {
			acts = append(acts, n.Step(OpDone{Now: now, Group: p.Group, Op: OpProbe, Result: ResultStopped})...)
		}
		started = len(actionsOf[StartGroup](acts)) > 0
		now = n.NextTick()
		acts = n.Step(Tick{Now: now, Load: testLoad})
	}
	if !started {
		t.Fatalf("the lone node never started %s", key)
	}
	n.Step(OpDone{Now: now, Group: key, Op: OpStart, Result: ResultOK})
	acts = n.Step(Stop{Now: now})
	stops := actionsOf[StopGroup](acts)
	if len(stops) != 1 {
		t.Fatalf("graceful stop: %q, want one StopGroup", render(acts))
	}
	if s := stops[0]; s.Drain != c.DrainTime || s.Taker != "" {
		t.Errorf("graceful stop of a one-node cluster: drain %v, taker %q; want drain %v and no taker", s.Drain, s.Taker, c.DrainTime)
	}
}
