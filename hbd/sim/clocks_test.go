package sim

import (
	"flag"
	"testing"
)

var clockSeedsFlag = flag.Int("clockseeds", 0, "number of seeds TestClocks runs (default 400; 20 with -short or -race)")

// TestClocks runs RandomClockConfig seeds: leaps of one node's monotonic
// clock and steps of one node's wall clock, with one-way cuts, link cuts
// and pauses, on safe, exclusive, monitor and quorum runs; checked
// against the promises of clocks.go and faults.go (CheckClock, Exclusive
// with zero tolerance under fencing and the heal bound otherwise,
// Ordered, Available, Preferred, CheckDeadInTime with the stall grace).
func TestClocks(t *testing.T) {
	n := seedCount(*clockSeedsFlag, 400, 20)
	var leaps, steps, stale int
	runSeeds(t, n, RandomClockConfig, "TestClocks", func(_ Config, res Result) {
		leaps += res.Leaps
		steps += res.WallSteps
		stale += res.StaleDrops
	})
	if *seedFlag != 0 {
		return
	}
	t.Logf("%d runs: %d leaps, %d wall clock steps, %d messages dropped as stale", n, leaps, steps, stale)
	if leaps < n || steps < n || stale == 0 {
		t.Errorf("%d runs had %d leaps, %d wall clock steps and %d stale drops: the faults did not happen as drawn", n, leaps, steps, stale)
	}
}
