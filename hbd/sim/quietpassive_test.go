package sim

import (
	"flag"
	"testing"

	"github.com/hbdproject/hbd/hbd/wire"
)

var quietPassiveSeedsFlag = flag.Int("quietpassiveseeds", 0, "number of seeds TestQuietPassive runs (default 400; 40 with -short or -race)")

// TestQuietPassive runs RandomQuietPassiveConfig seeds: calm two-node
// runs where the node holding nothing goes quiet; no node may ever be
// declared dead (CheckCalm), besides the resource checks. Most runs must
// see a quiet node, or the check judged nothing of it.
func TestQuietPassive(t *testing.T) {
	n := seedCount(*quietPassiveSeedsFlag, 400, 40)
	quiet := 0
	runSeeds(t, n, RandomQuietPassiveConfig, "TestQuietPassive", func(_ Config, res Result) {
		if res.QuietStatuses > 0 {
			quiet++
		}
	})
	if *seedFlag != 0 {
		return
	}
	t.Logf("%d of %d runs had a quiet node", quiet, n)
	if quiet < n/2 {
		t.Errorf("only %d of %d runs had a quiet node: CheckCalm hardly judged quiet statuses", quiet, n)
	}
}

// TestQuietPassiveCheckerCanFail: receivers that never see hbd_quiet
// (the field is taken out of every message on the way) declare the
// quiet node dead, and CheckCalm says so.
func TestQuietPassiveCheckerCanFail(t *testing.T) {
	found, runs := 0, 40
	for seed := uint64(1); seed <= uint64(runs); seed++ {
		c := RandomQuietPassiveConfig(seed)
		c.Codec = func(m *wire.Message) (*wire.Message, error) {
			m = m.Clone()
			m.Del(wire.FHbdQuiet)
			return m, nil
		}
		for _, v := range Run(c).Violations {
			if v.Invariant == CheckCalm {
				found++
				break
			}
		}
	}
	if found < runs/4 {
		t.Errorf("CheckCalm reported in only %d of %d runs whose receivers never saw hbd_quiet", found, runs)
	}
	t.Logf("%d of %d runs reported", found, runs)
}
