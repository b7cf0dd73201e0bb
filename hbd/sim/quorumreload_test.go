package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
)

// holdLine is what a node logs when, with quorum, a reload lengthens its
// deadtime and it counts a peer silent for the shorter one out of the
// quorum until they have heard the longer one.
const holdLine = "does not count for the quorum"

// TestReloadLengthensQuorumWait: in RandomReloadConfig seed 7223 a
// partition cuts one node of three off under a 2 s deadtime, and every
// node then reloads to 4 s while the majority waits for the cut-off node
// to notice and stop. The cut-off node must still notice within the 2 s
// the majority's wait assumes: a peer silent for the old deadtime does
// not count for its quorum until they have heard the new one. Without
// that both
// sides held IPaddr::10.99.0.104/24/eth0 across the partition.
func TestReloadLengthensQuorumWait(t *testing.T) {
	c := RandomReloadConfig(7223)
	c.Trace = true
	res := Run(c)
	for _, v := range res.Violations {
		t.Errorf("violation: %s", v)
	}
	held := false
	for _, l := range res.Trace {
		if strings.Contains(l, holdLine) {
			held = true
			break
		}
	}
	if !held {
		t.Errorf("no node held the shorter deadtime on the reload: the seed no longer exercises it")
	}
}

// leadStory is three nodes with quorum and one group, keepalive 250 ms,
// deadtime 1 s. The group's holder reloads to keepalive 500 ms, deadtime
// 4 s at reloadAt; a partition cuts it off from the other two at 8 s
// (healed at 20 s); the other two apply the same reload only at 25 s, a
// whole quorum wait (and more) after the holder.
func leadStory(reloadAt time.Duration) (Config, func(*world)) {
	c := Config{
		Seed: 11, Nodes: 3, Links: 1,
		Keepalive: 250 * time.Millisecond, Warntime: 666 * time.Millisecond,
		Deadtime: time.Second, Initdead: 2 * time.Second,
		DelayMin: time.Millisecond, DelayMax: 2 * time.Millisecond,
		MaxLostInARow: -1,
		Groups:        1, AutoFailback: config.FailbackOn,
		ScriptMin: 50 * time.Millisecond, ScriptMax: 100 * time.Millisecond,
		ReloadLonger: 4,
		Duration:     40 * time.Second,
		Trace:        true,
	}
	story := func(w *world) {
		w.c.Partitions, w.c.Reloads = 1, 1 // (drawn none at setup: the checks know of them)
		holder := w.rs.prefs[0]
		cut := make([]bool, c.Nodes)
		cut[holder] = true
		w.push(&event{at: Epoch.Add(8 * time.Second), kind: evPartition, part: cut})
		w.push(&event{at: Epoch.Add(20 * time.Second), kind: evHeal})
		w.rs.reloads++
		for i := range w.nodes {
			cfg := *w.cfgs[i]
			cfg.Keepalive, cfg.Deadtime, cfg.Warntime, cfg.Initdead = 500*time.Millisecond, 4*time.Second, 3*time.Second, 8*time.Second
			at := Epoch.Add(25 * time.Second)
			if i == holder {
				at = Epoch.Add(reloadAt)
			}
			w.push(&event{at: at, kind: evApply, node: i, cfg: &cfg, frun: w.rs.reloads})
		}
	}
	return c, story
}

// TestQuorumWaitAfterEarlyReload: the node cut off lengthened its
// deadtime a whole quorum wait before the majority: 3 s before the cut
// (its statuses said so), just before it (no status of the new deadtime
// got through) or just after it (before it noticed the lost majority).
// In each case the majority must not start its group before it has
// stopped it: the majority sizes its wait by the deadtime the node
// announced, and a node counts a peer silent for its old, shorter
// deadtime out of its quorum until they may have heard the new one.
// Before, the majority
// started the group 3 s after the cut while the node noticed only 4 s
// after it.
func TestQuorumWaitAfterEarlyReload(t *testing.T) {
	for _, tc := range []struct {
		name     string
		reloadAt time.Duration
		// takeover: when the majority starts the group at the soonest
		// (the wait it must keep), and at the latest.
		soonest, latest time.Duration
	}{
		// The majority heard 4 s: it waits 1 s + 4 s after the death
		// (about 1 s after the cut).
		{"long before the cut", 5 * time.Second, 13 * time.Second, 15 * time.Second},
		// It heard 1 s, and the node notices within it: 2 s.
		{"just before the cut", 7900 * time.Millisecond, 10 * time.Second, 12 * time.Second},
		{"just after the cut", 8300 * time.Millisecond, 10 * time.Second, 12 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, story := leadStory(tc.reloadAt)
			res := runTampered(c, story)
			for _, v := range res.Violations {
				t.Errorf("violation: %s", v)
			}
			takeover := time.Duration(-1)
			for _, l := range res.Trace {
				if at, ok := strings.CutPrefix(l, "+"); ok && strings.Contains(l, " START ") {
					d, err := time.ParseDuration(strings.Fields(at)[0])
					if err == nil && d > 8*time.Second && d < 20*time.Second {
						takeover = d
						break
					}
				}
			}
			if takeover < tc.soonest || takeover > tc.latest {
				t.Errorf("the majority took the group over at +%v, want between +%v and +%v", takeover, tc.soonest, tc.latest)
			}
			// The cut-off node loses the quorum once: the end of its hold
			// does not count its silent peers back in.
			lost, regained := 0, 0
			for _, l := range res.Trace {
				lost += strings.Count(l, "Quorum lost")
				regained += strings.Count(l, "Quorum regained")
			}
			if lost != 1 || regained != 1 {
				t.Errorf("quorum lost %d times and regained %d times, want once each (the cut, the heal)", lost, regained)
			}
			if t.Failed() {
				t.Logf("trace:\n%s", strings.Join(res.Trace, "\n"))
			}
		})
	}
}

// TestLeadReloads runs RandomLeadReloadConfig seeds: quorum runs whose
// rolling reloads reach one node first and the others up to eight
// deadtimes later, with partitions that may cut the first one off.
func TestLeadReloads(t *testing.T) {
	n := seedCount(*reloadSeedsFlag, 100, 8)
	runSeeds(t, n, RandomLeadReloadConfig, "TestLeadReloads")
}
