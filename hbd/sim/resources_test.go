package sim

import (
	"flag"
	"runtime"
	"sync"
	"testing"
	"time"
)

var rseedsFlag = flag.Int("rseeds", 0, "number of seeds TestResources runs (default 2000; 300 with -short or -race)")

// TestResources runs thousands of seeds of RandomResourceConfig and
// checks Exclusive, Ordered, Available and Preferred (groups.go) besides
// the membership invariants.
func TestResources(t *testing.T) {
	n := seedCount(*rseedsFlag, 2000, 300)
	var (
		rean, healed int
		maxHeal      time.Duration
		maxHealRatio float64
	)
	sum := runSeeds(t, n, RandomResourceConfig, "TestResources", func(c Config, res Result) {
		rean += res.Reannounces
		healed += res.HealResolved
		maxHeal = max(maxHeal, res.MaxHealResolve)
		maxHealRatio = max(maxHealRatio, float64(res.MaxHealResolve)/float64(c.HealBound()))
	})
	if *seedFlag == 0 {
		t.Logf("partition duplicates resolved after the heal: %d, longest %v, at most %.0f%% of the bound; %d reannounces",
			healed, maxHeal.Round(time.Millisecond), 100*maxHealRatio, rean)
		t.Logf("conditional checks applied: Preferred at the end %d, auto_failback off stops %d, restart seen %d/%d",
			sum.PreferredEnd, sum.StaysPut, sum.RestartFirst, sum.Checks3)
		// The conditional checks must have had something to judge: the
		// heal bound (a third of the runs partition), Preferred at the end
		// (two thirds of them fail back), Preferred's auto_failback off
		// branch (a third), restarts seen.
		for _, f := range []struct {
			what      string
			got, want int
		}{
			{"partition duplicates ended after a heal (Exclusive's heal bound)", healed, n / 20},
			{"groups judged by Preferred at the end of a run", sum.PreferredEnd, n / 3},
			{"stops judged by Preferred with auto_failback off", sum.StaysPut, n / 20},
			{"restarts seen at their first packet", sum.RestartFirst, n / 3},
			{"restarts seen a keepalive later", sum.Checks3, n / 3},
			// Graceful stops, standbys and failbacks announce their
			// release to the taker, and most end in its start.
			{"starts that followed a PrepareGroup", sum.PreparedStarts, n / 4},
			{"twice the starts that followed a PrepareGroup, against the PrepareGroups", 2 * sum.PreparedStarts, sum.Prepares},
		} {
			if f.got < f.want {
				t.Errorf("%s: %d in %d runs, want at least %d", f.what, f.got, n, f.want)
			}
		}
	}
}

// TestResourceCheckersCanFail: scripts started or stopped behind the
// cores' backs must be reported (Exclusive when a second node runs the
// group, Available when the holder's processes are gone at the end).
func TestResourceCheckersCanFail(t *testing.T) {
	cases := []struct {
		name  string
		start bool
		want  string
	}{
		{"rogue start", true, CheckExclusive},
		{"rogue stop", false, CheckAvailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			found := 0
			for seed := uint64(1); seed <= 40; seed++ {
				c := RandomResourceConfig(seed)
				c.Crashes, c.Partitions, c.Commands, c.StartFail, c.StopFail = 0, 0, 0, 0, 0
				c.QuietAfter = c.Initdead
				c.Duration = 2 * (c.Initdead + c.Settle())
				for _, v := range runWithRogue(c, tc.start).Violations {
					if v.Invariant == tc.want {
						found++
						break
					}
				}
			}
			if found < 10 {
				t.Errorf("%s reported in only %d of 40 runs", tc.want, found)
			}
		})
	}
}

// TestResourcesDeterministic: the same resource seed gives the same trace.
func TestResourcesDeterministic(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		c := RandomResourceConfig(seed)
		c.Hash = true
		a, b := Run(c), Run(c)
		if a.Hash != b.Hash || a.Events != b.Events {
			t.Errorf("seed %d: hash %x/%x events %d/%d", seed, a.Hash, b.Hash, a.Events, b.Events)
		}
	}
}

