package sim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Exclusive groups (Config.Exclusive): the run's Groups groups form one
// ha.cf `exclusive` set, group 0 first (the highest priority).
//
// CheckExclusiveSet: ground truth, at every instant: no node runs two
// groups of the set at once (up, from the start script's beginning to the
// stop script's successful end; processes a killed daemon left running
// count too). The existing checks hold as well, with Available relaxed:
// a group of the set may be down at the end when every healthy node on
// which it did not fail runs a group before it; and Preferred: a group
// whose preferred node runs a group before it may run elsewhere, and a
// node may release a group (auto_failback off) for a group before it.
const CheckExclusiveSet = "exclusive-set"

func (w *world) exclusiveSets() [][]string {
	if !w.c.Exclusive || w.c.Groups < 2 {
		return nil
	}
	return [][]string{append([]string(nil), w.rs.keys[:w.c.Groups]...)}
}

// exclRank is g's place in the set, -1 when it is in none.
func (w *world) exclRank(g int) int {
	if !w.c.Exclusive || w.c.Groups < 2 || g >= w.c.Groups {
		return -1
	}
	return g
}

// exclHigherUp: a group before g in the set is up on node i.
func (w *world) exclHigherUp(i, g int) bool {
	n := w.nodes[i]
	for h := 0; h < w.exclRank(g); h++ {
		if n.gt[h].up {
			return true
		}
	}
	return false
}

// higherHere: node i runs, or its core places there, a group before g.
func (w *world) higherHere(i, g int) bool {
	n := w.nodes[i]
	for h := 0; h < w.exclRank(g); h++ {
		if gs, _ := n.core.Group(w.rs.keys[h]); n.gt[h].up || gs.Desired == n.name {
			return true
		}
	}
	return false
}

// exclNoRoom: g is in the set and every healthy node on which it did
// not fail runs a group before it.
func (w *world) exclNoRoom(g int, healthy []int) bool {
	if w.exclRank(g) <= 0 {
		return false
	}
	for _, i := range healthy {
		if gs, _ := w.nodes[i].core.Group(w.rs.keys[g]); gs.Failed {
			continue
		}
		if !w.exclHigherUp(i, g) {
			return false
		}
	}
	return true
}

func (w *world) checkExclusiveSet() {
	if !w.c.Exclusive || w.c.Groups < 2 {
		return
	}
	for _, n := range w.nodes {
		if len(n.gt) == 0 {
			continue
		}
		var up []string
		for g := 0; g < w.c.Groups; g++ {
			if n.gt[g].up {
				up = append(up, w.rs.keys[g])
			}
		}
		if len(up) > 1 {
			if !w.rs.exclTold {
				w.rs.exclTold = true
				w.violate(CheckExclusiveSet, fmt.Sprintf("%s runs %s at once (an exclusive set)", n.name, strings.Join(up, " and ")))
			}
		}
	}
}

// RandomExclusiveConfig is RandomResourceConfig with 2 or 3 groups in one
// exclusive set, and some runs with 3 or 4 nodes; no reloads.
func RandomExclusiveConfig(seed uint64) Config {
	c := RandomResourceConfig(seed)
	r := rand.New(rand.NewPCG(seed, 0xe8c1))
	c.Exclusive = true
	c.Groups = 2 + r.IntN(2)
	c.Reloads, c.ExtraGroups = 0, 0
	if c.Quorum.Enabled(c.Nodes) && c.Partitions > 0 {
		// Quorum keeps the two sides of a partition apart only when scripts
		// finish within about a deadtime (docs/config.md, quorum); as in
		// RandomQuorumConfig, scripts stay under a third of it.
		c.ScriptMax = c.ScriptMin + time.Duration(r.Int64N(int64(c.Deadtime/3)))
		c.ScriptMin = min(c.ScriptMin, c.ScriptMax)
	}
	c.Duration = c.QuietAfter + c.DownMax + c.Settle() + c.Keepalive
	return c
}
