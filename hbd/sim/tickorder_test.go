package sim

import (
	"regexp"
	"strings"
	"testing"
)

// TestTicksFollowTheOrdersSend: a Tick of a node whose standing order
// stands when the Tick comes never sends the node's status itself. The
// daemon's tick sends the order's status due by its time before it steps
// the core, so the core finds it sent; a simulation that stepped the
// Tick first (the events of one instant in push order) would check a
// path the daemon never takes.
func TestTicksFollowTheOrdersSend(t *testing.T) {
	head := regexp.MustCompile(`^\s*\+[0-9.]+s (node\d+)#\d+ (\S+)`)
	var fires, bad int
	for seed := uint64(0); seed < 40; seed++ {
		c := RandomQuietPassiveConfig(seed)
		c.RoutineReads = true
		c.Trace = true
		res := Run(c)
		on := map[string]bool{} // the node's order stands, as its trace says
		var node, kind string
		stood := false // the node's order stood when its event began
		for _, l := range res.Trace {
			if m := head.FindStringSubmatch(l); m != nil {
				node, kind = m[1], m[2]
				if kind == "start" || kind == "crash" {
					on[node] = false
				}
				stood = on[node]
				if kind == "standing" {
					fires++
				}
				continue
			}
			switch {
			case kind == "tick" && stood && strings.Contains(l, node+" send t=status"):
				bad++
				t.Logf("seed %d: %s sent its status at a Tick while its order stood: %s", seed, node, strings.TrimSpace(l))
			case strings.Contains(l, node+" standing off"):
				on[node] = false
			case strings.Contains(l, node+" standing seq="):
				on[node] = true
			}
		}
	}
	if fires == 0 {
		t.Fatal("no order sent: the test proves nothing")
	}
	if bad > 0 {
		t.Errorf("%d Ticks sent the status while the order stood (%d order sends)", bad, fires)
	}
}
