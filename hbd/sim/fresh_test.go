package sim

import (
	"flag"
	"math/rand/v2"
	"testing"
	"time"
)

var (
	freshFlag      = flag.Uint64("fresh", 0, "first seed TestFreshSeeds runs (default: a random one, printed)")
	freshSeedsFlag = flag.Int("freshseeds", 0, "seeds TestFreshSeeds runs, shared among the generators (default 700; 70 with -short or -race)")
)

// freshOnlyGenerators are the generators TestFreshSeeds runs besides the
// golden ones: one-way cuts and paused daemons (TestFaults), suspended
// machines (TestSuspends), stale dead marks (TestStaleMarks), graceful
// stops cut off by partitions (stopcut), calm runs with a quiet passive
// (TestQuietPassive), reloads that reach one node long before the others
// (TestLeadReloads). Their fixed seeds are pinned by
// those tests' checks or by TestFoundSeeds, not by a trace.
var freshOnlyGenerators = []struct {
	name string
	gen  func(uint64) Config
}{
	{"faults", RandomFaultConfig},
	{"suspends", RandomSuspendConfig},
	{"stalemark", RandomStaleMarkConfig},
	{"stopcut", RandomStopCutConfig},
	{"quietpassive", RandomQuietPassiveConfig},
	{"leadreload", RandomLeadReloadConfig},
}

// freshFirst is the first fresh seed: -fresh, or a random one far above
// the fixed seeds (1..a few thousand), readable.
func freshFirst() uint64 {
	if *freshFlag != 0 {
		return *freshFlag
	}
	return 1_000_000 + rand.Uint64N(1<<40)
}

// everyGenerator is the golden generators and the fresh-only ones.
func everyGenerator() []struct {
	name string
	gen  func(uint64) Config
} {
	return append(goldenGenerators[:len(goldenGenerators):len(goldenGenerators)], freshOnlyGenerators...)
}

// TestFreshSeeds runs every generator on a range of seeds that is new on
// every run: the fixed seeds of the other tests pin what is known, these
// look where nobody has looked yet. The range is logged first; a failing
// seed is reported with the command that replays it, and
// `-fresh=FIRST` runs the same range again. `make sim SEEDS=N` runs N
// seeds this way across the cores and reports the rate.
func TestFreshSeeds(t *testing.T) {
	n := seedCount(*freshSeedsFlag, 700, 70)
	first := freshFirst()
	gens := everyGenerator()
	per := max(1, n/len(gens))
	if *seedFlag == 0 {
		t.Logf("fresh seeds %d..%d, %d per generator (again: go test ./hbd/sim -run TestFreshSeeds -fresh=%d -freshseeds=%d)", first, first+uint64(per)-1, per, first, n)
	}
	start := time.Now()
	for _, g := range gens {
		t.Run(g.name, func(t *testing.T) {
			// Where nobody has looked yet, the nodes also check that no
			// tick skips a reconcile that had something to do.
			gen := func(seed uint64) Config {
				c := g.gen(seed)
				c.CheckSkips = true
				return c
			}
			runSeedRange(t, first, per, gen, "TestFreshSeeds/"+g.name)
		})
	}
	if *seedFlag == 0 {
		el := time.Since(start)
		t.Logf("%d seeds in %v: %.0f seeds/s", per*len(gens), el.Round(time.Millisecond), float64(per*len(gens))/el.Seconds())
	}
}
