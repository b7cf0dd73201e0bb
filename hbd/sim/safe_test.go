package sim

import (
	"flag"
	"testing"

	"github.com/hbdproject/hbd/hbd/config"
)

var safeSeedsFlag = flag.Int("safeseeds", 0, "number of seeds TestSafeProfile runs (default 2000; 20 with -short or -race)")

// TestSafeProfile: two to four nodes with profile safe and a fencing
// device that sometimes fails, over thousands of seeds with crashes,
// daemon kills, graceful stops and partitions: Exclusive with zero
// tolerance (no two nodes ever hold a group at once, partitions
// included), Ordered, Available at the end of quiet runs, and groups do
// not move while their holder lives (auto_failback off).
func TestSafeProfile(t *testing.T) {
	n := seedCount(*safeSeedsFlag, 2000, 20)
	runSeeds(t, n, RandomSafeConfig, "TestSafeProfile")
	// The runs do fence: count the fences of the first seeds.
	fences := 0
	for seed := uint64(1); seed <= 20; seed++ {
		res := Run(RandomSafeConfig(seed))
		fences += res.Fences
	}
	if fences < 10 {
		t.Errorf("only %d fences in 20 seeds: the partitions do not exercise fencing", fences)
	}
	t.Logf("%d fences in the first 20 seeds", fences)
}

// TestSafeCheckerCanFail: the same runs with cores that neither fence
// nor wait must be reported (both sides of a partition take the groups).
func TestSafeCheckerCanFail(t *testing.T) {
	found, runs := 0, 40
	if testing.Short() || raceEnabled {
		runs = 10
	}
	for seed := uint64(1); seed <= uint64(runs); seed++ {
		w := newWorld(RandomSafeConfig(seed))
		for _, cfg := range w.cfgs {
			cfg.Profile = config.ProfileDefault
			cfg.Fence = config.FenceConfig{}
		}
		for _, v := range w.run().Violations {
			if v.Invariant == CheckExclusive {
				found++
				break
			}
		}
	}
	if found < runs/8 {
		t.Errorf("Exclusive across partitions reported in only %d of %d runs without fencing in the cores", found, runs)
	}
	t.Logf("%d of %d runs reported", found, runs)
}
