//go:build linux

package e2e

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/internal/hbref"
	"github.com/hbdproject/hbd/hbd/netlab"
	"github.com/hbdproject/hbd/hbd/testenv"
)

var (
	chaosSeedFlag = flag.String("chaos-seed", "", "TestChaos's seed (default: $HBD_CHAOS_SEED, else a random one)")
	chaosSteps    = flag.Int("chaos-steps", 2*int(chaosKinds), "how many steps TestChaos runs (when -chaos-duration is 0)")
	chaosDuration = flag.Duration("chaos-duration", 0, "run TestChaos's steps for this long instead of -chaos-steps")
)

// What TestChaos holds the pair to after every step.
var (
	// chaosOutageLimit: the client is served again within deadtime + 1 s
	// of anything that made it lose the service.
	chaosOutageLimit = groupTiming.Deadtime + time.Second
	// chaosDualLimit: the VIP is on both nodes while they hear each other
	// for at most one deadtime.
	chaosDualLimit = groupTiming.Deadtime
	// chaosSettle bounds the wait for the pair to be whole again after a
	// step (both active, node1 holding, the client served by it).
	chaosSettle = 30 * time.Second
)

const chaosMaxRSS = 64 << 20

// TestChaos runs the VIP pair of TestVIPFailover (node1 preferred,
// auto_failback on, a client requesting the VIP every 20 ms, the VIP's
// holders sampled every 10 ms) through a seeded random sequence of
// faults: links cut and healed, kill -9 and restart, SIGTERM and
// restart, a reload with another keepalive, a flood burst, a loss burst.
// After every step the pair must be whole again within chaosSettle, and
// the step must have kept every promise: no unavailability longer than
// deadtime + 1 s, the VIP on both nodes while they could hear each other
// (both hbd running, the network delivering both ways: see reach) for at
// most one deadtime, no hbd exited that the step did not stop, and every
// hbd under 64 MB of RSS.
//
// The seed is printed first; -chaos-seed=N or HBD_CHAOS_SEED=N replays
// the same steps. make chaos runs it for DURATION.
func TestChaos(t *testing.T) {
	hbref.Need(t)
	testenv.NeedCommands(t, "nft") // loss bursts: netlab.Loss
	seed := chaosSeed(t)
	t.Logf("chaos seed %d (replay: -chaos-seed=%d or HBD_CHAOS_SEED=%d)", seed, seed, seed)

	c := newChaosRun(t, seed)
	c.step("both nodes started at once", "n1", 20*time.Second, true, c.start)
	var err error
	if c.reach, err = startReach(c.hosts[0], c.hosts[1]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.reach.Stop)
	c.mark = time.Now()
	c.first = c.mark
	deadline := time.Now().Add(*chaosDuration)
	// A broken promise is an error and the run goes on (the pair is
	// whole again after every step); a pair that does not become whole
	// again ends it.
	var failed []string
	for i := 1; ; i++ {
		if *chaosDuration > 0 && !time.Now().Before(deadline) || *chaosDuration <= 0 && i > *chaosSteps {
			break
		}
		s := c.plan.next()
		was := c.broken
		c.run(i, s)
		if c.broken > was {
			failed = append(failed, fmt.Sprintf("step %d (%s)", i, s))
		}
	}
	c.summary()
	if len(failed) > 0 {
		t.Logf("replay: -chaos-seed=%d; failed: %s", seed, strings.Join(failed, "; "))
	}
}

// chaosSeed is -chaos-seed, else $HBD_CHAOS_SEED, else a random seed.
func chaosSeed(t *testing.T) uint64 {
	t.Helper()
	s := *chaosSeedFlag
	if s == "" {
		s = os.Getenv("HBD_CHAOS_SEED")
	}
	if s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("chaos seed %q: %v", s, err)
		}
		return n
	}
	var b [8]byte
	if _, err := crand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return binary.LittleEndian.Uint64(b[:]) >> 12 // short enough to type
}

// chaosRun is the pair under chaos and what the run measured.
type chaosRun struct {
	*vipLab
	plan     *chaosPlan
	attacker *netlab.Host
	packets  [][]byte

	// down are the spans in which an hbd was down, and reach tells when
	// the network did not deliver between the nodes: in either the
	// nodes could not hear each other, and the VIP may be on both.
	down  []span
	reach *reach
	// mark: the checks have covered the run up to here; first: the first
	// step's start (the summary counts requests from there).
	mark, first time.Time
	// ka is each node's keepalive in its ha.cf now.
	ka [2]time.Duration

	steps   int
	broken  int // promises broken so far
	rssMax  [2]uint64
	perKind [chaosKinds]chaosKindStats
}

