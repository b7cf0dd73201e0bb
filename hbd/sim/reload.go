package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
)

// CheckSpec: a group action carries the definition of the group in the
// configuration the node runs (StartGroup, ProbeGroup), or the one it
// started (StopGroup): the daemon runs Spec and never looks a key up.
const CheckSpec = "spec"

// groupsConfig is the haresources of the newest configuration.
func (w *world) groupsConfig(names []string) []config.Group {
	var groups []config.Group
	for g, key := range w.rs.keys {
		if !w.rs.inCfg[g] {
			continue
		}
		rs := []config.Resource{
			{Spec: key, Name: "IPaddr", Args: []string{strings.TrimPrefix(key, "IPaddr::")}},
			{Spec: fmt.Sprintf("svc%d", g), Name: fmt.Sprintf("svc%d", g)},
		}
		if v := w.rs.variant[g]; v > 0 {
			rs = append(rs, config.Resource{Spec: fmt.Sprintf("extra%d_%d", g, v), Name: "extra"})
		}
		groups = append(groups, config.Group{Preferred: names[w.rs.prefs[g]], Resources: rs, FailureTimeout: w.c.FailureTimeout})
	}
	return groups
}

// reload draws a new configuration and has every node apply it within
// half a deadtime (a rolling reload; a node that is down gets it when it
// starts again).
func (w *world) reload() {
	c := w.c
	w.disrupted()
	for g := range w.rs.keys {
		was := w.rs.inCfg[g]
		w.rs.inCfg[g] = w.rng.Float64() < 0.7
		if was && w.rs.inCfg[g] {
			if w.rng.IntN(4) == 0 {
				w.rs.variant[g]++
			}
			if w.rng.IntN(4) == 0 {
				w.rs.prefs[g] = w.randMember()
			}
		}
	}
	// Timings: keepalive between half and all of the run's (the run's
	// figures stay the bounds the checks use), the same deadtime ratio.
	// With ReloadLonger, up to that many times the run's: the checks then
	// take their bounds from the longest (Config.widest).
	steps := 3
	if c.ReloadLonger > 1 {
		steps = 4*c.ReloadLonger - 1
	}
	ka := c.Keepalive / 4 * time.Duration(2+w.rng.IntN(steps))
	dt := ka * (c.Deadtime / c.Keepalive)
	names := make([]string, len(w.nodes))
	for i, n := range w.nodes {
		names[i] = n.name
	}
	groups := w.groupsConfig(names)
	fb := c.AutoFailback
	if c.ReloadFailback && !c.Safe {
		fb = []config.AutoFailback{config.FailbackOn, config.FailbackOff, config.FailbackLegacy}[w.rng.IntN(3)]
	}
	w.rs.failback = fb
	var desc []string
	for g, key := range w.rs.keys {
		if w.rs.inCfg[g] {
			desc = append(desc, fmt.Sprintf("%s@%s/v%d", key, names[w.rs.prefs[g]], w.rs.variant[g]))
		}
	}
	w.rs.reloads++
	if c.ReloadFailback {
		w.trace("RELOAD #%d keepalive=%v deadtime=%v auto_failback=%v groups=[%s]", w.rs.reloads, ka, dt, fb, strings.Join(desc, " "))
	} else {
		w.trace("RELOAD #%d keepalive=%v deadtime=%v groups=[%s]", w.rs.reloads, ka, dt, strings.Join(desc, " "))
	}
	first, lag := -1, time.Duration(0)
	if c.ReloadLag > 0 {
		first, lag = w.rng.IntN(len(w.nodes)), w.randDur(0, c.ReloadLag)
		w.trace("RELOAD #%d reaches %s first, the others %v later", w.rs.reloads, names[first], lag)
	}
	for i := range w.nodes {
		cfg := *w.cfgs[i]
		if w.ns != nil {
			// (the node's newest files, with the node line as edited)
			cfg = *w.ns.pending[i]
			cfg.Nodes = slices.Clone(w.ns.lists[i])
			w.ns.pending[i] = &cfg
		}
		cfg.Keepalive, cfg.Deadtime, cfg.Warntime = ka, dt, dt*2/3
		cfg.Initdead = max(cfg.Initdead, 2*dt)
		cfg.AutoFailback = fb
		cfg.Groups = append([]config.Group(nil), groups...)
		at := w.now.Add(w.randDur(0, c.Deadtime/2))
		if first >= 0 && i != first {
			at = at.Add(lag)
		}
		w.push(&event{at: at, kind: evApply, node: i, cfg: &cfg, frun: w.rs.reloads})
	}
}

