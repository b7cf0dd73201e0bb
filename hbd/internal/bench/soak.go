//go:build linux

package bench

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/hbdproject/hbd/hbd/netlab"
)

// Soak is one stretch under random loss with both CPUs busy.
type Soak struct {
	Daemon   string
	Timing   Timing
	Loss     float64       // percent, each direction
	Step     time.Duration // how long the stretch was to last
	Duration time.Duration // how long it lasted: less than Step when it ended at a false failover
	Deaths   int           // "is dead" lines (keepalived: backups becoming master), both nodes
	Changes  int           // holder changes of the VIP (address watch)
	Switches int           // changes of responder seen by the client
	Failed   int           // failed requests
	Serving  bool
	Expected ChanceBounds
	Err      string
}

// ChanceBounds is how many false deaths chance alone would give.
type ChanceBounds struct{ Low, High float64 }

// FalseFailovers is what counts as a false failover: a death or a holder
// change.
func (s Soak) FalseFailovers() int { return s.Deaths + s.Changes }

// Passed is whether the stretch ran its whole Step free of false
// failovers.
func (s Soak) Passed() bool { return s.Err == "" && s.FalseFailovers() == 0 }

// ExpectedDeaths is how many false deaths random loss alone would cause in
// dur, when each heartbeat is lost with probability p.
//
// Heartbeat-style (keepalive K, deadtime D): both nodes send every K, and
// a node is declared dead after `run` heartbeats in a row are lost: a run
// of `run` losses starts after each heard heartbeat with probability
// (1-p)·p^run. A death needs D/K - 1 lost heartbeats when the next one is
// late by a hair, D/K when timing is exact: the two bounds.
//
// VRRPv3 (advert_int A): only the master sends, so one direction counts;
// the backup's master-down timer, 3·A plus a skew under A, fires after 3
// adverts in a row are lost: both bounds are the same.
func ExpectedDeaths(t Timing, p float64, dur time.Duration) ChanceBounds {
	if p <= 0 {
		return ChanceBounds{}
	}
	if t.Advert > 0 {
		e := dur.Seconds() / t.Advert.Seconds() * (1 - p) * math.Pow(p, 3)
		return ChanceBounds{Low: e, High: e}
	}
	if t.Keepalive <= 0 {
		return ChanceBounds{}
	}
	beats := 2 * dur.Seconds() / t.Keepalive.Seconds()
	k := math.Round(float64(t.Deadtime) / float64(t.Keepalive))
	f := func(run float64) float64 { return beats * (1 - p) * math.Pow(p, run) }
	return ChanceBounds{Low: f(k), High: f(k - 1)}
}

// Busy spins n loops at normal priority in the client host (the lab kills
// them on Close); stop ends them.
func Busy(r *Rig, n int) (stop func(), err error) {
	var ps []*netlab.Proc
	stop = func() {
		for _, p := range ps {
			_ = p.Kill()
		}
	}
	for range n {
		p, err := r.Client.Start(nil, "sh", "-c", "while :; do :; done")
		if err != nil {
			stop()
			return nil, err
		}
		ps = append(ps, p)
	}
	return stop, nil
}

