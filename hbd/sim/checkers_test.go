package sim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
)

// TestCheckersCanFail breaks each invariant on purpose — cores configured
// other than the checks assume, or a hook that makes the world lie — and
// asserts that the checker reports it in a share of the runs: a checker
// that cannot fail proves nothing. (TestCheckerCatchesBrokenTiming,
// TestCheckerCatchesLateDeclaration, TestResourceCheckersCanFail,
// TestExclusiveCheckerCanFail, TestQuorumCheckerCanFail and
// TestSafeCheckerCanFail do the same for the other checkers.)
func TestCheckersCanFail(t *testing.T) {
	// lyingStop: stop scripts report done, the processes end later.
	lyingStop := func(lag func(Config) time.Duration) func(*world) {
		return func(w *world) { w.hooks.stopLag = lag(w.c) }
	}
	// deafToRestart: a core ignores the packets of a peer's new run
	// (skipFirst: all but its first one).
	deafToRestart := func(skipFirst bool) func(*world) {
		return func(w *world) {
			first := map[[3]int]bool{}
			w.hooks.deaf = func(w *world, e *event) bool {
				if e.frun <= 1 || w.nodes[e.from].run != e.frun {
					return false
				}
				k := [3]int{e.node, e.from, e.frun}
				if skipFirst && !first[k] {
					first[k] = true
					return false
				}
				return true
			}
		}
	}
	coreFailback := func(fb config.AutoFailback) func(*world) {
		return func(w *world) {
			for _, cfg := range w.cfgs {
				cfg.AutoFailback = fb
			}
		}
	}
	// slowDeath gives the cores twice the deadtime the checks use.
	slowDeath := func(w *world) {
		w.checkDeadtime = w.c.Deadtime
		for _, cfg := range w.cfgs {
			cfg.Deadtime, cfg.Initdead = 2*cfg.Deadtime, 4*cfg.Deadtime
		}
	}
	// startSpec rewrites the Spec of every StartGroup.
	startSpec := func(edit func(w *world, s config.Group) config.Group) func(*world) {
		return func(w *world) {
			w.hooks.action = func(_ int, a cluster.Action) cluster.Action {
				if sg, ok := a.(cluster.StartGroup); ok {
					sg.Spec = edit(w, sg.Spec)
					return sg
				}
				return a
			}
		}
	}
	resources := func(fb config.AutoFailback, edit func(*Config)) func(uint64) Config {
		return func(seed uint64) Config {
			c := RandomResourceConfig(seed)
			c.AutoFailback = fb
			if edit != nil {
				edit(&c)
			}
			return c
		}
	}
	cases := []struct {
		name   string
		gen    func(uint64) Config
		tamper func(*world)
		want   string // invariant
		detail string // in the violation's detail
		min    int    // of 40 runs (a quarter of it of 10)
	}{
		{
			name: "ordered: a stop that reports done before the processes end",
			gen:  resources(config.FailbackOn, func(c *Config) { c.Commands += 2 }),
			tamper: lyingStop(func(c Config) time.Duration {
				return 2 * c.Deadtime
			}),
			want: CheckOrdered, detail: "while", min: 8,
		},
		{
			name: "exclusive: a partition's duplicate outlives the heal bound",
			gen: resources(config.FailbackOn, func(c *Config) {
				c.Nodes, c.Quorum, c.Partitions, c.Crashes, c.Commands = 2, config.QuorumOff, 2, 0, 0
				c.DownMin = 2 * c.Deadtime
			}),
			tamper: lyingStop(func(c Config) time.Duration { return 2 * c.HealBound() }),
			want:   CheckExclusive, detail: "after they hear each other again", min: 4,
		},
		{
			name:   "exclusive: one-way cuts and pauses, a duplicate outlives the heal bound",
			gen:    RandomFaultConfig,
			tamper: lyingStop(func(c Config) time.Duration { return 2 * c.HealBound() }),
			want:   CheckExclusive, detail: "after they hear each other again", min: 4,
		},
		{
			name:   "dead-in-time: with pauses, cores whose deadtime is twice the checked one",
			gen:    RandomFaultConfig,
			tamper: slowDeath,
			want:   CheckDeadInTime, detail: "after its last packet", min: 8,
		},
		{
			name:   "dead-in-time: with clock leaps, cores whose deadtime is twice the checked one",
			gen:    RandomClockConfig,
			tamper: slowDeath,
			want:   CheckDeadInTime, detail: "after its last packet", min: 8,
		},
		{
			// The cores' stale limit (deadtime + MaxClockSkew + 1 s) a
			// MaxClockSkew longer than the checks': messages from a wall
			// clock stepped far behind are kept.
			name: "clock: cores that keep messages older than the stale bound",
			gen:  RandomClockConfig,
			tamper: func(w *world) {
				w.checkDeadtime = w.c.Deadtime
				for _, cfg := range w.cfgs {
					cfg.Deadtime += cluster.MaxClockSkew
					cfg.Initdead += cluster.MaxClockSkew
				}
			},
			want: CheckClock, detail: "dropped as stale: false, want true", min: 8,
		},
		{
			name: "dead-in-time: wide reloads, cores whose deadtime is thrice the longest a reload gives",
			gen: func(seed uint64) Config {
				c := RandomWideReloadConfig(seed)
				c.Crashes = max(c.Crashes, 2)
				return c
			},
			tamper: func(w *world) {
				for _, cfg := range w.cfgs {
					cfg.Deadtime, cfg.Initdead = 6*cfg.Deadtime, 12*cfg.Deadtime
				}
			},
			want: CheckDeadInTime, detail: "after its last packet", min: 8,
		},
		{
			name:   "preferred: cores that never fail back, checks expecting auto_failback on",
			gen:    resources(config.FailbackOn, movers),
			tamper: coreFailback(config.FailbackOff),
			want:   CheckPreferred, detail: "not by its healthy preferred node", min: 6,
		},
		{
			name:   "preferred: cores that fail back, checks expecting auto_failback off",
			gen:    resources(config.FailbackOff, movers),
			tamper: coreFailback(config.FailbackOn),
			want:   CheckPreferred, detail: "auto_failback off", min: 6,
		},
		{
			name: "spec: a start that carries another group's definition",
			gen:  resources(config.FailbackOn, func(c *Config) { c.Groups = 2 }),
			tamper: startSpec(func(w *world, s config.Group) config.Group {
				other, _ := w.cfgs[0].Group(w.rs.keys[0])
				if other.Key() == s.Key() {
					other, _ = w.cfgs[0].Group(w.rs.keys[1])
				}
				return other
			}),
			want: CheckSpec, detail: "carries the definition of", min: 30,
		},
		{
			name: "spec: a start with a definition the configuration lacks",
			gen:  resources(config.FailbackOn, nil),
			tamper: startSpec(func(_ *world, s config.Group) config.Group {
				s.Resources = append(s.Resources[:len(s.Resources):len(s.Resources)], config.Resource{Spec: "stale", Name: "stale"})
				return s
			}),
			want: CheckSpec, detail: "a definition its configuration does not have", min: 30,
		},
		{
			name:   "restart-seen: a core deaf to a restarted peer",
			gen:    crashing,
			tamper: deafToRestart(false),
			want:   CheckRestartSeen, detail: "after the first packet", min: 8,
		},
		{
			name:   "restart-seen: a core that hears only the first packet of a restarted peer",
			gen:    crashing,
			tamper: deafToRestart(true),
			want:   CheckRestartSeen, detail: "one keepalive after", min: 8,
		},
		{
			name: "joined: cores deaf to every node a change of the node set may add",
			gen:  RandomNodeSetConfig,
			tamper: func(w *world) {
				spare := w.c.Nodes - w.c.Spare
				w.hooks.deaf = func(w *world, e *event) bool { return e.node < spare && e.from >= spare }
			},
			want: CheckJoined, detail: "after they name each other", min: 16,
		},
		{
			name: "exclusive: node-set changes with profile safe, cores without fencing",
			gen:  nodeSetSafe,
			tamper: func(w *world) {
				for _, cfg := range w.cfgs {
					cfg.Profile, cfg.Fence = config.ProfileDefault, config.FenceConfig{}
				}
			},
			want: CheckExclusive, detail: "across a partition", min: 4,
		},
		{
			name: "progress: a core that asks to be woken in the past",
			gen:  RandomConfig,
			tamper: func(w *world) {
				calls := 0
				w.hooks.nextTick = func(i int, next time.Time) time.Time {
					if calls++; i == 0 && !next.IsZero() && calls%10 == 0 {
						return w.now
					}
					return next
				}
			},
			want: CheckProgress, detail: "is not after now", min: 40,
		},
		{
			name: "seq-stream: a standing order that skips a seq",
			gen:  RandomQuietPassiveConfig,
			tamper: func(w *world) {
				w.hooks.action = func(_ int, a cluster.Action) cluster.Action {
					if o, ok := a.(*cluster.StandingStatus); ok && o.Msg != nil {
						c := *o
						c.Seq++
						return &c
					}
					return a
				}
			},
			want: CheckSeqStream, detail: "after", min: 20,
		},
		{
			name:   "seq-stream: a standing order whose sends the core is not told of",
			gen:    RandomQuietPassiveConfig,
			tamper: func(w *world) { w.hooks.unsent = true },
			want:   CheckSeqStream, detail: "seq", min: 20,
		},
		{
			name: "no-panic: a core that panics",
			gen:  RandomConfig,
			tamper: func(w *world) {
				n := 0
				w.hooks.action = func(_ int, a cluster.Action) cluster.Action {
					if n++; n == 100 {
						panic("core bug")
					}
					return a
				}
			},
			want: CheckNoPanic, detail: "core bug", min: 40,
		},
	}
	for _, tc := range cases {
		t.Run(tc.want+"/"+tc.name, func(t *testing.T) {
			t.Parallel()
			// The race detector makes a run about five times slower: a
			// quarter of the runs, a quarter of the reports wanted.
			runs, want := 40, tc.min
			if testing.Short() || raceEnabled {
				runs, want = 10, max(1, tc.min/4)
			}
			found := 0
			var first string
			for seed := uint64(1); seed <= uint64(runs); seed++ {
				for _, v := range runTampered(tc.gen(seed), tc.tamper).Violations {
					if v.Invariant == tc.want && strings.Contains(v.Detail, tc.detail) {
						found++
						if first == "" {
							first = fmt.Sprintf("seed %d: %s", seed, v)
						}
						break
					}
				}
			}
			if found < want {
				t.Errorf("%s (%q) reported in %d of %d runs, want at least %d", tc.want, tc.detail, found, runs, want)
			}
			t.Logf("reported in %d of %d runs; first: %s", found, runs, first)
		})
	}
}

// movers: groups move because their nodes crash (and come back), and
// nothing else blurs where they should end up.
func movers(c *Config) {
	c.Crashes, c.GracefulShare, c.DaemonKillShare = 3, 0, 0
	c.Partitions, c.Commands, c.StartFail, c.StopFail = 0, 0, 0, 0
}

// crashing is RandomConfig with crashes and restarts in every run.
func crashing(seed uint64) Config {
	c := RandomConfig(2*seed + 1)
	c.Crashes = max(c.Crashes, 2)
	return c
}

// nodeSetSafe is RandomSafeConfig with changes of the node set.
func nodeSetSafe(seed uint64) Config {
	return withNodeChanges(RandomSafeConfig(seed), rand.New(rand.NewPCG(seed, 0x5afe5e7)))
}