type chaosKindStats struct {
	steps      int
	windows    int
	worst      time.Duration
	worstStep  int
	unavail    time.Duration
	settleMax  time.Duration
	dualBoth   time.Duration // the VIP on both while they heard each other
	dualAbsent time.Duration // the VIP on both while they could not
}

func newChaosRun(t *testing.T, seed uint64) *chaosRun {
	v := newVipLab(t, "on")
	c := &chaosRun{vipLab: v, plan: newChaosPlan(seed), packets: floodPackets(t)}
	var err error
	if c.attacker, err = v.lab.Host("f", "10.231.0.66/24"); err != nil {
		t.Fatal(err)
	}
	c.ka = [2]time.Duration{groupTiming.Keepalive, groupTiming.Keepalive}
	return c
}

// run does step i and checks what it must keep true.
func (c *chaosRun) run(i int, s chaosStep) {
	t := c.t
	t.Helper()
	target := c.target(s.holder)
	n := c.nodes[target]
	begin := time.Now()
	switch s.kind {
	case chaosCut:
		c.must(c.lab.Cut(c.hosts[target]))
		time.Sleep(s.hold)
		c.must(c.lab.Heal(c.hosts[target]))
		healed := time.Now()
		defer func() {
			f := c.reach.firstAfter(healed)
			t.Logf("  after the heal the network delivered again to %s after %s, to %s after %s",
				c.nodes[0].name, f[0].Round(time.Millisecond), c.nodes[1].name, f[1].Round(time.Millisecond))
		}()
	case chaosKill, chaosTerm:
		sig := syscall.SIGKILL
		if s.kind == chaosTerm {
			sig = syscall.SIGTERM
		}
		c.alive()
		c.must(syscall.Kill(n.proc.PID, sig))
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err := n.proc.Wait(ctx)
		cancel()
		switch {
		case !n.proc.Exited():
			t.Fatalf("step %d: %s did not exit 15 s after %v: %v", i, n.name, sig, err)
		case s.kind == chaosTerm && err != nil:
			c.errorf("step %d: %s after SIGTERM: %v (want exit 0)", i, n.name, err)
		}
		// The rest of the hold counts from the signal.
		time.Sleep(time.Until(begin.Add(s.hold)))
		n.start()
		c.down = append(c.down, span{begin, time.Now()})
	case chaosReload:
		c.reload(i, target, s.ka)
		if s.both {
			c.reload(i, 1-target, s.ka)
		}
	case chaosFlood:
		c.floodBurst(i, target, s.hold)
	case chaosLoss:
		c.must(c.lab.Loss(c.hosts[target], float64(s.loss)))
		time.Sleep(s.hold)
		c.must(c.lab.Loss(c.hosts[target], 0))
	}
	faultEnd := time.Now()
	c.settle(i, s)
	c.check(i, s, begin, faultEnd)
}

// target is the node a step aims at: the VIP's holder or the other one.
func (c *chaosRun) target(holder bool) int {
	h, err := netlab.Holders(vip, c.hosts[0], c.hosts[1])
	if err != nil {
		c.t.Fatal(err)
	}
	held := 0
	if len(h) == 1 && h[0] == c.hosts[1].Name {
		held = 1
	}
	if holder {
		return held
	}
	return 1 - held
}

// errorf reports a broken promise; the run goes on.
func (c *chaosRun) errorf(format string, args ...any) {
	c.t.Helper()
	c.broken++
	c.t.Errorf(format, args...)
}

func (c *chaosRun) must(err error) {
	c.t.Helper()
	if err != nil {
		c.t.Fatal(err)
	}
}

var keepaliveLine = regexp.MustCompile(`(?m)^keepalive .*$`)

