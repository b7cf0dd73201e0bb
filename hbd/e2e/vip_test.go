//go:build linux

package e2e

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/internal/hbref"
	"github.com/hbdproject/hbd/hbd/netlab"
)

const (
	vip    = "10.231.0.100"
	vipURL = "http://" + vip + ":8080/"
)

// vipLab is two hbd nodes (n1 prefers the group) and a client on one
// bridge. The group is hbd's built-in IPaddr2 agent for the VIP plus a
// web server; the client requests the VIP every 20 ms.
type vipLab struct {
	*groupLab
	client *netlab.Host
	nodes  [2]*hbdInLab
	probe  *netlab.Prober
	watch  *netlab.AddrWatch
	track  *netlab.AddrEvents // exact add and remove times of the VIP
	// quiet are the spans in which both nodes could hear each other: the
	// VIP must never be on both then.
	quiet []span
	// settles: after the step, the client stays with the new node (false
	// for one step: after a kill -9 the old machine still holds the VIP,
	// and its announcements may win until its daemon returns and releases).
	settles bool
}

type span struct{ from, to time.Time }

func newVipLab(t *testing.T, failback string) *vipLab {
	return newVipLabWith(t, failback, "node1 IPaddr2::"+vip+"/24/eth0 rec::web\n", nil)
}

// newVipLabWith is newVipLab with another haresources and more scripts
// for resource.d (name to content; rec is always there).
func newVipLabWith(t *testing.T, failback, haresources string, scripts map[string]string) *vipLab {
	g := newGroupLab(t, "vip")
	v := &vipLab{groupLab: g, settles: true}
	var err error
	if v.client, err = g.lab.Host("c", "10.231.0.9/24"); err != nil {
		t.Fatal(err)
	}
	cfg := g.hacf(vipTiming(t))
	cfg.AutoFailback = failback
	cfg.Extra = append(cfg.Extra, "debug 1")
	all := map[string]string{"rec": recScript(g.dir)}
	maps.Copy(all, scripts)
	for i := range v.nodes {
		// The web server runs all the time; the VIP decides who is reached.
		if _, err := g.hosts[i].ServeWhom(":8080"); err != nil {
			t.Fatal(err)
		}
		v.nodes[i] = g.node(i, cfg.String(), haresources, all)
		runOnTmpfs(t, g.lab, v.nodes[i])
	}
	logOnFailure(t, "", v.nodes[:]...)
	return v
}

// runOnTmpfs puts n's run directory on a tmpfs (netlab's Lab.RunDir), as
// /run is on the machines hbd runs on: the IP agent's records (HA_RSCTMP,
// under the run directory) are written on every start, before the
// address is added, and a file created on the lab's disk filesystem can
// wait for its journal, which a node's never does. Where /dev/shm is not
// a tmpfs, the run directory stays.
func runOnTmpfs(t *testing.T, lab *netlab.Lab, n *hbdInLab) {
	t.Helper()
	dir, tmpfs, err := lab.RunDir(n.name)
	if err != nil {
		t.Fatal(err)
	}
	if !tmpfs {
		t.Logf("no tmpfs at /dev/shm: %s's run directory stays on the lab's filesystem", n.name)
		return
	}
	run := filepath.Join(n.dir, "run")
	if err := os.Remove(run); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, run); err != nil {
		t.Fatal(err)
	}
}

func (v *vipLab) start() {
	for _, n := range v.nodes {
		n.start()
	}
	var err error
	if v.probe, err = v.lab.StartProber(v.client, vipURL, netlab.ProberOptions{}); err != nil {
		v.t.Fatal(err)
	}
	if v.watch, err = netlab.WatchAddr(vip, 10*time.Millisecond, v.hosts[0], v.hosts[1]); err != nil {
		v.t.Fatal(err)
	}
	if v.track, err = netlab.TrackAddr(vip, v.hosts[0], v.hosts[1]); err != nil {
		v.t.Fatal(err)
	}
	v.t.Cleanup(v.track.Stop)
}

// served waits until the client is answered by host name (n1, n2).
func (v *vipLab) served(name string, since time.Time, d time.Duration) time.Time {
	v.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	p, err := v.probe.WaitFor(ctx, since, name)
	if err != nil {
		v.t.Fatalf("client not served by %s within %s: %v (windows %v)", name, d, err, netlab.Windows(v.probe.Probes()))
	}
	return p.At
}

// outage is the longest unavailability the client saw since t.
func (v *vipLab) outage(since time.Time) time.Duration {
	var worst time.Duration
	for _, w := range netlab.Windows(v.probe.Probes()) {
		if w.Start.Before(since) {
			continue
		}
		d := w.Duration()
		if w.Open() {
			d = time.Since(w.Start)
		}
		worst = max(worst, d)
	}
	return worst
}

