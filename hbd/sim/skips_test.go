package sim

import (
	"flag"
	"testing"
)

var skipSeedsFlag = flag.Int("skipseeds", 0, "seeds per generator TestSkipsKeepTrace runs (default 4; 1 with -short or -race)")

// TestSkipsKeepTrace runs fresh seeds of every generator twice, with
// CheckSkips and without, and wants the same trace. With CheckSkips a
// node runs every reconcile a tick would skip (and panics if it acted),
// so its trace is that of a node reconciling at every tick; without, the
// skipped ticks are skipped. A change reconcile reads that asks for no
// reconcile (touch, recheck) and whose first effect is on state, not
// on an action (a log line's once-only flag, a planned failback's
// time), escapes CheckSkips (its own run of reconcile mends the state)
// but not this comparison. `-fresh=FIRST -skipseeds=N` runs a range
// again.
func TestSkipsKeepTrace(t *testing.T) {
	per := seedCount(*skipSeedsFlag, 4, 1)
	first := freshFirst()
	t.Logf("seeds %d..%d of every generator (again: go test ./hbd/sim -run TestSkipsKeepTrace -fresh=%d -skipseeds=%d)", first, first+uint64(per)-1, first, per)
	for _, g := range everyGenerator() {
		t.Run(g.name, func(t *testing.T) {
			for seed := first; seed < first+uint64(per); seed++ {
				c := g.gen(seed)
				c.Hash = true
				skips := Run(c)
				c.CheckSkips = true
				every := Run(c)
				if len(every.Violations) > 0 {
					report(t, "TestSkipsKeepTrace/"+g.name, c, every)
					continue
				}
				if skips.Hash != every.Hash {
					t.Errorf("seed %d: the trace with skipped reconciles (hash %016x) differs from the one reconciling at every tick (CheckSkips, %016x): a change reconcile reads asked for no reconcile; config %+v", seed, skips.Hash, every.Hash, withoutCodec(c))
				}
			}
		})
	}
}
