package etcdown

import (
	"testing"
	"time"
)

// startsOf counts each group's starts in the log.
func startsOf(rec *record) map[string][]string {
	out := map[string][]string{}
	for _, e := range rec.snapshot() {
		if e.start {
			out[e.group] = append(out[e.group], e.node)
		}
	}
	return out
}

// TestStartTogetherNoFlap: nodes started together, a little apart, each
// start only the groups they prefer: the first one up does not take the
// others' groups while they come up (initdead), so no group starts twice.
func TestStartTogetherNoFlap(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	rec := &record{}
	for _, name := range threeNodes {
		startNodeWith(t, name, c.Endpoints(), threeNodes, rec, func(o *Options, _ *fakeRunner) { o.InitDead = time.Minute })
		time.Sleep(3 * testInterval) // the earlier nodes' passes see the others absent
	}
	waitFor(t, testMove, "every group runs on its preferred node", placedAsPreferred(rec))
	steady(t, rec, 3*testInterval, map[string]string{"g1": "n1", "g2": "n2", "g3": "n3"})
	for g, on := range startsOf(rec) {
		if len(on) != 1 {
			t.Errorf("%s started on %v: a flap", g, on)
		}
	}
	checkNoOverlap(t, rec)
}

// TestInitDeadEnds: a node alone takes the groups the others prefer once
// initdead has passed since it started, not before.
func TestInitDeadEnds(t *testing.T) {
	t.Parallel()
	const initDead = time.Second
	c := sharedCluster(t)
	rec := &record{}
	began := time.Now()
	startNodeWith(t, "n1", c.Endpoints(), threeNodes, rec, func(o *Options, _ *fakeRunner) { o.InitDead = initDead })
	waitFor(t, testMove, "n1 runs g1", func() bool { return rec.running()["g1"] == "n1" })
	all := waitFor(t, initDead+testMove, "n1 runs every group", runningIs(rec, map[string]string{"g1": "n1", "g2": "n1", "g3": "n1"}))
	for _, e := range rec.snapshot() {
		if e.start && e.group != "g1" && e.at.Sub(began) < initDead {
			t.Errorf("%s started %s after n1's start, within initdead %s", e.group, e.at.Sub(began), initDead)
		}
	}
	t.Logf("n1 ran every group %s after its start (initdead %s)", all.Sub(began), initDead)
}

// TestInitDeadKnownAbsent: within its initdead, a node takes at once the
// groups of a node known absent: one it saw leave, one in standby; the
// group of a node never seen up stays free.
func TestInitDeadKnownAbsent(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	rec := &record{}
	long := func(o *Options, _ *fakeRunner) { o.InitDead = time.Minute }
	n1 := startNodeWith(t, "n1", c.Endpoints(), threeNodes, rec, long)
	n2 := startNodeWith(t, "n2", c.Endpoints(), threeNodes, rec, long)
	waitFor(t, testMove, "g1 and g2 on their nodes", runningIs(rec, map[string]string{"g1": "n1", "g2": "n2"}))

	n2.stop() // gracefully: its lease revoked, n1 sees it leave
	want := map[string]string{"g1": "n1", "g2": "n1"}
	waitFor(t, testMove, "n1 takes g2 from n2, seen leaving", runningIs(rec, want))
	steady(t, rec, 5*testInterval, want) // g3's n3 was never up: it waits

	if err := n1.owner.SetNodeStandby(ctxT(t), "n3", true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, testMove, "n1 takes g3, its node in standby", runningIs(rec, map[string]string{"g1": "n1", "g2": "n1", "g3": "n1"}))
	checkNoOverlap(t, rec)
}
