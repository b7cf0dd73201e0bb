package sim

import (
	"flag"
	"slices"
	"testing"
)

var faultSeedsFlag = flag.Int("faultseeds", 0, "number of seeds TestFaults runs (default 600; 30 with -short or -race)")

// knownFaultFailures are seeds of RandomFaultConfig that break an
// invariant today, with what they show. TestFaults runs the others, and
// TestKnownFaultFailures asserts that these still fail, so that the
// seed leaves this list (and joins the checked ones) once the core is
// fixed.
var knownFaultFailures = map[uint64]string{
	// Three nodes, one link, node1 dead. node2 stands by for node3 (a
	// takeover command) while a one-way cut hides it from node3; its
	// "standby done" is lost in a cut of the only link between the two,
	// node2 declares node3 dead and starts the group again, announcing
	// it held; after the link is mended node3, which never declared node2
	// dead, gets node2's messages resent out of order and starts the
	// group while node2 holds it (Ordered, Exclusive while they hear each
	// other): a resent older "done" seems to outweigh the newer "held".
	457: "ordered: node3 starts a group node2 holds after a link is mended",
}

// TestFaults runs RandomFaultConfig seeds: one-way cuts, link cuts and
// paused daemons besides crashes, partitions, commands and failing
// scripts, checked against the promises that hold under them (faults.go):
// Exclusive with the heal bound, Ordered, Available, Preferred,
// CheckDeadInTime with the stall grace, CheckRestartSeen.
func TestFaults(t *testing.T) {
	n := *faultSeedsFlag
	if n == 0 {
		n = 600
		if testing.Short() || raceEnabled {
			n = 30
		}
	}
	gen := func(seed uint64) Config {
		for knownFaultFailures[seed] != "" && *seedFlag == 0 {
			seed += uint64(n) // another seed in its place
		}
		return RandomFaultConfig(seed)
	}
	sum := runSeeds(t, n, gen, "TestFaults")
	if *seedFlag != 0 {
		return
	}
	t.Logf("%d cuts, %d pauses, %d duplicates (ended after %d heals)", sum.Cuts, sum.Resumes, sum.Conflicts, sum.HealResolved)
	if sum.Cuts < n/2 || sum.Resumes < n || sum.Conflicts == 0 {
		t.Errorf("%d runs had %d cuts, %d pauses and %d duplicates: the faults did not happen as drawn", n, sum.Cuts, sum.Resumes, sum.Conflicts)
	}
}

// TestKnownFaultFailures: the seeds in knownFaultFailures still fail.
func TestKnownFaultFailures(t *testing.T) {
	seeds := make([]uint64, 0, len(knownFaultFailures))
	for s := range knownFaultFailures {
		seeds = append(seeds, s)
	}
	slices.Sort(seeds)
	for _, seed := range seeds {
		if res := Run(RandomFaultConfig(seed)); len(res.Violations) == 0 {
			t.Errorf("seed %d (%s) passes now: remove it from knownFaultFailures", seed, knownFaultFailures[seed])
		}
	}
}
