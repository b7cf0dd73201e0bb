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
// beside a quiet peer steps most of its Ticks without reading them
// (cluster's RoutineCanWait). Every check holds as it does when every
// message is read as it arrives; in the calm runs with a quiet passive
// no node is ever declared dead (CheckCalm), and most of them do step
// Ticks without the routine messages, or the run judged nothing of it.
func TestRoutineReads(t *testing.T) {
	n := seedCount(*routineSeedsFlag, 60, 8)
	for _, g := range everyGenerator() {
		t.Run(g.name, func(t *testing.T) {
			waited := 0
			runSeeds(t, n, withRoutineReads(g.gen), "TestRoutineReads/"+g.name, func(_ Config, res Result) {
				if res.RoutineWaits > 0 {
					waited++
				}
			})
			if g.name == "quietpassive" && *seedFlag == 0 && waited < n/2 {
				t.Errorf("only %d of %d calm runs with a quiet passive stepped a Tick without the routine messages", waited, n)
			}
		})
	}
}
