//go:build linux

package e2e

import (
	"flag"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/internal/hbref"
)

// The scale tests measure one takeover of many groups (TestScaleGroups)
// and one takeover in a five-node cluster against a two-node one
// (TestScaleNodes). By default each runs once with generous bounds, for
// `make test`; `make bench-scale` repeats them for the figures in
// docs/benchmarks.md.
var (
	scaleRuns   = flag.Int("scale.runs", 1, "how many takeovers TestScaleGroups and TestScaleNodes measure")
	scaleSleep  = flag.Duration("scale.sleep", 200*time.Millisecond, "how long each group's script takes to start in TestScaleGroups")
	scaleGroups = flag.Int("scale.groups", 32, "how many groups TestScaleGroups takes over at once")
	// GOMAXPROCS set in the environment keeps the daemon at that many Ps
	// throughout (hbd/cmd_run.go): 1 measures a daemon that does not
	// raise it while group operations run.
	scaleProcs = flag.String("scale.gomaxprocs", "", "GOMAXPROCS of the daemons in TestScaleGroups (default: the daemon's own)")
)

// slowScript is a resource whose start takes sleep (none when 0), with
// its state in a per-node file: a status after a machine's death still
// says running, as on a frozen machine.
func slowScript(dir string, sleep time.Duration) string {
	nap := ""
	if sleep > 0 {
		nap = fmt.Sprintf("sleep %.3f; ", sleep.Seconds())
	}
	return fmt.Sprintf(`#!/bin/sh
# slow NAME start|stop|status
state=%[1]s/slow.${HA_CURHOST:-$(uname -n)}.$1
case "$2" in
start) %[2]stouch "$state" ;;
stop) rm -f "$state" ;;
status) if [ -e "$state" ]; then echo running; else echo stopped; fi ;;
esac
exit 0
`, dir, nap)
}

// startDone matches the daemon's debug line for a group's start done
// after a takeover (hbd/daemon's runOp): the group, the start's own
// time, and the time since the peer was declared dead.
var startDone = regexp.MustCompile(`start of (\S+): ok in ([0-9.]+) ms \(([0-9.]+) ms after the takeover from `)

// groupStart is one group's start in a takeover, from the new holder's log.
type groupStart struct {
	took  time.Duration // the start's own time (its scripts)
	after time.Duration // from the death verdict to the start done
}

// takeoverStarts reads the groups' starts after a takeover from log, the
// part of a node's debug log written since the holder died.
func takeoverStarts(log string) map[string]groupStart {
	out := map[string]groupStart{}
	for _, m := range startDone.FindAllStringSubmatch(log, -1) {
		took, err1 := strconv.ParseFloat(m[2], 64)
		after, err2 := strconv.ParseFloat(m[3], 64)
		if err1 != nil || err2 != nil {
			continue
		}
		out[m[1]] = groupStart{took: msDuration(took), after: msDuration(after)}
	}
	return out
}

func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// scaleTiming is the scale tests' timing: fast enough that a serial
// start or a wait of a few deadtimes shows, slow enough for a loaded
// 2-core machine with five race-built daemons.
var scaleTiming = Timing{Keepalive: 50 * time.Millisecond, Warntime: 300 * time.Millisecond, Deadtime: 400 * time.Millisecond, Initdead: 3 * time.Second}

// TestScaleGroups: a node takes over many groups, each an address (the
// built-in IPaddr2) and a script whose start takes a while, when their
// holder's machine dies. Groups that do not depend on each other start
// in parallel: the last group is started the slowest group's time after
// the death verdict, not the sum of them. The nodes take turns dying
// (auto_failback off), so every run is one takeover.
func TestScaleGroups(t *testing.T) {
	hbref.Need(t)
	g := newGroupLab(t, "scale")
	sleep, count := *scaleSleep, *scaleGroups
	cfg := g.hacf(scaleTiming)
	cfg.AutoFailback = "off"
	var hares strings.Builder
	for i := range count {
		fmt.Fprintf(&hares, "node1 IPaddr2::10.231.0.%d/24/eth0 slow::g%02d\n", 100+i, i)
	}
	var nodes [2]*hbdInLab
	for i := range nodes {
		nodes[i] = g.node(i, cfg.String(), hares.String(), map[string]string{"slow": slowScript(g.dir, sleep)})
		if *scaleProcs != "" {
			nodes[i].env = append(nodes[i].env, "GOMAXPROCS="+*scaleProcs)
		}
		nodes[i].start()
	}
	logOnFailure(t, "", nodes[:]...)
	holder := 0
	waitFor(t, 30*time.Second, "node1 to run every group", func() bool { return g.runsAll(nodes[1], "node1", count) })

	// A serial start takes count × sleep; parallel ones take about one
	// sleep. The bound lets a loaded machine be slow, not serial.
	bound := 4*sleep + time.Second
	var lasts, slowest, begins []time.Duration
	for run := range *scaleRuns {
		dead, heir := nodes[holder], nodes[1-holder]
		from := len(heir.log())
		g.die(dead)
		var starts map[string]groupStart
		waitFor(t, 30*time.Second, heir.name+" to start every group", func() bool {
			starts = takeoverStarts(heir.log()[from:])
			return len(starts) == count
		})
		var last, slow, begun time.Duration
		for _, s := range starts {
			last, slow, begun = max(last, s.after), max(slow, s.took), max(begun, s.after-s.took)
		}
		t.Logf("run %d: %s took over %d groups: the last started %.1f ms after the death verdict; the slowest group's start took %.1f ms (overhead %.1f ms); every group's start had begun %.1f ms after the verdict",
			run+1, heir.name, count, msOf(last), msOf(slow), msOf(last-slow), msOf(begun))
		if last > bound {
			t.Errorf("run %d: the last group started %s after the death verdict, want under %s (a serial start of %d groups takes %s)",
				run+1, last.Round(time.Millisecond), bound, count, time.Duration(count)*sleep)
		}
		lasts, slowest, begins = append(lasts, last), append(slowest, slow), append(begins, begun)
		if run+1 == *scaleRuns {
			break
		}
		// The dead machine comes back (once the killed daemon is gone:
		// its pid file names it): its daemon releases what it finds
		// still running, and the groups stay where they are.
		<-dead.proc.Done()
		if err := g.lab.Heal(dead.host); err != nil {
			t.Fatal(err)
		}
		dead.start()
		waitFor(t, 30*time.Second, dead.name+" to rejoin", func() bool { return g.runsAll(dead, heir.name, count) })
		holder = 1 - holder
	}
	if len(lasts) > 1 {
		t.Logf("N = %d, %d groups, scripts sleeping %s, keepalive %s / deadtime %s: death verdict to last group started %s ms; slowest group's start %s ms; every start begun %s ms (min / median / max)",
			len(lasts), count, sleep, scaleTiming.Keepalive, scaleTiming.Deadtime, spread(lasts), spread(slowest), spread(begins))
	}
}

// runsAll: n says holder runs all count groups.
func (g *groupLab) runsAll(n *hbdInLab, holder string, count int) bool {
	st, err := n.status()
	if err != nil || len(st.Cluster.Groups) != count {
		return false
	}
	for _, gr := range st.Cluster.Groups {
		if gr.Holder != holder || gr.State != "running" {
			return false
		}
	}
	return true
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// spread is "min / median / max" in ms.
func spread(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmt.Sprintf("%.1f / %.1f / %.1f", msOf(s[0]), msOf(s[len(s)/2]), msOf(s[len(s)-1]))
}
