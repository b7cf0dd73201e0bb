package sim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
)

// Cluster-wide operator settings (cluster/settings.go): node standby and
// online, group disable, enable, move and clear, issued on random nodes at
// random times (Config.SettingsCommands), among crashes, restarts and
// partitions. Each node keeps what its core asks it to persist
// (PersistSettings) and gives it back to its next run, as the daemon does
// with its state directory.
const (
	// CheckSettings: a node never starts a group its own copy of the
	// settings forbids there (disabled, this node in standby, moved away
	// from it); a node does not keep holding such a group longer than
	// SettingsBound; at the end of a quiet run every live node has the
	// same settings (with every node up, no cleared one but the newest),
	// no disabled group runs, a standby node holds nothing,
	// a group moved away from a node does not run there, and a group
	// moved to a healthy node that may hold it runs there.
	CheckSettings = "settings"
)

// SettingsBound is how long a node may keep holding a group after its
// settings forbid it there: a start under way ends (ScriptMax), the
// handoff to the next node is answered or cancelled (a deadtime, and again
// for a retry after a lost answer), and the stop runs (ScriptMax).
func (c Config) SettingsBound() time.Duration {
	return 2*c.ScriptMax + 3*c.Deadtime + 4*c.Keepalive
}

// RandomSettingsConfig is RandomResourceConfig's run with 2 to 7 operator
// settings commands besides its own (drawn from a stream of its own, so
// the resource runs' traces stay as they were).
func RandomSettingsConfig(seed uint64) Config {
	c := RandomResourceConfig(seed)
	r := rand.New(rand.NewPCG(seed, 0x5e77))
	c.SettingsCommands = 2 + r.IntN(6)
	return c
}

// settingsCommands schedules Config.SettingsCommands commands.
func (w *world) settingsCommands(last time.Duration) {
	c := w.c
	for k := 0; k < c.SettingsCommands; k++ {
		var cmd cluster.Command
		node := w.nodes[w.rng.IntN(c.Nodes)].name
		key := w.rs.keys[w.rng.IntN(c.Groups)]
		switch w.rng.IntN(7) {
		case 0:
			cmd = cluster.Command{Kind: cluster.CmdNodeStandby, Node: node}
		case 1:
			cmd = cluster.Command{Kind: cluster.CmdNodeOnline, Node: node}
		case 2:
			cmd = cluster.Command{Kind: cluster.CmdGroupDisable, Which: key}
		case 3:
			cmd = cluster.Command{Kind: cluster.CmdGroupEnable, Which: key}
		case 4:
			cmd = cluster.Command{Kind: cluster.CmdGroupMove, Which: key, Node: node}
		case 5:
			cmd = cluster.Command{Kind: cluster.CmdGroupMove, Which: key}
		default:
			cmd = cluster.Command{Kind: cluster.CmdGroupClear, Which: key}
		}
		w.push(&event{at: Epoch.Add(w.randDur(c.Initdead, last)), kind: evCommand, node: w.rng.IntN(c.Nodes), cmd: cmd})
	}
}

// forbids says why node i's own settings forbid it to hold group g ("" if
// they do not).
func (w *world) forbids(i, g int) string {
	n := w.nodes[i]
	key := w.rs.keys[g]
	for _, s := range n.core.Settings() {
		switch {
		case s.Kind == cluster.SettingDisabled && s.Name == key && s.Value == "1":
			return "it is disabled"
		case s.Kind == cluster.SettingStandby && s.Name == n.name && s.Value == "1":
			return "the node is in standby"
		case s.Kind == cluster.SettingMove && s.Name == key && s.Value == "!"+n.name:
			return "it was moved away from the node"
		}
	}
	return ""
}

// movedTo is the node index group g was moved to in node i's settings
// (-1: none).
func (w *world) movedTo(i, g int) int {
	key := w.rs.keys[g]
	for _, s := range w.nodes[i].core.Settings() {
		if to, _ := cluster.ParseMove(s.Value); s.Kind == cluster.SettingMove && s.Name == key && to != "" {
			for j, n := range w.nodes {
				if n.name == to {
					return j
				}
			}
		}
	}
	return -1
}

// checkSettingsStart: node i starts group g.
func (w *world) checkSettingsStart(i, g int) {
	if why := w.forbids(i, g); why != "" {
		w.violate(CheckSettings, fmt.Sprintf("%s starts %s although %s", w.nodes[i].name, w.rs.keys[g], why))
	}
}

