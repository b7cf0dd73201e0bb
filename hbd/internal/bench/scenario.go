//go:build linux

package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/netlab"
)

// Scenario names.
const (
	ScCut      = "cut"      // the holder's links go down (machine dies)
	ScKill9    = "kill9"    // kill -9 of the holder's daemon, then restart it
	ScStop     = "stop"     // graceful stop of the holder's daemon
	ScFailback = "failback" // the preferred node comes back (auto_failback on / preempt)
	ScHeal     = "heal"     // partition between the nodes, both take the VIP, heal
	ScStandby  = "standby"  // the holder gives the group away (hb_standby / hbd standby)
	ScTakeover = "takeover" // the other node asks for the group (hb_takeover / hbd takeover)
)

// Scenarios lists them in report order.
var Scenarios = []string{ScCut, ScKill9, ScStop, ScFailback, ScHeal, ScStandby, ScTakeover}

// ScenarioTitle is a scenario's column title.
var ScenarioTitle = map[string]string{
	ScCut:      "link cut (machine dies)",
	ScKill9:    "kill -9 + restart",
	ScStop:     "graceful stop",
	ScFailback: "failback",
	ScHeal:     "partition heals",
	ScStandby:  "standby",
	ScTakeover: "takeover command",
}

// Run is one measured run.
type Run struct {
	Daemon   string // driver key
	Settings string
	Scenario string
	Index    int
	Figures
	// Tracked: the address's exact moves and the failed requests' causes
	// (nil when the tracking failed: see Notes).
	Tracked *Tracked `json:",omitempty"`
	Final   string   // who served at the end
	Err     string   // the run could not be measured (setup failed); Figures are empty
	Skip    bool     // the daemon cannot do this scenario
	Notes   []string
}

// Runner runs scenarios in a rig.
type Runner struct {
	Rig   *Rig
	Every time.Duration // address sampling (10 ms)
	Logf  func(format string, args ...any)
	// clean: the last thing done in the rig was a reset that succeeded
	// (prepare skips another).
	clean bool
}

func (rn *Runner) logf(format string, args ...any) {
	if rn.Logf != nil {
		rn.Logf(format, args...)
	}
}

// failbackControl is how long a failback watches the requests before it
// starts the preferred node again, the peer serving alone and nothing
// moving: hbd's failback_delay (2 s by default), during which hbd keeps
// the VIP on the peer after the start while keepalived preempts at once.
// A request that fails then is the loaded machine's (the client or the
// web server not run in time), and says how many of the failures with the
// VIP in place after the start would have come without it.
const failbackControl = 2 * time.Second

// controlNotes lists the requests sent in [from, to] that failed, each
// with how long before to it was sent, and their count.
func controlNotes(probes []netlab.Probe, from, to time.Time) []string {
	var notes []string
	in := between(probes, from, to)
	failed := 0
	for _, p := range in {
		if !p.OK() {
			failed++
			notes = append(notes, fmt.Sprintf("before the start, nothing moving: request sent -%.1f ms failed after %.1f ms (%s)",
				float64(to.Sub(p.At).Microseconds())/1000, float64(p.Took.Microseconds())/1000, p.Err))
		}
	}
	return append(notes, controlNote{Window: failbackControl, Failed: failed, All: len(in)}.String())
}

// sleepCtx sleeps d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// observe is a run's live record: the prober, the address watch (10 ms
// samples) and the address's tracking (the kernel's notifications).
type observe struct {
	p *netlab.Prober
	w interface{ Report() netlab.AddrReport }
}

func (o *observe) holders() []string {
	r := o.w.Report()
	if len(r.Spans) == 0 {
		return nil
	}
	return r.Spans[len(r.Spans)-1].Holders
}

// waitFor polls cond every 20 ms until it holds or max passes (or ctx
// ends); it reports whether it held.
func waitFor(ctx context.Context, max time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(max)
	for i := 0; i < 1_000_000; i++ {
		if cond() {
			return true
		}
		if time.Now().After(deadline) || sleepCtx(ctx, 20*time.Millisecond) != nil {
			return false
		}
	}
	return false
}

// settle waits until the service is settled (Settled over quiet, one
// holder, and expect serving when not ""), but not before minObs after
// since, and at most maxObs after since. It returns who serves and
// whether it settled.
func (rn *Runner) settle(ctx context.Context, o *observe, since time.Time, expect string, quiet, minObs, maxObs time.Duration) (string, bool) {
	return rn.settleHolders(ctx, o, since, expect, quiet, minObs, maxObs, func(hs []string) bool { return len(hs) == 1 })
}

