package sim

import (
	"flag"
	"testing"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/wire"
)

var sseedsFlag = flag.Int("sseeds", 0, "number of seeds TestSettings runs (default 2000; 300 with -short or -race)")

// TestSettings runs RandomSettingsConfig seeds: cluster-wide operator
// settings changed on random nodes among crashes, restarts and
// partitions, checked by CheckSettings besides every resource invariant.
func TestSettings(t *testing.T) {
	n := seedCount(*sseedsFlag, 2000, 300)
	var ends, moved, cleared int
	runSeeds(t, n, RandomSettingsConfig, "TestSettings", func(_ Config, res Result) {
		ends += res.SettingsEnd // (runSeeds calls this under its lock)
		moved += res.MovedEnd
		cleared += res.ClearedEnd
	})
	if *seedFlag == 0 {
		t.Logf("settings judged at the end of %d runs (%d with every node up), moved groups judged there: %d", ends, cleared, moved)
		if ends < n/3 || moved < n/20 || cleared < n/5 {
			t.Errorf("CheckSettings judged too little: %d runs at the end (%d with every node up), %d moved groups, in %d runs", ends, cleared, moved, n)
		}
	}
}

// TestSettingsCheckerCanFail: CheckSettings reports a node that does not
// stop a group its settings forbid there, and settings that do not
// spread.
func TestSettingsCheckerCanFail(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(*world)
	}{
		{"forbidden group never stopped", func(w *world) {
			w.hooks.action = func(i int, a cluster.Action) cluster.Action {
				if s, ok := a.(cluster.StopGroup); ok && w.forbids(i, w.groupIndex(s.Group)) != "" {
					return nil
				}
				return a
			}
		}},
		{"settings never sent", func(w *world) {
			w.hooks.action = func(_ int, a cluster.Action) cluster.Action {
				if s, ok := a.(*cluster.Send); ok && s.Msg.Value(wire.FHbdSettings) != "" {
					m := s.Msg.Clone()
					m.Del(wire.FHbdSettings)
					return &cluster.Send{Msg: m, Link: s.Link}
				}
				return a
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			found := 0
			for seed := uint64(1); seed <= 40; seed++ {
				c := RandomSettingsConfig(seed)
				c.Crashes, c.Partitions, c.StopFail = 0, 0, 0
				for _, v := range runTampered(c, tc.tamper).Violations {
					if v.Invariant == CheckSettings {
						found++
						break
					}
				}
			}
			if found < 10 {
				t.Errorf("%s reported in only %d of 40 runs", CheckSettings, found)
			}
		})
	}
}