// reload writes keepalive ka into node i's ha.cf (another one if it has
// ka already) and sends SIGHUP; the node must log the change.
func (c *chaosRun) reload(step, i int, ka time.Duration) {
	t := c.t
	t.Helper()
	if ka == c.ka[i] {
		for j, k := range chaosKeepalives {
			if k == ka {
				ka = chaosKeepalives[(j+1)%len(chaosKeepalives)]
				break
			}
		}
	}
	n := c.nodes[i]
	path := filepath.Join(n.dir, "ha.d/ha.cf")
	b, err := os.ReadFile(path)
	c.must(err)
	if !keepaliveLine.Match(b) {
		t.Fatalf("no keepalive line in %s", path)
	}
	b = keepaliveLine.ReplaceAll(b, []byte("keepalive "+hbref.Time(ka)))
	before := len(n.log())
	c.must(os.WriteFile(path, b, 0o600))
	c.alive()
	c.must(syscall.Kill(n.proc.PID, syscall.SIGHUP))
	// The file watcher may apply the edit before the SIGHUP does: either
	// way the change is logged once, then the reload.
	var since string
	waitFor(t, 5*time.Second, n.name+" to apply keepalive "+hbref.Time(ka), func() bool {
		since = n.log()[before:]
		return strings.Contains(since, "Configuration reloaded from")
	})
	if !strings.Contains(since, "keepalive") || strings.Contains(since, "refused") {
		c.errorf("step %d: %s's reload to keepalive %s:\n%s", step, n.name, hbref.Time(ka), since)
	}
	t.Logf("  reload: %s keepalive %s -> %s", n.name, hbref.Time(c.ka[i]), hbref.Time(ka))
	c.ka[i] = ka
}

// floodBurst floods node i's heartbeat port from the attacker for d.
func (c *chaosRun) floodBurst(step, i int, d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	conn, err := c.attacker.Dial(ctx, "udp", net.JoinHostPort(c.hosts[i].IP(), "694"))
	c.must(err)
	defer conn.Close()
	var sent, errs atomic.Int64
	flood(ctx, conn, c.packets, rand.New(rand.NewPCG(c.plan.seed, uint64(step))), &sent, &errs)
	c.t.Logf("  flood: %d datagrams to %s in %s", sent.Load(), c.nodes[i].name, d)
}

// alive fails the test if an hbd that no step stopped has exited.
func (c *chaosRun) alive() {
	c.t.Helper()
	for _, n := range c.nodes {
		if n.proc != nil && n.proc.Exited() {
			err := n.proc.Wait(context.Background())
			c.t.Fatalf("%s's hbd died (%v):\n%s\n---- its log ----\n%s", n.name, err, tail(n.proc.Output(), 30), tail(n.log(), 60))
		}
	}
}

// settle waits until the pair is whole: both hbd running and each seeing
// the other active, the VIP on node1 only (auto_failback on), both
// agreeing node1 runs the group, and the client served by n1.
func (c *chaosRun) settle(i int, s chaosStep) {
	t := c.t
	t.Helper()
	began := time.Now()
	deadline := began.Add(chaosSettle)
	why := ""
	for stable := 0; stable < 3; time.Sleep(50 * time.Millisecond) {
		c.alive()
		if time.Now().After(deadline) {
			t.Fatalf("step %d (%s): the pair was not whole %s after it: %s", i, s, chaosSettle, why)
		}
		why = c.whole()
		if why != "" {
			stable = 0
			continue
		}
		stable++
	}
	st := &c.perKind[s.kind]
	st.settleMax = max(st.settleMax, time.Since(began))
}

// whole says why the pair is not whole, or "" when it is.
func (c *chaosRun) whole() string {
	if s := c.nodes[0].peerState("node2"); s != "active" {
		return "node1 sees node2 " + strconv.Quote(s)
	}
	if s := c.nodes[1].peerState("node1"); s != "active" {
		return "node2 sees node1 " + strconv.Quote(s)
	}
	h, err := netlab.Holders(vip, c.hosts[0], c.hosts[1])
	if err != nil || len(h) != 1 || h[0] != "n1" {
		return fmt.Sprintf("VIP on %v (%v)", h, err)
	}
	for _, n := range c.nodes {
		if holder, state := n.holder(); holder != "node1" || state != "running" {
			return fmt.Sprintf("%s says the group is %s on %q", n.name, state, holder)
		}
	}
	if p, ok := c.probe.Last(); !ok || !p.OK() || p.Whom != "n1" {
		return fmt.Sprintf("the client's last request: %+v", p)
	}
	return ""
}