// settleHolders is settle with its own rule for the address's holders.
func (rn *Runner) settleHolders(ctx context.Context, o *observe, since time.Time, expect string, quiet, minObs, maxObs time.Duration, holdersOK func([]string) bool) (string, bool) {
	var whom string
	ok := waitFor(ctx, time.Until(since.Add(maxObs)), func() bool {
		now := time.Now()
		if now.Sub(since) < minObs {
			return false
		}
		w, ok := Settled(o.p.Probes(), now, quiet, 250*time.Millisecond, int(quiet/(40*time.Millisecond))+1)
		if !ok || (expect != "" && w != expect) {
			return false
		}
		if !holdersOK(o.holders()) {
			return false
		}
		whom = w
		return true
	})
	return whom, ok
}

// quiet is how long the service must answer without a failure, from one
// node, to count as settled.
func quiet(t Timing) time.Duration { return time.Second + t.Detect() }

// up starts both nodes and waits until node 0 serves, settled.
func (rn *Runner) up(ctx context.Context, cl Cluster, t Timing, o *observe) error {
	r := rn.Rig
	start := time.Now()
	for i := range 2 {
		if err := cl.Start(i); err != nil {
			return fmt.Errorf("start %s: %w", r.Names[i], err)
		}
	}
	maxUp := 40*time.Second + 3*t.Detect()
	if _, ok := rn.settle(ctx, o, start, r.Names[0], quiet(t), 0, maxUp); !ok {
		return fmt.Errorf("%s never served alone, settled, within %s (holders %v, last probe %s)", r.Names[0], maxUp, o.holders(), lastProbe(o.p))
	}
	return nil
}

func lastProbe(p *netlab.Prober) string {
	l, ok := p.Last()
	if !ok {
		return "none"
	}
	if l.OK() {
		return "answer from " + l.Whom
	}
	return "failed: " + l.Err
}