// checkSettingsHeld: no node keeps a group its settings forbid there for
// longer than SettingsBound.
func (w *world) checkSettingsHeld() {
	if w.c.SettingsCommands == 0 {
		return
	}
	if w.rs.forbidden == nil {
		w.rs.forbidden = make(map[[2]int]time.Time)
	}
	for i, n := range w.nodes {
		for g := range w.rs.keys {
			k := [2]int{i, g}
			if !n.alive || !w.rs.inCfg[g] || !w.holds(i, g) || w.forbids(i, g) == "" {
				delete(w.rs.forbidden, k)
				continue
			}
			since, ok := w.rs.forbidden[k]
			if !ok {
				w.rs.forbidden[k] = w.now
				continue
			}
			if !since.IsZero() && w.now.Sub(since) > w.c.SettingsBound() {
				w.violate(CheckSettings, fmt.Sprintf("%s still holds %s %s after its settings forbid it (%s; bound %s)", n.name, w.rs.keys[g], fmtDur(w.now.Sub(since)), w.forbids(i, g), fmtDur(w.c.SettingsBound())))
				w.rs.forbidden[k] = time.Time{} // told
			}
		}
	}
}

// checkSettingsEnd is CheckSettings at the end of a quiet run, over the
// healthy nodes (alive, joined, not stopping).
func (w *world) checkSettingsEnd(healthy []int) {
	if w.c.SettingsCommands == 0 || len(healthy) == 0 {
		return
	}
	first := w.nodes[healthy[0]]
	want := cluster.FormatSettings(first.core.Settings())
	for _, i := range healthy[1:] {
		if got := cluster.FormatSettings(w.nodes[i].core.Settings()); got != want {
			w.violate(CheckSettings, fmt.Sprintf("settings differ at the end: %s has %q, %s has %q", first.name, want, w.nodes[i].name, got))
			return
		}
	}
	w.res.SettingsEnd++
	if len(healthy) == len(w.nodes) && w.ns == nil {
		// Every node heard every other: each cleared setting was
		// acknowledged everywhere, and only the newest may stay.
		w.res.ClearedEnd++
		cleared := 0
		for _, s := range first.core.Settings() {
			if s.Value == "" {
				cleared++
			}
		}
		if cleared > 1 {
			w.violate(CheckSettings, fmt.Sprintf("%d cleared settings kept at the end of a quiet run with every node up: %q", cleared, want))
		}
	}
	for g, key := range w.rs.keys {
		if !w.rs.inCfg[g] {
			continue
		}
		for _, i := range healthy {
			if why := w.forbids(i, g); why != "" && w.nodes[i].gt[g].up {
				w.violate(CheckSettings, fmt.Sprintf("%s runs %s at the end of a quiet run although %s", w.nodes[i].name, key, why))
			}
		}
		to := w.movedTo(healthy[0], g)
		if to < 0 || !w.isHealthy(to, healthy) || w.forbids(to, g) != "" || w.exclNoRoom(g, healthy) {
			continue
		}
		if gs, _ := w.nodes[to].core.Group(key); gs.Failed || gs.State == cluster.GroupStopFailed {
			continue
		}
		if w.exclHigherUp(to, g) {
			continue
		}
		w.res.MovedEnd++
		if !w.nodes[to].gt[g].up {
			w.violate(CheckSettings, fmt.Sprintf("%s was moved to %s, healthy, but does not run there at the end of a quiet run; %s", key, w.nodes[to].name, w.groupViews(key)))
		}
	}
}

func (w *world) isHealthy(i int, healthy []int) bool {
	for _, h := range healthy {
		if h == i {
			return true
		}
	}
	return false
}

// preferredExempt: Preferred does not judge group g at the end: an
// operator moved it, or its preferred node p may not hold it (CheckSettings
// judges those).
func (w *world) preferredExempt(g, p int) bool {
	return w.c.SettingsCommands > 0 && (w.movedTo(p, g) >= 0 || w.forbids(p, g) != "")
}

// staysPutExempt: with auto_failback off, node i releases group g because
// the settings say so (forbidden there, or moved elsewhere).
func (w *world) staysPutExempt(i, g int) bool {
	if w.c.SettingsCommands == 0 {
		return false
	}
	to := w.movedTo(i, g)
	return w.forbids(i, g) != "" || to >= 0 && to != i
}