// handover is what the client and the address saw in one step.
type handover struct {
	out    time.Duration // longest unavailability the client saw
	failed int           // failed requests the address's move explains (or nothing explains)
	stalls int           // failed requests that timed out with the VIP in place (netlab.CauseStall)
	dark   time.Duration // the VIP on no node (tracked, exact)
	both   time.Duration // the VIP on both nodes (tracked, exact)
}

func (h handover) String() string {
	return fmt.Sprintf("unavailable %s, %d failed requests (and %d timed out with the VIP in place), VIP on no node %.1f ms, on both %.1f ms",
		h.out.Round(time.Millisecond), h.failed, h.stalls, float64(h.dark.Microseconds())/1000, float64(h.both.Microseconds())/1000)
}

// seen is what the client and the address tracking saw from begin to now.
// Each failed request is counted by what it met (netlab.FailureCause):
// one that timed out while the VIP stayed on a holder the client had
// reached since its last move, with no move within netlab.MoveGuard, is
// the client's or the server's stall, counted apart; every other one,
// the handover's.
func (v *vipLab) seen(begin time.Time) handover {
	h := handover{out: v.outage(begin)}
	probes := v.probe.Probes()
	if v.track == nil {
		for _, p := range probes {
			if !p.At.Before(begin) && !p.OK() {
				h.failed++
			}
		}
		return h
	}
	evs, errs := v.track.Events()
	if len(errs) > 0 {
		v.t.Errorf("tracking the VIP: %v", errs)
	}
	spans := netlab.HolderSpans(evs, time.Now())
	for _, p := range probes {
		if p.At.Before(begin) || p.OK() {
			continue
		}
		if netlab.FailureCause(p, spans, probes).Handover() {
			h.failed++
		} else {
			h.stalls++
		}
	}
	v.explainFailures(begin, evs, spans, probes)
	for _, sp := range spans {
		if sp.End.Before(begin) {
			continue
		}
		start := sp.Start
		if start.Before(begin) {
			start = begin
		}
		d := sp.End.Sub(start)
		switch len(sp.Holders) {
		case 0:
			h.dark += d
		case 2:
			h.both += d
		}
	}
	return h
}

// explainFailures logs each failed request since begin beside the VIP's
// changes around it (from the kernel's notifications) and what it met
// (netlab.FailureCause): sent while the address was on no node (its SYN
// reached the old holder after the address had gone: lost, and retried
// only after 1 s), in flight when the address moved, or a timeout while
// the address stayed put.
func (v *vipLab) explainFailures(begin time.Time, evs []netlab.AddrEvent, spans []netlab.Span, probes []netlab.Probe) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%+.1f ms", float64(d.Microseconds())/1000) }
	var failed []netlab.Probe
	for _, p := range probes {
		if !p.At.Before(begin) && !p.OK() {
			failed = append(failed, p)
		}
	}
	if len(failed) > 5 {
		// A detection time's worth (a cut, a kill -9): one line says it.
		v.t.Logf("%d failed requests sent from %s to %s after the action, the first: %s",
			len(failed), ms(failed[0].At.Sub(begin)), ms(failed[len(failed)-1].At.Sub(begin)), failed[0].Err)
		return
	}
	for _, p := range failed {
		var near []string
		for _, e := range evs {
			if d := e.At.Sub(p.At); d > -100*time.Millisecond && d < p.Took+100*time.Millisecond {
				what := "removed from"
				if e.Added {
					what = "added to"
				}
				near = append(near, fmt.Sprintf("%s %s %s", what, e.Host, ms(d)))
			}
		}
		if len(near) == 0 {
			near = append(near, "no change of the VIP within 100 ms")
		}
		c := netlab.FailureCause(p, spans, probes)
		v.t.Logf("failed request sent at %s (%s after the action), failed after %.1f ms: %s; VIP %s: %s (%s)",
			p.At.Format("15:04:05.000000"), ms(p.At.Sub(begin)), float64(p.Took.Microseconds())/1000, p.Err, strings.Join(near, ", "),
			c, c.Describe())
	}
}

// step runs one scenario: act, then the client must be served by want
// within limit of unavailability.
func (v *vipLab) step(what, want string, limit time.Duration, quiet bool, act func()) handover {
	v.t.Helper()
	begin := time.Now()
	act()
	served := v.served(want, begin, 20*time.Second)
	time.Sleep(300 * time.Millisecond) // the client keeps being served
	if v.settles {
		v.stays(what, want, served)
	}
	v.settles = true
	h := v.seen(begin)
	v.t.Logf("%s: served by %s, %s", what, want, h)
	if h.out > limit {
		v.t.Errorf("%s: unavailable for %s, want under %s", what, h.out, limit)
	}
	if quiet {
		v.quiet = append(v.quiet, span{begin, time.Now()})
	}
	return h
}

