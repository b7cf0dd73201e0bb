package sim

import (
	"flag"
	"testing"
)

var exclSeedsFlag = flag.Int("exclseeds", 0, "number of seeds TestExclusive runs (default 2000; 100 with -short or -race)")

// TestExclusive: 2 or 3 groups in one exclusive set (the first wins),
// two to four nodes, with crashes, daemon kills, graceful stops,
// partitions, failed scripts and operator commands, over thousands of
// seeds: no node ever runs two groups of the set at once (ground truth),
// and Exclusive, Ordered, Available (relaxed: a lower group may stay down
// when no node is free for it) and Preferred hold.
func TestExclusive(t *testing.T) {
	n := seedCount(*exclSeedsFlag, 2000, 100)
	sum := runSeeds(t, n, RandomExclusiveConfig, "TestExclusive")
	t.Logf("%d seeds: %d starts, %d stops, %d end checks", n, sum.Starts, sum.Stops, sum.EndChecks)
}

// TestExclusiveCheckerCanFail: the same runs with cores that do not know
// the set (no exclusive line) must be reported: the groups meet on a
// node.
func TestExclusiveCheckerCanFail(t *testing.T) {
	found, runs := 0, 40
	for seed := uint64(1); seed <= uint64(runs); seed++ {
		w := newWorld(RandomExclusiveConfig(seed))
		for _, cfg := range w.cfgs {
			cfg.Exclusive = nil
		}
		for _, v := range w.run().Violations {
			if v.Invariant == CheckExclusiveSet {
				found++
				break
			}
		}
	}
	if found < runs/4 {
		t.Errorf("CheckExclusiveSet reported in only %d of %d runs of cores without the exclusive set", found, runs)
	}
	t.Logf("%d of %d runs reported", found, runs)
}
