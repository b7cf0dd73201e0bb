package sim

import (
	"flag"
	"testing"
)

var floodSeedsFlag = flag.Int("floodseeds", 0, "number of seeds TestFloodCalm and TestFlood run each (default 400; 40 with -short or -race)")

// TestFloodCalm runs RandomFloodCalmConfig seeds: calm two-node runs, one
// node quiet, whose routine sockets are flooded by bursts that make the
// kernel drop statuses until the next read; no node may ever be declared
// dead (CheckCalm). Most runs must have had statuses dropped, at the
// quiet node and at its holder, or the check judged nothing.
func TestFloodCalm(t *testing.T) {
	n := seedCount(*floodSeedsFlag, 400, 40)
	dropped, quiet := 0, 0
	sum := runSeeds(t, n, RandomFloodCalmConfig, "TestFloodCalm", func(_ Config, res Result) {
		if res.FloodDrops > 0 {
			dropped++
			if res.QuietStatuses > 0 {
				quiet++
			}
		}
	})
	if *seedFlag != 0 {
		return
	}
	t.Logf("%d of %d runs had statuses dropped by a flood (%d with a quiet node): %d bursts, %d drops, %d floods found", dropped, n, quiet, sum.FloodBursts, sum.FloodDrops, sum.FloodsFound)
	if dropped < n/2 || quiet < n/4 {
		t.Errorf("only %d of %d runs had statuses dropped (%d with a quiet node): CheckCalm hardly judged a flood", dropped, n, quiet)
	}
}

// TestFloodCut runs RandomFloodCutConfig seeds: calm runs whose first
// link is cut now and then while floods land on either; no node may be
// declared dead (CheckCalm), also where a flood on the cut link gives no
// grace and the peer's statuses on the other link come with it.
func TestFloodCut(t *testing.T) {
	n := seedCount(*floodSeedsFlag, 400, 40)
	sum := runSeeds(t, n, RandomFloodCutConfig, "TestFloodCut")
	if *seedFlag != 0 {
		return
	}
	t.Logf("%d runs: %d cuts, %d bursts, %d drops, %d floods found", n, sum.Cuts, sum.FloodBursts, sum.FloodDrops, sum.FloodsFound)
	if sum.Cuts == 0 || sum.FloodsFound == 0 {
		t.Errorf("no cut or no flood found in %d runs: the runs judged nothing", n)
	}
}

// TestFlood runs RandomFloodConfig seeds: crashes, partitions and
// resource groups on two to four nodes, with floods; a dead peer is
// declared dead in time (CheckDeadInTime, at most a deadtime later after
// a flood found since it was last heard) and the resource checks hold.
func TestFlood(t *testing.T) {
	n := seedCount(*floodSeedsFlag, 400, 40)
	sum := runSeeds(t, n, RandomFloodConfig, "TestFlood")
	if *seedFlag != 0 {
		return
	}
	t.Logf("%d runs: %d bursts, %d drops, %d floods found", n, sum.FloodBursts, sum.FloodDrops, sum.FloodsFound)
	if sum.FloodDrops == 0 || sum.FloodsFound == 0 {
		t.Errorf("no status dropped or no flood found in %d runs: the floods judged nothing", n)
	}
}

// TestFloodCheckerCanFail: cores that are never told of a flood (a read
// that finds one steps no cluster.RoutineFlood) declare live peers dead
// when a burst dropped their statuses up to their deadline, and
// CheckCalm says so. One link and ten episodes a run: a burst drops
// every status up to the deadline only when it lands within about a
// keepalive after a read and no other message of the peer comes before
// the next (a gap it leaves is asked for again), a few runs in a hundred.
func TestFloodCheckerCanFail(t *testing.T) {
	found, runs := 0, 80
	for seed := uint64(1); seed <= uint64(runs); seed++ {
		c := RandomFloodCalmConfig(seed)
		c.Links, c.Floods = 1, 10
		res := runTampered(c, func(w *world) { w.hooks.floodUntold = true })
		for _, v := range res.Violations {
			if v.Invariant == CheckCalm {
				found++
				break
			}
		}
	}
	t.Logf("%d of %d runs reported", found, runs)
	if found == 0 {
		t.Errorf("CheckCalm reported no run of %d whose cores were never told of a flood", runs)
	}
}