// Scenario runs one scenario once: clean nodes, both daemons up with node
// 0 serving, the action, the observation; then it cleans up.
func (rn *Runner) Scenario(ctx context.Context, d Driver, t Timing, settings, sc string, idx int) (run Run) {
	r := rn.Rig
	run = Run{Daemon: d.Key(), Settings: settings, Scenario: sc, Index: idx}
	ph := newPhases()
	run.Figures = Figures{Switch: -1, Dup: -1}
	fail := func(err error) Run {
		run.Err = err.Error()
		return run
	}
	if l, ok := d.(Lacking); ok && l.Lacks(sc) {
		run.Skip = true
		return run
	}
	cl, err := d.Cluster(r, t)
	if err != nil {
		return fail(err)
	}
	if err := rn.prepare(cl); err != nil {
		return fail(fmt.Errorf("clean before the run: %w", err))
	}
	ph.mark("clean")
	defer func() {
		ph.mark("end")
		_ = r.Lab.Heal(r.Nodes[0])
		_ = r.Lab.HealBetween(r.Nodes[0], r.Nodes[1])
		if err := rn.reset(cl); err != nil {
			run.Notes = append(run.Notes, "cleanup: "+err.Error())
		}
		ph.mark("teardown")
		rn.logf("  took %s", ph)
	}()
	o, stop, err := rn.observe()
	if err != nil {
		return fail(err)
	}
	var probes []netlab.Probe
	var spans []netlab.Span
	var tracked []netlab.AddrEvent
	var trackErrs []error
	stopped := false
	finish := func() {
		if !stopped {
			probes, spans, tracked, trackErrs = stop()
			stopped = true
		}
	}
	defer finish()

	ph.mark("observe")
	if err := rn.up(ctx, cl, t, o); err != nil {
		return fail(fmt.Errorf("%w\n%s: %s\n%s: %s", err, r.Names[0], cl.Tail(0), r.Names[1], cl.Tail(1)))
	}
	ph.mark("up")
	q := quiet(t)
	long := max(5*time.Second, 3*t.Detect())
	// A false death after the action is noted (a heal and a cut have
	// their own partitions).
	returns0, _ := returns(cl)
	m := Marks{Every: rn.Every}
	var whom string
	var settled bool
	var control [2]time.Time // the failback's quiet window before the start
	switch sc {
	case ScCut:
		m.Action, m.Expect = time.Now(), r.Names[1]
		if err := r.Lab.Cut(r.Nodes[0]); err != nil {
			return fail(err)
		}
		// The cut node keeps the address, unheard: only the survivor counts.
		survivor := m.Expect
		whom, settled = rn.settleHolders(ctx, o, m.Action, m.Expect, q, 0, 30*time.Second+3*t.Detect(),
			func(hs []string) bool { return slices.Contains(hs, survivor) })
	case ScStop, ScStandby, ScTakeover:
		m.Action, m.Expect, m.DupFrom = time.Now(), r.Names[1], time.Now()
		switch sc {
		case ScStop:
			err = cl.Stop(0)
		case ScStandby:
			err = cl.Standby(0)
		default:
			err = cl.Takeover(1)
		}
		if err == nil {
			run.Notes = append(run.Notes, commandNote{Command: sc, Took: time.Since(m.Action)}.String())
		}
		if errors.Is(err, errors.ErrUnsupported) {
			run.Skip = true
			return run
		}
		if err != nil {
			return fail(err)
		}
		whom, settled = rn.settle(ctx, o, m.Action, m.Expect, q, 0, 30*time.Second+3*t.Detect())
	case ScFailback:
		if err := cl.Stop(0); err != nil {
			return fail(fmt.Errorf("stop before failback: %w", err))
		}
		if _, ok := rn.settle(ctx, o, time.Now(), r.Names[1], q, 0, 30*time.Second+3*t.Detect()); !ok {
			return fail(fmt.Errorf("%s never served alone after %s stopped", r.Names[1], r.Names[0]))
		}
		control[0] = time.Now()
		if err := sleepCtx(ctx, failbackControl); err != nil {
			return fail(err)
		}
		returns0, _ = returns(cl)
		m.Action, m.Expect, m.DupFrom = time.Now(), r.Names[0], time.Now()
		control[1] = m.Action
		if err := cl.Start(0); err != nil {
			return fail(err)
		}
		whom, settled = rn.settle(ctx, o, m.Action, m.Expect, q, 0, 40*time.Second+3*t.Detect())
	case ScKill9:
		m.Action, m.Expect, m.DupFrom = time.Now(), r.Names[1], time.Now()
		if err := cl.Kill(0); err != nil {
			return fail(err)
		}
		took := waitFor(ctx, 20*time.Second+3*t.Detect(), func() bool { return slices.Contains(o.holders(), r.Names[1]) })
		if !took {
			run.Notes = append(run.Notes, "the peer never took the VIP after kill -9")
		}
		restart := time.Now()
		if err := cl.Start(0); err != nil {
			return fail(fmt.Errorf("restart: %w", err))
		}
		whom, settled = rn.settle(ctx, o, restart, "", q, long, 45*time.Second)
	case ScHeal:
		if err := r.Lab.CutBetween(r.Nodes[0], r.Nodes[1]); err != nil {
			return fail(err)
		}
		both := waitFor(ctx, 20*time.Second+3*t.Detect(), func() bool { return len(o.holders()) == 2 })
		if !both {
			run.Notes = append(run.Notes, "during the partition the VIP never was on both nodes")
		}
		_ = sleepCtx(ctx, max(time.Second, t.Detect()))
		m.Action = time.Now()
		m.DupFrom = m.Action
		if err := r.Lab.HealBetween(r.Nodes[0], r.Nodes[1]); err != nil {
			return fail(err)
		}
		whom, settled = rn.settle(ctx, o, m.Action, "", q, long, 40*time.Second)
	default:
		return fail(fmt.Errorf("unknown scenario %q", sc))
	}
	m.From = m.Action
	m.End = time.Now()
	ph.mark("scenario")
	finish()
	if r1, ok := returns(cl); ok && sc != ScHeal && sc != ScCut && r1 > returns0 {
		run.Notes = append(run.Notes, falseDeathNote(r1-returns0))
	}
	if !control[0].IsZero() {
		run.Notes = append(run.Notes, controlNotes(probes, control[0], control[1])...)
	}
	run.Figures = Measure(probes, spans, m)
	if len(trackErrs) > 0 {
		run.Notes = append(run.Notes, fmt.Sprintf("tracking the VIP failed: %v", trackErrs))
	} else {
		exact := netlab.HolderSpans(tracked, m.End)
		tr := Track(probes, exact, m.From, m.End)
		run.Tracked = &tr
		if run.Failed <= noteRequestsMax {
			for _, p := range between(probes, m.From, m.End) {
				if !p.OK() {
					run.Notes = append(run.Notes, requestNote{
						Sent:  float64(p.At.Sub(m.Action).Microseconds()) / 1000,
						Took:  float64(p.Took.Microseconds()) / 1000,
						Err:   p.Err,
						Cause: netlab.FailureCause(p, exact, probes),
					}.String())
				}
			}
		}
	}
	if run.Windows > 1 {
		var ws []string
		for _, w := range netlab.Windows(between(probes, m.From, m.End)) {
			d := "open"
			if !w.Open() {
				d = w.Duration().Round(time.Millisecond).String()
			}
			ws = append(ws, fmt.Sprintf("+%s %s→%s %s", w.Start.Sub(m.Action).Round(time.Millisecond), w.From, w.To, d))
		}
		run.Notes = append(run.Notes, "windows: "+strings.Join(ws, ", "))
	}
	run.Final = whom
	if !settled {
		run.Notes = append(run.Notes, fmt.Sprintf("not settled when the observation ended (%s after the action; holders %v)",
			m.End.Sub(m.Action).Round(time.Second), lastHolders(spans)))
	}
	if m.Expect == "" && whom != "" {
		run.Notes = append(run.Notes, "served at the end by "+whom)
	}
	return run
}

