package sim

import (
	"flag"
	"testing"
)

var staleMarkSeedsFlag = flag.Int("stalemarkseeds", 0, "number of seeds TestStaleMarks runs (default 40; 10 with -short or -race)")

// TestStaleMarks runs RandomStaleMarkConfig seeds: three and five nodes
// with quorum and episodes of one-way cuts in which a node's old "dead"
// mark of another outlives its withdrawal at a third node; Exclusive with
// zero tolerance, Ordered, Available, Preferred. A few seeds here, more in
// TestFreshSeeds (stalemark) and with -stalemarkseeds.
func TestStaleMarks(t *testing.T) {
	n := seedCount(*staleMarkSeedsFlag, 40, 10)
	sum := runSeeds(t, n, RandomStaleMarkConfig, "TestStaleMarks")
	if *seedFlag != 0 {
		return
	}
	t.Logf("%d cuts", sum.Cuts)
	if sum.Cuts < 3*n {
		t.Errorf("%d runs had %d cuts: the episodes did not happen as drawn", n, sum.Cuts)
	}
}