// SoakRun keeps d's cluster at timing t under loss (percent, on node 0's
// link: each direction between the nodes loses that much) for dur, after
// it is up, and counts false failovers; a stretch ends at its first
// false failover. With cpus > 0, that many busy loops run meanwhile.
// steps are loss rates tried one after another for dur each until the
// first false failover (the loss search; the limit search gives one); the
// result has one entry per step tried.
func (rn *Runner) SoakRun(ctx context.Context, d Driver, t Timing, cpus int, dur time.Duration, steps []float64) []Soak {
	r := rn.Rig
	errOnly := func(err error) []Soak {
		return []Soak{{Daemon: d.Key(), Timing: t, Step: dur, Err: err.Error()}}
	}
	cl, err := d.Cluster(r, t)
	if err != nil {
		return errOnly(err)
	}
	defer func() {
		_ = r.Lab.Loss(r.Nodes[0], 0)
		_ = rn.reset(cl)
	}()
	if err := rn.prepare(cl); err != nil {
		return errOnly(err)
	}
	o, stop, err := rn.observe()
	if err != nil {
		return errOnly(err)
	}
	defer stop()
	serving := true
	if err := rn.up(ctx, cl, t, o); err != nil {
		// Without resource groups the soak still counts deaths.
		serving = false
		rn.logf("soak: %v; counting deaths only", err)
		_ = sleepCtx(ctx, 2*time.Second)
	}
	if cpus > 0 {
		stopBusy, err := Busy(r, cpus)
		if err != nil {
			return errOnly(err)
		}
		defer stopBusy()
	}
	var out []Soak
	for _, loss := range steps {
		if ctx.Err() != nil {
			break
		}
		s := Soak{Daemon: d.Key(), Timing: t, Loss: loss, Step: dur, Serving: serving}
		if err := r.Lab.Loss(r.Nodes[0], loss); err != nil {
			s.Err = err.Error()
			out = append(out, s)
			break
		}
		d0 := cl.Deaths(0) + cl.Deaths(1)
		from := time.Now()
		falseFailover := func() bool {
			return cl.Deaths(0)+cl.Deaths(1) > d0 || holderChanges(o.w.Report().Spans, from, time.Now()) > 0
		}
		if err := holdUnless(ctx, dur, time.Second/2, falseFailover); err != nil {
			s.Err = err.Error()
		}
		to := time.Now()
		s.Duration = to.Sub(from)
		s.Expected = ExpectedDeaths(t, loss/100, s.Duration)
		s.Deaths = cl.Deaths(0) + cl.Deaths(1) - d0
		var ps []netlab.Probe
		for _, p := range o.p.Probes() {
			if !p.At.Before(from) && !p.At.After(to.Add(-300*time.Millisecond)) {
				ps = append(ps, p)
			}
		}
		s.Switches = len(netlab.Switches(ps))
		for _, p := range ps {
			if !p.OK() {
				s.Failed++
			}
		}
		s.Changes = holderChanges(o.w.Report().Spans, from, to)
		out = append(out, s)
		rn.logf("soak %s %s loss %v%% for %s: %d deaths, %d holder changes, %d failed requests", d.Key(), t, loss, s.Duration.Round(time.Second), s.Deaths, s.Changes, s.Failed)
		if s.FalseFailovers() > 0 {
			// What the daemons said of it (late heartbeats, the death)
			// tells the network's losses from the daemon's own delays.
			for i, name := range r.Names {
				rn.logf("soak: the end of %s's log:\n%s", name, cl.Tail(i))
			}
			break
		}
	}
	return out
}

// holdUnless waits dur, looking every poll whether stop holds; it returns
// early (nil) when it does, or ctx's error when ctx ends.
func holdUnless(ctx context.Context, dur, poll time.Duration, stop func() bool) error {
	end := time.Now().Add(dur)
	for {
		left := time.Until(end)
		if left <= 0 {
			return nil
		}
		if err := sleepCtx(ctx, min(poll, left)); err != nil {
			return err
		}
		if stop() {
			return nil
		}
	}
}

// holderChanges counts changes of the holder set between spans that start
// in (from, to].
func holderChanges(spans []netlab.Span, from, to time.Time) int {
	n := 0
	for i := 1; i < len(spans); i++ {
		if spans[i].Start.After(from) && !spans[i].Start.After(to) {
			n++
		}
	}
	return n
}

func (s Soak) String() string {
	return fmt.Sprintf("%s %s loss %v%% %s: deaths %d changes %d", s.Daemon, s.Timing, s.Loss, s.Duration.Round(time.Second), s.Deaths, s.Changes)
}
