package sim

import (
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/wire"
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

// gapStory is falseDeathStory with auto_failback off and the group held
// by the node that does not come first for it: the preferred node
// crashes at 3 s (the other takes the group over) and is back at 6 s
// (the group stays put); at 9 s the holder stalls for 700 ms, the
// preferred node takes it for dead and begins the takeover, and hears it
// again while the takeover still reads its statuses.
func gapStory() (Config, func(*world)) {
	c, _ := falseDeathStory()
	c.AutoFailback = config.FailbackOff
	c.DownMin, c.DownMax = 3*time.Second, 3*time.Second
	return c, func(w *world) {
		pref := w.rs.prefs[0]
		w.c.Crashes, w.c.Pauses = 1, 1 // (drawn none at setup: the checks know of them)
		w.push(&event{at: Epoch.Add(3 * time.Second), kind: evCrash, node: pref})
		w.push(&event{at: Epoch.Add(9 * time.Second), kind: evPause, node: 1 - pref, dur: 700 * time.Millisecond})
	}
}

// TestAbandonGapStory: the preferred node calls its takeover off, and the
// holder, which would give the group up to the preferred node's copy once
// it runs, keeps its own while that copy is announced as starting
// (hbd_starting): the group never leaves it. With the field stripped from
// every announcement (a peer that cannot say "starting"), the holder
// releases the group to a start that is then called off (CheckYield), and
// the group is down until the preferred node starts it again.
func TestAbandonGapStory(t *testing.T) {
	c, story := gapStory()
	res := runTampered(c, story)
	if len(res.Violations) > 0 || res.Abandoned != 1 || res.EndChecks == 0 {
		t.Fatalf("violations %v, %d abandoned (want 1), end checked %v\n%s",
			res.Violations, res.Abandoned, res.EndChecks > 0, strings.Join(res.Trace, "\n"))
	}
	kept := false
	for _, l := range res.Trace {
		kept = kept || strings.Contains(l, "which keeps it once it runs: keeping it here until then")
	}
	if !kept {
		t.Errorf("the holder did not say it keeps the group while the peer's copy starts:\n%s", strings.Join(res.Trace, "\n"))
	}

	old := runTampered(c, func(w *world) {
		story(w)
		w.hooks.action = stripStarting
	})
	yielded := false
	for _, v := range old.Violations {
		yielded = yielded || v.Invariant == CheckYield
	}
	if old.Abandoned != 1 || !yielded {
		t.Fatalf("the story without hbd_starting: %d abandoned, violations %v; want the group released to a start called off\n%s", old.Abandoned, old.Violations, strings.Join(old.Trace, "\n"))
	}
	if old.Stops <= res.Stops || old.Starts <= res.Starts {
		t.Errorf("without hbd_starting: %d starts and %d stops; with it: %d and %d; want more of both without", old.Starts, old.Stops, res.Starts, res.Stops)
	}
	// The crash at 3 s leaves the group on no node for a deadtime and the
	// takeover; the release to a start called off adds a stop and a start.
	if res.Unheld < c.Deadtime || old.Unheld <= res.Unheld {
		t.Errorf("the group ran on no node for %s (without hbd_starting: %s): want at least a deadtime, and more without", res.Unheld, old.Unheld)
	}
	t.Logf("without hbd_starting: %v; the group ran on no node for %s, %s with it", old.Violations, old.Unheld, res.Unheld)
}

// TestFlappingLink: the link between two nodes flaps at about the
// deadtime (down a little more than a deadtime, up for a while), so that
// each cut starts a takeover that reads its statuses and each mend calls
// it off. The calls-off end with the flapping: at most one per mend, none
// once the link has stayed up for a deadtime, and at the end the group
// runs on exactly one node (CheckAvailable), with every other promise of
// RandomFaultConfig held throughout.
func TestFlappingLink(t *testing.T) {
	const flaps = 8
	var stops, oldStops int
	for _, tc := range []struct {
		down, up float64 // × deadtime
		fb       config.AutoFailback
	}{
		{1.1, 0.5, config.FailbackOff}, {1.1, 1, config.FailbackOn}, {1.25, 1, config.FailbackOff},
		{1.5, 2, config.FailbackOn}, {1.5, 0.5, config.FailbackOff}, {2.5, 1, config.FailbackOff},
		{2.5, 3, config.FailbackOn},
	} {
		for seed := uint64(1); seed <= 4; seed++ {
			c, _ := falseDeathStory()
			c.Seed, c.Trace = seed, false
			c.AutoFailback = tc.fb
			c.StatusMin, c.StatusMax = c.Deadtime/2, 2*c.Deadtime
			down := time.Duration(tc.down * float64(c.Deadtime))
			up := time.Duration(tc.up * float64(c.Deadtime))
			c.DownMin, c.DownMax = 2*time.Second, 2*time.Second
			first := 6 * time.Second
			// The preferred node crashes at 2 s and is back at 4 s: with
			// auto_failback off the group stays on the other node, which
			// does not come first for it.
			flap := func(w *world) {
				w.c.Crashes, w.c.Partitions = 1, flaps // (drawn none at setup: pushed here)
				w.push(&event{at: Epoch.Add(2 * time.Second), kind: evCrash, node: w.rs.prefs[0]})
				at := first
				for range flaps {
					w.push(&event{at: Epoch.Add(at), kind: evPartition, part: []bool{true, false}})
					w.push(&event{at: Epoch.Add(at + down), kind: evHeal})
					at += down + up
				}
			}
			lastMend := first + flaps*(down+up) - up
			c.Duration = lastMend + c.Settle() + time.Second
			var calls []time.Duration
			res := runTampered(c, func(w *world) {
				flap(w)
				w.hooks.action = func(_ int, a cluster.Action) cluster.Action {
					if _, ok := a.(cluster.AbandonStart); ok {
						calls = append(calls, w.now.Sub(Epoch))
					}
					return a
				}
			})
			name := fmt.Sprintf("down %.2f up %.2f deadtimes, auto_failback %v, seed %d", tc.down, tc.up, tc.fb, seed)
			if len(res.Violations) > 0 || res.EndChecks == 0 {
				t.Errorf("%s: violations %v, end checked %v", name, res.Violations, res.EndChecks > 0)
				continue
			}
			if len(calls) > flaps {
				t.Errorf("%s: %d calls-off for %d mends", name, len(calls), flaps)
			}
			for _, at := range calls {
				if at > lastMend+c.Deadtime {
					t.Errorf("%s: a call-off at %s, after the link stayed up from %s", name, at, lastMend)
				}
			}
			t.Logf("%s: %d calls-off (%d before the start script), %d starts, %d stops", name, len(calls), res.Abandoned, res.Starts, res.Stops)
			stops += res.Stops
			old := runTampered(c, func(w *world) {
				flap(w)
				w.hooks.action = stripStarting
			})
			oldStops += old.Stops
		}
	}
	// (for the record: a holder that gives its copy up to a starting one
	// stops the group more often while the link flaps)
	t.Logf("stops in all runs: %d; with hbd_starting stripped: %d", stops, oldStops)
}

// stripStarting is a hooks.action that removes hbd_starting from every
// message sent: peers that cannot tell a starting copy from a running one.
func stripStarting(_ int, a cluster.Action) cluster.Action {
	if s, ok := a.(*cluster.Send); ok {
		s.Msg.Del(wire.FHbdStarting)
	}
	return a
}
