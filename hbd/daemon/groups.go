package daemon

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/hbdproject/hbd/harc"
	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/paths"
)

// newRunner builds the resource runner for a configuration.
func (d *Daemon) newRunner(cfg *config.Config) (*harc.Runner, error) {
	o := harc.FromConfig(cfg)
	o.ConfigDir = d.opts.ConfigDir
	o.Node = cfg.ThisNode
	o.Log = d.log.Logger
	o.StateDir = d.opts.StateDir
	o.BuiltinCommand = d.opts.AgentCommand
	o.Records = d.records // scripts outliving a killed daemon (leftovers.go)
	// The registry of built-in agents: which run in this process.
	o.Lookup = d.opts.Load.Lookup
	// The IP agents run in this process: a handover's gap (the address
	// gone from one node, not yet on the other) loses no fork and exec.
	o.InProcess = true
	// A planned release's handover (resources/ipaddr) outlives its stop
	// by up to a second: the exit waits for it as for an operation, so
	// that a graceful stop hands over too.
	o.Linger = d.linger
	// HA_RSCTMP is Heartbeat's /run/resource-agents for a node using the
	// standard run directory. Nodes sharing one machine (tests, the demo)
	// each get their own, or one node's agent records would be another's.
	if d.opts.RunDir != "" && filepath.Clean(d.opts.RunDir) != paths.RunDir {
		o.RscTmp = filepath.Join(d.opts.RunDir, paths.RscTmpName)
	}
	if cfg.OnStopFailure != "" {
		pol, err := harc.ParseStopFailurePolicy(cfg.OnStopFailure)
		if err != nil {
			return nil, fmt.Errorf("on_stop_failure: %w", err)
		}
		o.OnStopFailure = pol
	}
	r, err := harc.New(o)
	if err != nil {
		return nil, fmt.Errorf("resource runner: %w", err)
	}
	return r, nil
}

// runOp runs one group operation the core asked for, in its own
// goroutine (a script may take minutes; heartbeats go on), and feeds the
// result back as an OpDone. Operations run under opsCtx, which a graceful
// stop does not cancel: releasing the groups is what a stop is for.
//
// g is the group's definition as the core knows it (for a stop, the one
// it was started with, even if a reload has since changed or removed it);
// from are the peers a start takes the group over from
// (cluster.StartGroup.From); rel is a stop's cluster.StopGroup.Drain and
// Taker.
//
// Every resource's debug line says how long after the decision (the
// event the core decided on) it was done: for a takeover, the time from
// the peer declared dead to the address added and announced.
func (d *Daemon) runOp(op cluster.Op, key string, g config.Group, from []string, rel harc.Release) {
	r := d.runner
	unwatched := d.unwatching[key]
	delete(d.unwatching, key)
	delete(d.reannouncing, key) // unwatched waits for it
	asked := d.stepAt
	if asked.IsZero() {
		asked = time.Now()
	}
	decision := harc.Decision{At: asked}
	if len(from) > 0 {
		decision.What = "the takeover from " + strings.Join(from, ", ")
	}
	ctx := harc.WithRelease(harc.WithDecision(d.opsCtx, decision), rel)
	if op == cluster.OpStart {
		ab := new(harc.Abandon)
		d.starts[key] = ab
		ctx = harc.WithAbandon(ctx, ab)
	}
	d.opsWG.Add(1)
	d.busy.begin() // ended by the loop, with the result (opFinished)
	go func() {
		defer d.opsWG.Done()
		if unwatched != nil {
			unwatched() // no watcher or monitor check runs beside the operation
		}
		began := time.Now()
		done := cluster.OpDone{Group: key, Op: op}
		switch op {
		case cluster.OpStart:
			done.Result, done.Detail = startResult(r.Start(ctx, g))
		case cluster.OpStop:
			done.Result, done.Detail = stopResult(r.Stop(ctx, g))
		case cluster.OpProbe:
			st, err := r.Status(ctx, g)
			switch {
			case err != nil:
				done.Result, done.Detail = cluster.ResultFailed, err.Error()
			case st.State == harc.GroupNone:
				done.Result = cluster.ResultStopped
			default:
				done.Result = cluster.ResultRunning
				done.Detail = fmt.Sprintf("%s of its resources run", st.State)
			}
		}
		done.Now = time.Now()
		d.log.Debugf("%s of %s: %s in %.1f ms (%.1f ms after %s)", op, key, done.Result,
			float64(done.Now.Sub(began).Microseconds())/1000, float64(done.Now.Sub(asked).Microseconds())/1000, decision.Label())
		d.ops <- done
	}()
}

// opFinished is what the loop does with a group operation's result: the
// core's answer first (for a release, the message that lets a peer take
// the group; for a start, the announcement), then the operation stops
// counting as busy (GOMAXPROCS goes back: a stop of the world) and the
// program's file pages are dropped (the operation ran code the heartbeats
// do not: a drop reads /proc/self/smaps for 0.3 to 0.9 ms). Done by the
// operation's goroutine after its result, those two came before the
// loop's turn: the goroutine woken for the drop ran ahead of the loop,
// and the release reached the peer 0.3 to 0.7 ms later than it does now
// (docs/benchmarks-history.md, "Handover without a failed request").
func (d *Daemon) opFinished(done cluster.OpDone) {
	if done.Op == cluster.OpStart {
		delete(d.starts, done.Group)
	}
	d.step(done)
	d.busy.end()
	d.pages.request()
}