// check holds step i to its promises over everything since the previous
// check: unavailability, the VIP on both nodes, memory.
func (c *chaosRun) check(i int, s chaosStep, begin, faultEnd time.Time) {
	t := c.t
	t.Helper()
	now := time.Now()
	st := &c.perKind[s.kind]
	st.steps++
	c.steps++
	var worst time.Duration
	for _, w := range netlab.Windows(c.probe.Probes()) {
		if w.Start.Before(c.mark) {
			continue
		}
		d := w.Duration()
		if w.Open() {
			d = now.Sub(w.Start)
		}
		st.windows++
		st.unavail += d
		worst = max(worst, d)
		if d > chaosOutageLimit {
			c.errorf("step %d (%s): the client was not served for %s from %s (%s), want at most %s",
				i, s, d.Round(time.Millisecond), w.Start.Format("15:04:05.000"), w, chaosOutageLimit)
		}
	}
	if worst > st.worst {
		st.worst, st.worstStep = worst, i
	}

	var heard, absent time.Duration
	for _, m := range c.watch.Report().Multi() {
		if m.End.Before(c.mark) {
			continue
		}
		from := later(m.Start, c.mark)
		// A span is seen from its first to its last sample: it lasted up
		// to one sampling period more.
		to := m.End.Add(10 * time.Millisecond)
		apart := c.apartWithin(from, to)
		absent += apart
		both := to.Sub(from) - apart
		heard += both
		if both > chaosDualLimit {
			c.errorf("step %d (%s): the VIP was on %v for %s while they could hear each other (span %s), want at most %s",
				i, s, m.Holders, both.Round(time.Millisecond), m, chaosDualLimit)
		}
	}
	st.dualBoth += heard
	st.dualAbsent += absent

	var mem []string
	for j, n := range c.nodes {
		r := rss(t, n.proc.PID)
		c.rssMax[j] = max(c.rssMax[j], r)
		mem = append(mem, fmt.Sprintf("%s %d MB", n.name, r>>20))
		if r > chaosMaxRSS {
			c.errorf("step %d (%s): %s's RSS is %d MB, want under %d MB", i, s, n.name, r>>20, chaosMaxRSS>>20)
		}
	}
	t.Logf("step %d: %s: fault %s, whole again %s later; longest unavailability %s, VIP on both %s apart and %s while hearing; RSS %s",
		i, s, faultEnd.Sub(begin).Round(time.Millisecond), now.Sub(faultEnd).Round(time.Millisecond),
		worst.Round(time.Millisecond), absent.Round(time.Millisecond), heard.Round(time.Millisecond), strings.Join(mem, ", "))
	c.mark = now
}

// apartWithin is how much of [from, to) the nodes spent unable to hear
// each other: an hbd down, or the network not delivering one way.
func (c *chaosRun) apartWithin(from, to time.Time) time.Duration {
	var in []span
	for _, a := range append(c.reach.gaps(to), c.down...) {
		if lo, hi := later(a.from, from), earlier(a.to, to); hi.After(lo) {
			in = append(in, span{lo, hi})
		}
	}
	sort.Slice(in, func(i, j int) bool { return in[i].from.Before(in[j].from) })
	var d time.Duration
	var end time.Time // the union so far ends here
	for _, a := range in {
		if a.from.After(end) {
			end = a.from
		}
		if a.to.After(end) {
			d += a.to.Sub(end)
			end = a.to
		}
	}
	return d
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// summary prints the run's figures: per kind of step, and in all.
func (c *chaosRun) summary() {
	t := c.t
	var probes []netlab.Probe
	for _, p := range c.probe.Probes() {
		if !p.At.Before(c.first) {
			probes = append(probes, p)
		}
	}
	failed := 0
	for _, p := range probes {
		if !p.OK() {
			failed++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-18s %5s %7s %14s %12s %11s %12s %12s\n", "step", "runs", "outages", "longest (step)", "unavail sum", "settle max", "both apart", "both heard")
	for k := range chaosKinds {
		s := c.perKind[k]
		fmt.Fprintf(&b, "%-18s %5d %7d %8s (%3d) %12s %11s %12s %12s\n", k, s.steps, s.windows,
			s.worst.Round(time.Millisecond), s.worstStep, s.unavail.Round(time.Millisecond), s.settleMax.Round(time.Millisecond),
			s.dualAbsent.Round(time.Millisecond), s.dualBoth.Round(time.Millisecond))
	}
	rep := c.watch.Report()
	t.Logf("chaos seed %d, %d steps in %s: from the first step on the client made %d requests, %d failed (%.3f%% answered); VIP sampled %d times (%d errors); peak RSS node1 %d kB, node2 %d kB\n%s",
		c.plan.seed, c.steps, time.Since(c.first).Round(time.Second), len(probes), failed, 100*float64(len(probes)-failed)/float64(max(1, len(probes))), rep.Samples, rep.Errors,
		c.rssMax[0]>>10, c.rssMax[1]>>10, b.String())
}