// between is the probes that started in [from, to].
func between(ps []netlab.Probe, from, to time.Time) []netlab.Probe {
	var out []netlab.Probe
	for _, p := range ps {
		if !p.At.Before(from) && !p.At.After(to) {
			out = append(out, p)
		}
	}
	return out
}

func lastHolders(spans []netlab.Span) []string {
	if len(spans) == 0 {
		return nil
	}
	return spans[len(spans)-1].Holders
}

// observe starts the client prober, the address watch and the address's
// tracking; stop ends them and returns what they saw: the probes, the
// watch's spans, the tracked events and the tracking's errors.
func (rn *Runner) observe() (*observe, func() ([]netlab.Probe, []netlab.Span, []netlab.AddrEvent, []error), error) {
	r := rn.Rig
	p, err := r.Lab.StartProber(r.Client, r.URL(), netlab.ProberOptions{})
	if err != nil {
		return nil, nil, err
	}
	w, err := netlab.WatchAddr(r.VIP, rn.Every, r.Nodes[0], r.Nodes[1])
	if err != nil {
		p.Stop()
		return nil, nil, err
	}
	tr, err := netlab.TrackAddr(r.VIP, r.Nodes[0], r.Nodes[1])
	if err != nil {
		p.Stop()
		w.Stop()
		return nil, nil, err
	}
	// Holders are named by host; name them by node.
	return &observe{p: p, w: &namedWatch{w, r}}, func() ([]netlab.Probe, []netlab.Span, []netlab.AddrEvent, []error) {
		ps := p.Stop()
		rep := w.Stop()
		tr.Stop()
		evs, errs := tr.Events()
		for i := range evs {
			evs[i].Host = r.nodeName(evs[i].Host)
		}
		return ps, renameSpans(rep.Spans, r), evs, errs
	}, nil
}

// reset kills the daemons, removes their resources and forgets every
// host's ARP entries, so every run starts alike. The nodes' entries
// matter as much as the client's: a node cut off from its peer queues
// what its daemon sends there while the peer's address does not resolve,
// and the kernel delivers that queue once the link is back and the
// address resolves, up to a second later, which may be after the next
// daemon has started. Heartbeat 3.0.6 takes such a datagram, the dead hbd's
// heartbeat with its later generation, for its peer's, and then drops
// every message of the real peer as a replay for the whole run: it never
// settles. Flushing the entries drops what they queued.
func (rn *Runner) reset(cl Cluster) error {
	r := rn.Rig
	rn.clean = false
	err := cl.Clean()
	r.DropVIP()
	for _, h := range append(r.Nodes[:], r.Client) {
		_, _ = h.Exec(context.Background(), "ip", "neigh", "flush", "all")
	}
	rn.clean = err == nil
	return err
}

// prepare makes the rig ready for cl's start: a reset, unless the last
// thing done in the rig was a reset that succeeded (the teardown of the
// run before), after which nothing has run that a second one would
// undo: the daemons are gone, the address is on no node, every host's
// ARP entries flushed. It marks the rig in use.
func (rn *Runner) prepare(cl Cluster) error {
	if rn.clean {
		rn.clean = false
		return nil
	}
	return rn.reset(cl)
}

func renameSpans(spans []netlab.Span, r *Rig) []netlab.Span {
	for i := range spans {
		for j, h := range spans[i].Holders {
			spans[i].Holders[j] = r.nodeName(h)
		}
	}
	return spans
}

func (r *Rig) nodeName(host string) string {
	for i, h := range r.Nodes {
		if h.Name == host {
			return r.Names[i]
		}
	}
	return host
}

// namedWatch reports holders by node name.
type namedWatch struct {
	*netlab.AddrWatch
	r *Rig
}

func (w *namedWatch) Report() netlab.AddrReport {
	rep := w.AddrWatch.Report()
	rep.Spans = renameSpans(rep.Spans, w.r)
	return rep
}