// stays checks that since the client was first served by want, it was
// answered by want only, and by want again at the end: a request that
// fails meanwhile is a slow answer on a loaded machine, an answer from
// another node is the service moving away.
func (v *vipLab) stays(what, want string, since time.Time) {
	v.t.Helper()
	again := false
	for _, p := range v.probe.Probes() {
		if !p.At.After(since) || !p.OK() {
			continue
		}
		if p.Whom != want {
			v.t.Errorf("%s: the client was answered by %s at %s, after %s served it", what, p.Whom, p.At.Format("15:04:05.000"), want)
			return
		}
		again = true
	}
	if !again {
		v.t.Errorf("%s: the client was not served by %s again after %s", what, want, since.Format("15:04:05.000"))
	}
}

// checkExclusive: while the nodes could hear each other, the VIP was never
// on both (sampled every 10 ms).
func (v *vipLab) checkExclusive() {
	rep := v.watch.Stop()
	for _, m := range rep.Multi() {
		for _, q := range v.quiet {
			if m.Start.Before(q.to) && m.End.After(q.from) {
				v.t.Errorf("VIP on %v at once from %s to %s while they could hear each other",
					m.Holders, m.Start.Format("15:04:05.000"), m.End.Format("15:04:05.000"))
			}
		}
	}
	v.t.Logf("VIP sampled %d times; %d spans with two holders (all during kill -9 or a cut)", rep.Samples, len(rep.Multi()))
}

func (v *vipLab) hbd(i int, args ...string) {
	v.t.Helper()
	n := v.nodes[i]
	out, err := n.host.Exec(context.Background(), hbdBin, append(args, "--run-dir", filepath.Join(n.dir, "run"))...)
	if err != nil {
		v.t.Fatalf("hbd %v on %s: %v: %s", args, n.name, err, out)
	}
}

// vipTimingFlag measures the VIP tests at other timings than
// groupTiming's, such as the benchmark's fastest (-vip.timing 10ms/40ms).
var vipTimingFlag = flag.String("vip.timing", "", "KEEPALIVE/DEADTIME of the VIP tests (default: groupTiming's)")

func vipTiming(t *testing.T) Timing {
	if *vipTimingFlag == "" {
		return groupTiming
	}
	ka, dt, _ := strings.Cut(*vipTimingFlag, "/")
	k, err1 := time.ParseDuration(ka)
	d, err2 := time.ParseDuration(dt)
	if err1 != nil || err2 != nil || k <= 0 || d <= k {
		t.Fatalf("-vip.timing %q: want KEEPALIVE/DEADTIME, keepalive under deadtime", *vipTimingFlag)
	}
	return Timing{Keepalive: k, Warntime: d * 3 / 4, Deadtime: d, Initdead: groupTiming.Initdead}
}

// logTakeoverPaths logs, from both nodes' debug logs, how long after the
// takeover was decided (the peer declared dead, or its shutdown notice)
// each built-in IP agent's address was on and announced, and every
// start's own steps.
func (v *vipLab) logTakeoverPaths() {
	for _, n := range v.nodes {
		for _, l := range strings.Split(n.log(), "\n") {
			if strings.Contains(l, "builtin:IPaddr") && strings.Contains(l, "after the takeover from") ||
				strings.Contains(l, "on and announced in") {
				v.t.Logf("takeover path on %s: %s", n.name, strings.TrimSpace(l))
			}
		}
	}
}

// vipRuns repeats TestVIPFailover's handovers for a distribution.
var vipRuns = flag.Int("vip.runs", 1, "how many times TestVIPFailover repeats its four handovers between live nodes (their distribution is logged)")

// logHandovers logs the distribution of one kind of handover: failed
// requests per run, and the VIP's time on no node (min / median / max).
func logHandovers(t *testing.T, kind string, hs []handover) {
	t.Helper()
	var failed []string
	var dark, both []time.Duration
	total, stalls := 0, 0
	for _, h := range hs {
		failed = append(failed, fmt.Sprint(h.failed))
		total += h.failed
		stalls += h.stalls
		dark = append(dark, h.dark)
		both = append(both, h.both)
	}
	slices.Sort(dark)
	slices.Sort(both)
	msOf := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
	t.Logf("%s, N = %d: failed requests %s (%d in all; and %d timed out with the VIP in place); VIP on no node min / median / max %s / %s / %s ms; on both at most %s ms",
		kind, len(hs), strings.Join(failed, " "), total, stalls, msOf(dark[0]), msOf(dark[len(dark)/2]), msOf(dark[len(dark)-1]), msOf(both[len(both)-1]))
}

// failbackDelay is ha.cf failback_delay's default: a returning preferred
// node gets its group back only after it.
const failbackDelay = 2 * time.Second