var reloadSeedsFlag = flag.Int("reloadseeds", 0, "number of seeds TestReloads and TestMonitorFailures run (default 1000; 15 and 25 with -short or -race), and TestWideReloads (default 100; 8)")

// TestReloads runs RandomReloadConfig seeds: rolling reloads that add,
// remove and change groups and change timings, on top of everything
// TestResources does; the same invariants hold, and group actions carry
// the definitions the nodes' configurations hold (CheckSpec).
func TestReloads(t *testing.T) {
	n := seedCount(*reloadSeedsFlag, 1000, 15)
	runSeeds(t, n, RandomReloadConfig, "TestReloads")
}

// seedCount is the number of seeds a test runs: flagged when its flag
// sets one, else full, or short with -short or -race.
func seedCount(flagged, full, short int) int {
	switch {
	case flagged != 0:
		return flagged
	case testing.Short() || raceEnabled:
		return short
	}
	return full
}

// runSeeds runs seeds 1..n of gen in parallel (or only -seed), reports
// the first failures with their traces, and returns the results' sums;
// each (called one run at a time) may gather more figures.
func runSeeds(t *testing.T, n int, gen func(uint64) Config, test string, each ...func(Config, Result)) Result {
	t.Helper()
	return runSeedRange(t, 1, n, gen, test, each...)
}

