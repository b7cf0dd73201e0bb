//go:build linux

package e2e

import (
	"context"
	"flag"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/internal/hbref"
	"github.com/hbdproject/hbd/hbd/netlab"
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

// nodesLab is a cluster of hbd nodes in namespaces with one group, the
// VIP (hbd's built-in IPaddr2) preferred by node1, a web server on every
// node all the time, and a client requesting the VIP every 20 ms.
type nodesLab struct {
	t     *testing.T
	lab   *netlab.Lab
	hosts []*netlab.Host
	nodes []*hbdInLab
	probe *netlab.Prober
	track *netlab.AddrEvents
}

// newNodesLab starts count nodes at timings tm, with extra lines in
// their ha.cf.
func newNodesLab(t *testing.T, count int, tm Timing, extra ...string) *nodesLab {
	l := &nodesLab{t: t, lab: netlab.NewT(t, fmt.Sprintf("nodes%d", count))}
	cfg := hbref.HaCf{Keepalive: tm.Keepalive, Warntime: tm.Warntime, Deadtime: tm.Deadtime, Initdead: tm.Initdead,
		UDPPort: 694, AutoFailback: "on", Extra: extra}
	for i := range count {
		h, err := l.lab.Host(fmt.Sprintf("n%d", i+1), fmt.Sprintf("10.231.0.%d/24", i+1))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.ServeWhom(":8080"); err != nil {
			t.Fatal(err)
		}
		l.hosts = append(l.hosts, h)
		cfg.Ucast = append(cfg.Ucast, hbref.Ucast{Iface: "eth0", Addr: fmt.Sprintf("10.231.0.%d", i+1)})
		cfg.Nodes = append(cfg.Nodes, fmt.Sprintf("node%d", i+1))
	}
	for i, h := range l.hosts {
		n := newHbdInLab(t, l.lab, h, cfg.Nodes[i], cfg.String(), groupsAuthkeys(), "node1 IPaddr2::"+vip+"/24/eth0\n")
		n.start()
		l.nodes = append(l.nodes, n)
	}
	logOnFailure(t, "", l.nodes...)
	client, err := l.lab.Host("c", "10.231.0.9/24")
	if err != nil {
		t.Fatal(err)
	}
	if l.probe, err = l.lab.StartProber(client, vipURL, netlab.ProberOptions{}); err != nil {
		t.Fatal(err)
	}
	if l.track, err = netlab.TrackAddr(vip, l.hosts...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.track.Stop)
	return l
}

// settled waits until node1 alone holds the VIP and serves the client.
func (l *nodesLab) settled(since time.Time) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := l.probe.WaitFor(ctx, since, "n1"); err != nil {
		l.t.Fatal(err)
	}
	waitFor(l.t, 30*time.Second, "node1 alone to hold the VIP", func() bool {
		hs, err := netlab.Holders(vip, l.hosts...)
		return err == nil && len(hs) == 1 && hs[0] == "n1"
	})
}

// takeover is what one death of the holder cost.
type takeover struct {
	unavailable time.Duration // the client's windows since the death, summed
	started     time.Duration // from the death to the VIP on node2
	// decided is from node2's decision to start (its log: the death
	// verdict, or the end of the quorum's wait) to the VIP on and
	// announced.
	decided time.Duration
}

