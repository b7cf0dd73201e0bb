package sim

import (
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
)

var abandonSeedsFlag = flag.Int("abandonseeds", 0, "number of seeds TestAbandonSeeds runs (default 400; 30 with -short or -race)")

// falseDeathStory is two nodes and one group whose starts read their
// statuses for 1 s before the start script. At 5 s the holder's daemon
// stalls for 700 ms (deadtime 400 ms): the other node declares it dead
// and begins the takeover, and hears it again 300 ms later, while the
// takeover still reads its statuses.
func falseDeathStory() (Config, func(*world)) {
	c := Config{
		Seed: 7, Nodes: 2, Links: 1,
		Keepalive: 100 * time.Millisecond, Warntime: 200 * time.Millisecond,
		Deadtime: 400 * time.Millisecond, Initdead: 800 * time.Millisecond,
		DelayMin: time.Millisecond, DelayMax: 2 * time.Millisecond,
		MaxLostInARow: -1,
		Groups:        1, AutoFailback: config.FailbackOn,
		ScriptMin: 50 * time.Millisecond, ScriptMax: 100 * time.Millisecond,
		StatusMin: time.Second, StatusMax: time.Second,
		Duration: 15 * time.Second,
		Trace:    true,
	}
	pause := func(w *world) {
		w.c.Pauses = 1 // (drawn none at setup: the checks know of a pause)
		w.push(&event{at: Epoch.Add(5 * time.Second), kind: evPause, node: w.rs.prefs[0], dur: 700 * time.Millisecond})
	}
	return c, pause
}

// TestAbandonStory: the false death of falseDeathStory. The takeover is
// called off before its start script: the group never runs on two nodes
// (not even for the heal bound), the holder keeps it, and the end of the
// run finds it on exactly one node. Without the call-off (the daemon
// ignores AbandonStart, as before) the same story starts it on node2
// while node1 holds it, and both hold it while they hear each other.
func TestAbandonStory(t *testing.T) {
	c, pause := falseDeathStory()
	res := runTampered(c, pause)
	if len(res.Violations) > 0 || res.Abandoned != 1 || res.Conflicts != 0 || res.EndChecks == 0 {
		t.Fatalf("violations %v, %d abandoned (want 1), %d duplicates (want 0), end checked %v\n%s",
			res.Violations, res.Abandoned, res.Conflicts, res.EndChecks > 0, strings.Join(res.Trace, "\n"))
	}
	if res.Starts != 2 {
		t.Errorf("%d starts, want 2 (the first, and the takeover called off)", res.Starts)
	}
	abandoned := false
	for _, l := range res.Trace {
		abandoned = abandoned || strings.Contains(l, "info: Takeover of resource group") && strings.Contains(l, "abandoned: node")
	}
	if !abandoned {
		t.Errorf("no core logged the abandoned takeover:\n%s", strings.Join(res.Trace, "\n"))
	}

	old := runTampered(c, func(w *world) {
		pause(w)
		w.hooks.action = func(_ int, a cluster.Action) cluster.Action {
			if _, ok := a.(cluster.AbandonStart); ok {
				return nil
			}
			return a
		}
	})
	both := false
	for _, v := range old.Violations {
		both = both || v.Invariant == CheckExclusive
	}
	if old.Abandoned != 0 || !both {
		t.Fatalf("the story with AbandonStart ignored: %d abandoned, violations %v; want the group on both nodes", old.Abandoned, old.Violations)
	}
	t.Logf("with AbandonStart ignored: %v", old.Violations)
}

// TestAbandonSeeds runs RandomAbandonConfig seeds: takeovers called off
// while they read their statuses, among pauses, cuts, partitions and
// crashes, checked against RandomFaultConfig's promises.
func TestAbandonSeeds(t *testing.T) {
	n := seedCount(*abandonSeedsFlag, 400, 30)
	var abandons, abandoned int
	runSeeds(t, n, RandomAbandonConfig, "TestAbandonSeeds", func(_ Config, res Result) {
		abandons += res.Abandons
		abandoned += res.Abandoned
	})
	if *seedFlag != 0 {
		return
	}
	t.Logf("%d runs: %d AbandonStart, %d of them before the start script", n, abandons, abandoned)
	if abandoned < n/10 || abandoned == abandons {
		t.Errorf("%d runs: %d AbandonStart, %d before the start script: want some of both (at least %d before)", n, abandons, abandoned, n/10)
	}
}