// runSeedRange is runSeeds for seeds first..first+n-1; test is what
// -run takes to replay one of them.
func runSeedRange(t *testing.T, first uint64, n int, gen func(uint64) Config, test string, each ...func(Config, Result)) Result {
	t.Helper()
	cfgFor := withCodec(gen)
	fail := func(c Config, res Result) { report(t, test, c, res) }
	if *seedFlag != 0 {
		c := cfgFor(*seedFlag)
		res := Run(c)
		if len(res.Violations) > 0 {
			fail(c, res)
		}
		t.Logf("seed %d: %d events, %d starts, %d stops, end checked: %v; config %+v", c.Seed, res.Events, res.Starts, res.Stops, res.EndChecks > 0, withoutCodec(c))
		return res
	}
	start := time.Now()
	var (
		mu      sync.Mutex
		sum     Result
		failed  []Result
		failCfg []Config
		next    = first
		wg      sync.WaitGroup
	)
	for k := 0; k < runtime.GOMAXPROCS(0); k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				seed := next
				next++
				stop := seed-first >= uint64(n) || len(failed) >= 3
				mu.Unlock()
				if stop {
					return
				}
				c := cfgFor(seed)
				res := Run(c)
				mu.Lock()
				sum.Events += res.Events
				sum.Starts += res.Starts
				sum.Prepares += res.Prepares
				sum.PreparedStarts += res.PreparedStarts
				sum.Stops += res.Stops
				sum.EndChecks += res.EndChecks
				sum.Conflicts += res.Conflicts
				sum.RestartFirst += res.RestartFirst
				sum.Checks3 += res.Checks3
				sum.StaysPut += res.StaysPut
				sum.PreferredEnd += res.PreferredEnd
				sum.HealResolved += res.HealResolved
				sum.Cuts += res.Cuts
				sum.Resumes += res.Resumes
				sum.FloodBursts += res.FloodBursts
				sum.FloodDrops += res.FloodDrops
				sum.FloodsFound += res.FloodsFound
				for _, f := range each {
					f(c, res)
				}
				if len(res.Violations) > 0 {
					failed = append(failed, res)
					failCfg = append(failCfg, c)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for i := range failed {
		fail(failCfg[i], failed[i])
	}
	el := time.Since(start)
	t.Logf("%d seeds in %v (%.0f seeds/s), %d events, %d starts (%d after a PrepareGroup, of %d), %d stops, %d partition duplicates, end checks in %d runs", n, el.Round(time.Millisecond), float64(n)/el.Seconds(), sum.Events, sum.Starts, sum.PreparedStarts, sum.Prepares, sum.Stops, sum.Conflicts, sum.EndChecks)
	if len(failed) == 0 && sum.Starts > 0 && sum.EndChecks < n/2 {
		t.Errorf("the end-of-run checks applied in only %d of %d runs", sum.EndChecks, n)
	}
	return sum
}

// TestMonitorFailures runs RandomMonitorConfig seeds: held groups given up
// by their monitor move to another node and come back only after their
// failure_timeout or a cleanup, with every invariant holding.
func TestMonitorFailures(t *testing.T) {
	n := seedCount(*reloadSeedsFlag, 1000, 25)
	runSeeds(t, n, RandomMonitorConfig, "TestMonitorFailures")
}

var quorumSeedsFlag = flag.Int("quorumseeds", 0, "number of seeds TestQuorum runs (default 1200; 20 with -short or -race)")

// TestQuorum: three and five nodes with quorum, over thousands of seeds
// with partitions: Exclusive with zero tolerance across partitions,
// Available (when a majority is up at the end), Ordered, Preferred.
func TestQuorum(t *testing.T) {
	n := seedCount(*quorumSeedsFlag, 1200, 20)
	runSeeds(t, n, RandomQuorumConfig, "TestQuorum")
}

// TestQuorumCheckerCanFail: the same runs with cores that ignore quorum
// must be reported (both sides of a partition take the groups).
func TestQuorumCheckerCanFail(t *testing.T) {
	found, runs := 0, 40
	if testing.Short() || raceEnabled {
		runs = 8
	}
	for seed := uint64(1); seed <= uint64(runs); seed++ {
		for _, v := range runWithoutCoreQuorum(RandomQuorumConfig(seed)).Violations {
			if v.Invariant == CheckExclusive {
				found++
				break
			}
		}
	}
	if found < runs/8 {
		t.Errorf("Exclusive across partitions reported in only %d of %d runs without quorum in the cores", found, runs)
	}
	t.Logf("%d of %d runs reported", found, runs)
}

// TestWideReloads runs RandomWideReloadConfig seeds: rolling reloads that
// lengthen or shorten the timings and change auto_failback and the
// groups, on runs with quorum, monitor failures or profile safe; every
// invariant holds, with its bounds taken from the longest timings.
func TestWideReloads(t *testing.T) {
	n := seedCount(*reloadSeedsFlag, 100, 8)
	runSeeds(t, n, RandomWideReloadConfig, "TestWideReloads")
}

var nodeSetSeedsFlag = flag.Int("nodesetseeds", 0, "number of seeds TestNodeSetChanges runs (default 200; 10 with -short or -race)")

// TestNodeSetChanges runs RandomNodeSetConfig seeds: nodes added and
// removed by rolling reloads (a removed node stopped first, crashing
// during the change or stopped last), on resource, monitor, safe and
// exclusive runs. Exclusive between nodes that name each other, Joined,
// and the end-of-run checks (a removed node's groups held by exactly one
// member) hold; each kind of change happened and the checks applied.
func TestNodeSetChanges(t *testing.T) {
	n := seedCount(*nodeSetSeedsFlag, 200, 10)
	var added, removed, running, joined int
	runSeeds(t, n, RandomNodeSetConfig, "TestNodeSetChanges", func(_ Config, r Result) {
		added += r.NodesAdded
		removed += r.NodesRemoved
		running += r.RemovedRunning
		joined += r.JoinJudged
	})
	t.Logf("%d nodes added, %d removed (%d of them running until every member removed them), %d pairs judged for Joined", added, removed, running, joined)
	if *seedFlag == 0 && (added < n/4 || removed < n/8 || running == 0 || joined < n) {
		t.Errorf("too few changes or checks: %d added, %d removed, %d removed while running, %d Joined judgements in %d runs", added, removed, running, joined, n)
	}
}