func (w *world) apply(e *event) {
	n := w.nodes[e.node]
	if e.frun <= n.reload {
		return // a newer configuration reached this node first
	}
	n.reload = e.frun
	// What waits for the node is read before the reload, under the
	// configuration it arrived to (as the step below gives it to the
	// core): read it now, so that the checks of those deliveries see
	// that configuration too, not the one the core has not been given.
	if n.alive {
		w.readRoutine(e.node, nil)
	}
	w.nodeSetApplied(e.node, w.cfgs[e.node], e.cfg)
	if e.cfg.AutoFailback != n.failback {
		n.failback, n.fbChanged = e.cfg.AutoFailback, w.now
	}
	w.cfgs[e.node] = e.cfg
	w.disrupted()
	if !n.alive {
		return
	}
	w.step(e.node, cluster.Reconfigure{Now: w.clock(e.node), Config: e.cfg}, func() string { return "reconfigure" })
}

// checkSpec: StartGroup and ProbeGroup carry the node's configured
// definition; StopGroup carries the one that was started.
func (w *world) checkSpec(i int, key string, spec config.Group, op cluster.Op) {
	n := w.nodes[i]
	if spec.Key() != key {
		w.violate(CheckSpec, fmt.Sprintf("%s: %s of %s carries the definition of %q", n.name, op, key, spec.Key()))
		return
	}
	if op == cluster.OpStop {
		return
	}
	cg, ok := w.cfgs[i].Group(key)
	if !ok || !slices.EqualFunc(cg.Resources, spec.Resources, func(a, b config.Resource) bool { return a.Spec == b.Spec }) {
		w.violate(CheckSpec, fmt.Sprintf("%s: %s of %s with a definition its configuration does not have", n.name, op, key))
	}
}

// RandomReloadConfig is RandomResourceConfig with one to four rolling
// reloads and two group keys that only reloads add.
func RandomReloadConfig(seed uint64) Config {
	c := RandomResourceConfig(seed)
	r := rand.New(rand.NewPCG(seed, 0x7e10ad))
	c.Reloads = 1 + r.IntN(4)
	c.ExtraGroups = 2
	return c
}

// retired: node i stops a definition its configuration no longer has (a
// reload removed or changed the group): a release that is no move.
func (w *world) retired(i int, key string, spec config.Group) bool {
	cg, ok := w.cfgs[i].Group(key)
	return !ok || !slices.EqualFunc(cg.Resources, spec.Resources, func(a, b config.Resource) bool { return a.Spec == b.Spec })
}

// monitorFails: node e.node's monitor gives up group e.group if the node
// runs it (the daemon sends GroupFailure only for a held group).
func (w *world) monitorFails(e *event) {
	n := w.nodes[e.node]
	if !n.alive {
		return
	}
	key := w.rs.keys[e.group]
	if gs, ok := n.core.Group(key); !ok || gs.State != cluster.GroupRunning {
		return
	}
	w.disrupted()
	w.step(e.node, cluster.GroupFailure{Now: w.clock(e.node), Group: key, Detail: "monitor"}, func() string { return "monitor gave up " + key })
	if w.c.FailureTimeout == 0 {
		w.push(&event{at: w.now.Add(w.randDur(w.c.Deadtime, 3*w.c.Deadtime)), kind: evCommand, node: e.node, cmd: cluster.Command{Kind: cluster.CmdCleanup, Which: key}})
	}
}

