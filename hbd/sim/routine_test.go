package sim

import (
	"flag"
	"testing"
)

var routineSeedsFlag = flag.Int("routineseeds", 0, "seeds TestRoutineReads runs per generator (default 60; 8 with -short or -race)")

// withRoutineReads is gen with Config.RoutineReads on.
func withRoutineReads(gen func(uint64) Config) func(uint64) Config {
	return func(seed uint64) Config {
		c := gen(seed)
		c.RoutineReads = true
		return c
	}
}

// TestRoutineReads runs every generator's seeds with the routine
// messages read as the daemon reads them (Config.RoutineReads): a
// routine message waits for its receiver's next step, and the holder
// beside a quiet peer steps Ticks without reading them (cluster's
// RoutineCanWait) or, once its standing status order stands, is not
// stepped for its statuses at all and reads them only at the Ticks when
// the quiet peer's status is due. Every check holds as it does when
// every message is read as it arrives; in the calm runs with a quiet
// passive no node is ever declared dead (CheckCalm), and most of them
// do leave the routine messages waiting, and send statuses by the
// standing order.
func TestRoutineReads(t *testing.T) {
	n := seedCount(*routineSeedsFlag, 60, 8)
	for _, g := range everyGenerator() {
		t.Run(g.name, func(t *testing.T) {
			waited, standing := 0, 0
			runSeeds(t, n, withRoutineReads(g.gen), "TestRoutineReads/"+g.name, func(_ Config, res Result) {
				if res.RoutineWaits > 0 || res.StandingSends > 0 {
					waited++
				}
				if res.StandingSends > 0 {
					standing++
				}
			})
			if g.name == "quietpassive" && *seedFlag == 0 && (waited < n/2 || standing < n/2) {
				t.Errorf("of %d calm runs with a quiet passive, %d left the routine messages waiting and %d sent statuses by a standing order", n, waited, standing)
			}
		})
	}
}