// prepare has the runner read a group's statuses ahead of its start
// (cluster.PrepareGroup): a peer is releasing the group to this node, and
// the reads run beside its stop scripts instead of after them. The
// StartGroup that follows uses what was read while it is valid; harc
// decides that, and reads again otherwise. Nothing comes back to the
// core. The reads count as an operation in flight (busy: their forks
// must not hold the loop's only P) until they end, and the daemon's exit
// waits for them as for any operation.
func (d *Daemon) prepare(a cluster.PrepareGroup) {
	d.log.Debugf("%s releases resource group %s to this node: reading its statuses ahead of the start", a.From, a.Group)
	d.opsWG.Add(1)
	d.busy.begin()
	done := d.runner.Prepare(d.opsCtx, a.Spec)
	go func() {
		defer d.opsWG.Done()
		defer d.busy.end()
		<-done
	}()
}

// abandonStart calls off the start of a group under way
// (cluster.AbandonStart): harc runs none of its start scripts if none has
// begun (its OpDone then says ResultAbandoned); otherwise the start runs
// to its end.
func (d *Daemon) abandonStart(a cluster.AbandonStart) {
	ab := d.starts[a.Group]
	switch {
	case ab == nil:
		d.log.Debugf("start of %s not called off (news of %s): it does not run", a.Group, a.Peer)
	case ab.Abandon():
		d.log.Debugf("start of %s called off (news of %s): no start script had begun", a.Group, a.Peer)
	default:
		d.log.Debugf("start of %s not called off (news of %s): a start script has begun", a.Group, a.Peer)
	}
}

func startResult(err error) (cluster.Result, string) {
	switch {
	case err == nil:
		return cluster.ResultOK, ""
	case errors.Is(err, harc.ErrStopFailed):
		return cluster.ResultStopFailed, err.Error()
	case errors.Is(err, harc.ErrAbandoned):
		return cluster.ResultAbandoned, err.Error()
	default:
		return cluster.ResultFailed, err.Error()
	}
}

// stopResult treats every failed stop as "may still run": only a stop
// that succeeded lets another node start the group.
func stopResult(err error) (cluster.Result, string) {
	if err == nil {
		return cluster.ResultOK, ""
	}
	return cluster.ResultStopFailed, err.Error()
}

// unwatch ends a group's watch (cluster.UnwatchGroup): its address
// watch and its monitor checks are cancelled at once, and the group's
// next operation (runOp) waits until both have stopped.
func (d *Daemon) unwatch(key string) {
	w := d.takeWatch(key)
	quiet := d.monitors.Release(key)
	prev := d.unwatching[key]
	d.unwatching[key] = func() {
		if prev != nil {
			prev()
		}
		quiet()
		w.stop()
	}
}

// reannounce makes a kept group's addresses known again (a healed
// partition, a peer that may have held a copy released it: clients may
// still point at it). g is the definition running here
// (cluster.Reannounce.Spec). hbd announces every address resource of the
// group itself (the watch's keepers and announcers), whatever script
// holds it; every other resource is started again, left to right
// (Heartbeat's contract makes start idempotent; an Elastic IP agent
// asserts the address again). The group's next operation (runOp) calls
// the re-announce off (a start run again is no reason to hold a release
// up: its script's process group is killed as on a timeout) and waits
// until it has ended: a stop run beside it would leave the resource
// running here after its release. A second re-announce of the group
// waits for the first.
func (d *Daemon) reannounce(key string, g config.Group) {
	r := d.runner
	w := d.watches[key]
	ctx, cancel := context.WithCancel(harc.WithGroup(d.opsCtx, key))
	before, ended := d.reannouncing[key], make(chan struct{})
	if d.reannouncing == nil {
		d.reannouncing = map[string]chan struct{}{}
	}
	d.reannouncing[key] = ended
	prev := d.unwatching[key]
	d.unwatching[key] = func() {
		if prev != nil {
			prev()
		}
		cancel()
		<-ended
	}
	d.opsWG.Add(1)
	d.busy.begin()
	go func() {
		defer d.opsWG.Done()
		defer d.busy.end()
		defer close(ended)
		defer cancel()
		if before != nil {
			<-before
		}
		calledOff := func() bool { return ctx.Err() != nil && d.opsCtx.Err() == nil }
		if w != nil {
			if err := w.announce(ctx); err != nil && w.ctx.Err() == nil && !calledOff() {
				d.log.Warnf("re-announce of %s: %v", key, err)
			}
		}
		for i, res := range g.Resources {
			if w != nil && w.covered[i] {
				continue
			}
			if calledOff() {
				return
			}
			d.log.Infof("Re-announcing resource group %s: running %s start again", key, res.Spec)
			out := r.RunResource(ctx, res, harc.OpStart, 0)
			switch {
			case calledOff():
				d.log.Infof("Re-announce of resource group %s called off by its next operation: %s start stopped", key, res.Spec)
				return
			case !out.OK():
				d.log.Warnf("re-announce of %s: %s", key, out.Describe())
			}
		}
	}()
}

// linger counts work an in-process agent left running after its
// operation (harc.Options.Linger) as an operation until done is closed.
// It is called from within an operation, so the count is not zero.
func (d *Daemon) linger(done <-chan struct{}) {
	d.opsWG.Add(1)
	go func() {
		defer d.opsWG.Done()
		<-done
	}()
}

// waitOps waits for running operations when the daemon exits.
func (d *Daemon) waitOps(timeout time.Duration) {
	done := make(chan struct{})
	go func() { d.opsWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		d.log.Warnf("resource operations still running after %s; exiting anyway", timeout)
	}
}