// RandomMonitorConfig is RandomResourceConfig with monitors that give
// groups up (GroupFailure) and a failure_timeout in half of the seeds.
func RandomMonitorConfig(seed uint64) Config {
	c := RandomResourceConfig(seed)
	r := rand.New(rand.NewPCG(seed, 0x3011))
	c.MonitorFailures = 1 + r.IntN(4)
	if r.IntN(2) == 0 {
		c.FailureTimeout = time.Duration(1+r.IntN(3)) * c.Deadtime
	}
	c.Duration += c.FailureTimeout
	return c
}

// RandomQuorumConfig is RandomResourceConfig with three or five nodes and
// quorum (auto): crashes, partitions (the two sides never both hold a
// group: zero tolerance), commands and failing scripts. Scripts end within
// a third of a deadtime: the cut-off side must stop what it runs before
// the majority's wait (two deadtimes after the death) ends — hbd has no
// fencing, so that bound is what Exclusive across partitions rests on.
func RandomQuorumConfig(seed uint64) Config {
	c := RandomResourceConfig(seed)
	r := rand.New(rand.NewPCG(seed, 0x9a0))
	c.Nodes = 3 + 2*r.IntN(2)
	c.Partitions = 1 + r.IntN(3)
	c.ScriptMax = c.ScriptMin + time.Duration(r.Int64N(int64(c.Deadtime/3)))
	c.ScriptMin = min(c.ScriptMin, c.ScriptMax)
	c.Duration = c.QuietAfter + c.DownMax + c.Settle() + c.Keepalive
	return c
}

// widest is c with the longest timings a reload may give it
// (ReloadLonger): the bounds the checks use.
func (c Config) widest() Config {
	if c.ReloadLonger > 1 {
		l := time.Duration(c.ReloadLonger)
		c.Keepalive, c.Deadtime, c.Warntime = l*c.Keepalive, l*c.Deadtime, l*c.Warntime
		c.Initdead = max(c.Initdead, 2*c.Deadtime)
	}
	return c
}

// RandomWideReloadConfig is a run of the resource, quorum, monitor or
// safe generators (one in four each) with one to four rolling reloads
// that may also lengthen the timings (up to twice the run's) and change
// auto_failback, besides adding, removing and changing groups.
func RandomWideReloadConfig(seed uint64) Config {
	r := rand.New(rand.NewPCG(seed, 0x1de))
	gens := []func(uint64) Config{RandomResourceConfig, RandomQuorumConfig, RandomMonitorConfig, RandomSafeConfig}
	c := gens[r.IntN(len(gens))](seed)
	c.Reloads = 1 + r.IntN(4)
	c.ExtraGroups = 2
	c.ReloadLonger = 2
	c.ReloadFailback = true
	c.Duration = max(c.Duration, c.QuietAfter+3*c.DownMax+c.Settle()+c.widest().Keepalive)
	return c
}

// RandomLeadReloadConfig is RandomQuorumConfig with one to four rolling
// reloads (as RandomWideReloadConfig's: timings up to twice the run's)
// that reach one node first and the others up to eight deadtimes later
// (ReloadLag), and more partitions: the node that reloaded first, cut
// off, runs other timings than the majority that waits for it.
func RandomLeadReloadConfig(seed uint64) Config {
	c := RandomQuorumConfig(seed)
	r := rand.New(rand.NewPCG(seed, 0x1ead))
	c.Reloads = 1 + r.IntN(4)
	c.ExtraGroups = 2
	c.ReloadLonger = 2
	c.ReloadLag = time.Duration(1+r.IntN(8)) * c.Deadtime
	c.Partitions += 1 + r.IntN(2)
	c.Duration = max(c.Duration, c.QuietAfter+c.ReloadLag+3*c.DownMax+c.Settle()+c.widest().Keepalive)
	return c
}