// die kills node1's machine (its daemon with kill -9, its port down) and
// measures until node2 serves the client.
func (l *nodesLab) die() takeover {
	l.t.Helper()
	heir := l.nodes[1]
	from := len(heir.log())
	begin := time.Now()
	if err := l.nodes[0].proc.Signal(syscall.SIGKILL); err != nil {
		l.t.Fatal(err)
	}
	if err := l.lab.Cut(l.hosts[0]); err != nil {
		l.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := l.probe.WaitFor(ctx, begin, "n2"); err != nil {
		l.t.Fatal(err)
	}
	var tk takeover
	for _, w := range netlab.Windows(l.probe.Probes()) {
		if !w.Start.Before(begin) && !w.Open() {
			tk.unavailable += w.Duration()
		}
	}
	// The kernel's notification of the addition is read in the
	// background: it may arrive after the client's answer from node2.
	waitFor(l.t, 10*time.Second, "the VIP's addition on node2 to be seen", func() bool {
		evs, _ := l.track.Events()
		for _, e := range evs {
			if e.Host == "n2" && e.Added && e.At.After(begin) {
				tk.started = e.At.Sub(begin)
				return true
			}
		}
		return false
	})
	if _, errs := l.track.Events(); len(errs) > 0 {
		l.t.Errorf("tracking the VIP: %v", errs)
	}
	var starts map[string]groupStart
	waitFor(l.t, 10*time.Second, "node2's log of the start", func() bool {
		starts = takeoverStarts(heir.log()[from:])
		return len(starts) == 1
	})
	for _, s := range starts {
		tk.decided = s.after
	}
	return tk
}

// revive brings node1's machine back; it releases what it still holds,
// and the group fails back to it.
func (l *nodesLab) revive() {
	l.t.Helper()
	n := l.nodes[0]
	<-n.proc.Done()
	if err := l.lab.Heal(l.hosts[0]); err != nil {
		l.t.Fatal(err)
	}
	begin := time.Now()
	n.start()
	l.settled(begin)
}

// TestScaleNodes: a five-node cluster (quorum on, its default with three
// or more nodes) against two nodes at the same timings: the holder's
// machine dies, the next node takes the VIP. Runs of the clusters take
// turns, so that a busy moment of the machine does not favour one. Two
// nodes start the group at the death verdict; five wait two deadtimes
// more (hbd/cluster's quorum.go: the cut-off node may still run it until
// it notices it lost the majority and has stopped it), and nothing else;
// five that fence the dead node (fence_command) wait for the fence
// instead, which here succeeds at once (the machine is dead). The bound
// is the detection, that wait, and a loaded machine's second.
func TestScaleNodes(t *testing.T) {
	netlab.Skip(t)
	kinds := []struct {
		name  string
		nodes int
		extra []string
		bound time.Duration
	}{
		{"2 nodes", 2, nil, scaleTiming.Deadtime + time.Second},
		{"5 nodes", 5, nil, 3*scaleTiming.Deadtime + time.Second},
		{"5 nodes, fence_command", 5, []string{"fence_command /bin/true"}, scaleTiming.Deadtime + time.Second},
	}
	labs := make([]*nodesLab, len(kinds))
	for i, k := range kinds {
		labs[i] = newNodesLab(t, k.nodes, scaleTiming, k.extra...)
	}
	for _, l := range labs {
		l.settled(time.Time{})
	}
	got := make([][]takeover, len(kinds))
	for run := range *scaleRuns {
		for i, l := range labs {
			tk := l.die()
			t.Logf("run %d, %s: unavailable %.1f ms; death to the VIP on node2 %.1f ms; node2's decision to the VIP on and announced %.1f ms",
				run+1, kinds[i].name, msOf(tk.unavailable), msOf(tk.started), msOf(tk.decided))
			if tk.started > kinds[i].bound {
				t.Errorf("run %d, %s: the VIP was on node2 %s after the death, want under %s",
					run+1, kinds[i].name, tk.started.Round(time.Millisecond), kinds[i].bound)
			}
			got[i] = append(got[i], tk)
		}
		if run+1 < *scaleRuns {
			for _, l := range labs {
				l.revive()
			}
		}
	}
	for i, tks := range got {
		if len(tks) < 2 {
			break
		}
		var un, st, ad []time.Duration
		for _, tk := range tks {
			un, st, ad = append(un, tk.unavailable), append(st, tk.started), append(ad, tk.decided)
		}
		t.Logf("%s, N = %d, keepalive %s / deadtime %s (ms, min / median / max): unavailable %s; death to the VIP on node2 %s; decision to the VIP on %s",
			kinds[i].name, len(tks), scaleTiming.Keepalive, scaleTiming.Deadtime, spread(un), spread(st), spread(ad))
	}
}