// The generous bound on any unavailability: deadtime, plus the scripts,
// plus a loaded CI machine.
var vipLimit = groupTiming.Deadtime + 2*time.Second

// TestVIPFailover: a real floating IP moved by hbd's IPaddr2 agent, a
// client requesting it every 20 ms, and every way the holder can go away.
func TestVIPFailover(t *testing.T) {
	hbref.Need(t) // for arping and friends; skips clearly when not root
	v := newVipLab(t, "on")
	n1, n2 := v.nodes[0], v.nodes[1]

	v.step("both nodes started at once", "n1", 20*time.Second, true, v.start)
	// The four handovers between live nodes, -vip.runs times: each
	// should cost the client no request (keepalived's does not).
	kinds := []string{"graceful stop of the holder", "failback (auto_failback on)", "hbd standby on the holder", "hbd takeover on node1"}
	seen := map[string][]handover{}
	for range max(*vipRuns, 1) {
		seen[kinds[0]] = append(seen[kinds[0]], v.step(kinds[0], "n2", vipLimit, true, func() {
			if err := n1.proc.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
		}))
		seen[kinds[1]] = append(seen[kinds[1]], v.step(kinds[1], "n1", vipLimit, true, n1.start))
		seen[kinds[2]] = append(seen[kinds[2]], v.step(kinds[2], "n2", vipLimit, true, func() { v.hbd(0, "standby") }))
		seen[kinds[3]] = append(seen[kinds[3]], v.step(kinds[3], "n1", vipLimit, true, func() { v.hbd(0, "takeover") }))
	}
	for _, k := range kinds {
		logHandovers(t, k, seen[k])
	}

	// Someone removes the held address by hand: hbd puts it back.
	v.step("ip addr del of the held VIP", "n1", vipLimit, true, func() {
		if out, err := v.hosts[0].Exec(context.Background(), "ip", "addr", "del", vip+"/24", "dev", "eth0"); err != nil {
			t.Fatalf("ip addr del: %v: %s", err, out)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := v.hosts[0].WaitAddr(ctx, vip, true); err != nil {
			t.Fatalf("the removed VIP was not put back: %v", err)
		}
	})

	// kill -9 of the holder's daemon: its VIP stays (the machine lives),
	// the peer takes over and announces itself, the restarted daemon
	// releases what it finds running before it joins, then fails back.
	v.settles = false
	v.step("kill -9 of the holder's hbd", "n2", vipLimit, false, func() {
		if err := n1.proc.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	})
	// It releases the VIP it finds before it joins; node2 serves, then
	// hands the group back after failback_delay.
	v.step("the killed node restarts", "n1", vipLimit+failbackDelay, false, func() {
		n1.start()
		waitFor(t, 20*time.Second, "node1 to hold the group again", func() bool {
			h, s := n2.holder()
			return h == "node1" && s == "running"
		})
	})

	// The machine dies: its link is cut. Then it comes back (the
	// partition heals with both holding the VIP): exactly one keeps it.
	v.step("link cut of the holder", "n2", vipLimit, false, func() {
		if err := v.lab.Cut(v.hosts[0]); err != nil {
			t.Fatal(err)
		}
	})
	// Both announce for a moment (the survivor's start bursts race the
	// returning node's link-up announcement); once one has released, the
	// keeper announces again and the client must settle on it.
	v.step("link back: exactly one keeps the VIP, the preferred node", "n1", vipLimit, false, func() {
		if err := v.lab.Heal(v.hosts[0]); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "one holder after the heal", func() bool {
			h, _ := netlab.Holders(vip, v.hosts[0], v.hosts[1])
			return len(h) == 1
		})
	})
	v.checkExclusive()
	v.logTakeoverPaths()
}

// TestVIPNoFailback: with auto_failback off the group stays where it is
// when the preferred node returns.
func TestVIPNoFailback(t *testing.T) {
	hbref.Need(t)
	v := newVipLab(t, "off")
	n1 := v.nodes[0]
	v.step("both nodes started at once", "n1", 20*time.Second, true, v.start)
	v.step("graceful stop of the holder", "n2", vipLimit, true, func() {
		if err := n1.proc.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	})
	begin := time.Now()
	n1.start()
	waitFor(t, 20*time.Second, "node1 back and active", func() bool { return v.nodes[1].peerState("node1") == "active" })
	time.Sleep(2 * groupTiming.Deadtime)
	if p, ok := v.probe.Last(); !ok || p.Whom != "n2" {
		t.Errorf("with auto_failback off the group moved back: last answer %+v", p)
	}
	if out := v.outage(begin); out > 0 {
		t.Errorf("the preferred node's return cost %s of unavailability with auto_failback off", out)
	}
	v.quiet = append(v.quiet, span{begin, time.Now()})
	v.checkExclusive()
}
