package harc

import (
	"context"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/logging"
)

// Start acquires a group as Heartbeat's ResourceManager takegroup does:
// "Acquiring resource group: NODE RES...", then, left to right, each
// resource's status, and its start unless the status says it already runs
// (Heartbeat's rule: what runs is not started twice). The statuses are
// read one after another from the moment the acquisition begins, each
// beside the start before it (lookahead.go): only the first is on the
// acquisition's path, and not even that one when Prepare read them
// ahead (while a peer released the group) and they are still valid
// (prefetch.go). A built-in agent
// whose start converges (agents.Agent.Converges: the IP address agents,
// which keep an address already there and announce it) is started without
// the status check: its start is the check, and a takeover's address is
// on its new node one operation sooner.
//
// If a start fails (non-zero exit, timeout, the script cannot be found),
// Start logs "CRIT: Giving up resources due to failure of RES", stops the
// failed resource and every one to its left, right to left, as Stop does
// (retries and stop failure policy included), and returns a *StartError
// (ErrStartFailed) naming the script, its exit code and its last output
// lines. Heartbeat stops the whole group at this point; harc leaves alone
// the resources to the right, which it never touched, and the failed one
// when its script could not even be run (not found, not executable).
//
// When ctx ends during a start, the script's process group is killed and
// the same rollback runs, detached from ctx but bounded by the timeouts:
// a half-started group is never left behind. A failed rollback makes the
// error ErrStopFailed too: the group then still counts as held here.
//
// Under WithAbandon, the caller may call the start off until its first
// start script begins (Abandon): the status script in progress is
// killed, the resources found running are stopped again as in a
// rollback, and Start returns an *AbandonError (ErrAbandoned).
func (r *Runner) Start(ctx context.Context, g config.Group) error {
	key := g.Key()
	ctx = WithGroup(ctx, key)
	ctx, ab, end, ok := armAbandon(ctx)
	defer end()
	if !ok {
		return r.abandonedStart(ctx, g, "", nil)
	}
	unlock, err := r.lock(ctx, key)
	if err != nil {
		if abandoned(ctx) {
			return r.abandonedStart(ctx, g, "", nil)
		}
		return err
	}
	defer unlock()
	r.log.Infof("Acquiring resource group: %s", groupLine(g))
	began := time.Now()
	la := r.takePrefetch(g, began)
	if la != nil {
		// Read ahead under the daemon's context: Start's ends them too.
		defer context.AfterFunc(ctx, la.cancel)()
	} else {
		la = r.lookAhead(ctx, g)
	}
	// la.stop ends the checks to come before a rollback (no status runs
	// beside its stops) and, deferred, before Start returns.
	defer la.stop()
	var ahead, read int
	for i, res := range g.Resources {
		if st, ok := la.status(i); ok {
			switch {
			case la.ahead && r.usable(st, time.Now()):
				ahead++
				r.log.Debugf("Status of %s: %s (%s; %.1f ms, read ahead: %s)", st.Resource, runningWord(st.Running), st.Reason,
					ms(st.Result.Duration), readWhen(began, st.done))
			case la.ahead:
				st = r.runStatus(ctx, res) // in doubt: read it again
				fallthrough
			default:
				read++
				r.logStatus(ctx, st)
			}
			if ctx.Err() != nil {
				la.stop()
				// Nothing of res was started: roll back what is left of it.
				return r.interruptedStart(ctx, g, res, st.Result, g.Resources[:i])
			}
			if st.Running {
				r.log.Infof("Resource %s is already running (%s); not starting it again", res.Spec, st.Reason)
				continue
			}
		}
		if !ab.commit() {
			la.stop()
			return r.abandonedStart(ctx, g, res.Spec, g.Resources[:i])
		}
		out := r.doScript(ctx, res, OpStart)
		if out.OK() {
			continue
		}
		// Roll back the failed resource too, unless its script never ran
		// (not found, not executable): then nothing of it can run.
		started := g.Resources[:i+1]
		if out.PID == 0 {
			started = g.Resources[:i]
		}
		la.stop()
		if ctx.Err() != nil {
			return r.interruptedStart(ctx, g, res, out, started)
		}
		logging.Critf(r.log, "Giving up resources due to failure of %s", res.Spec)
		se := &StartError{Group: key, Node: r.opts.Node, Resource: res.Spec, Result: out}
		if len(started) > 0 {
			se.Rollback = r.stopResources(context.WithoutCancel(ctx), g, started)
		}
		return se
	}
	if !ab.commit() {
		// Called off after the last status: every resource was found
		// running, none started. Stop them again, as the caller was told.
		la.stop()
		return r.abandonedStart(ctx, g, lastSpec(g), g.Resources)
	}
	now := time.Now()
	r.log.Debugf("Acquired resource group %s in %.1f ms%s (statuses: %d read ahead, %d read by the start)", key, ms(now.Sub(began)), sinceDecision(ctx, now), ahead, read)
	return nil
}

// converges reports whether res is run by a built-in agent whose start
// needs no status check before it. It reads only the script's kind and
// the agent's flag: a runner without BuiltinCommand cannot start the
// agent, so its start is no check (resolve fails it, as the status run
// before it does).
func (r *Runner) converges(res config.Resource) bool {
	if len(r.opts.BuiltinCommand) == 0 {
		return false
	}
	sc, err := r.scriptOf(res)
	if err != nil || sc.Kind != config.ScriptBuiltin {
		return false
	}
	a, ok := r.opts.Lookup.Agents.Lookup(sc.Name)
	return ok && a.Converges
}

// interruptedStart rolls back a start that ctx ended.
// It is an error, unless ctx was ended with ErrStopping.
func (r *Runner) interruptedStart(ctx context.Context, g config.Group, res config.Resource, out Result, started []config.Resource) error {
	if abandoned(ctx) {
		return r.abandonedStart(ctx, g, res.Spec, started)
	}
	logf := r.log.Errorf
	if stopping(ctx) {
		logf = r.log.Infof
	}
	logf("Acquisition of resource group %s interrupted at %s (%v); releasing what was started", g.Key(), res.Spec, context.Cause(ctx))
	se := &StartError{Group: g.Key(), Node: r.opts.Node, Resource: res.Spec, Result: out}
	if len(started) > 0 {
		se.Rollback = r.stopResources(context.WithoutCancel(ctx), g, started)
	}
	return se
}

// lastSpec is the spec of g's last resource, "" when it has none.
func lastSpec(g config.Group) string {
	if len(g.Resources) == 0 {
		return ""
	}
	return g.Resources[len(g.Resources)-1].Spec
}

// abandonedStart ends a start called off (Abandon) before any start
// script of it began, at resource at ("" before it began): found are the
// resources its statuses found running, stopped again, right to left.
func (r *Runner) abandonedStart(ctx context.Context, g config.Group, at string, found []config.Resource) error {
	e := &AbandonError{Group: g.Key(), Node: r.opts.Node, At: at}
	if at == "" {
		r.log.Infof("Acquisition of resource group %s abandoned before it began", e.Group)
		return e
	}
	r.log.Infof("Acquisition of resource group %s abandoned at %s: no start script had begun", e.Group, at)
	if len(found) > 0 {
		e.Rollback = r.stopResources(context.WithoutCancel(ctx), g, found)
	}
	return e
}

// Stop releases a group as Heartbeat's ResourceManager givegroup does:
// "Releasing resource group: NODE RES...", then each resource's stop,
// right to left. A stop that fails is run again after StopRetryInterval,
// up to StopRetries times ("Retrying failed stop operation [RES]"). If it
// still fails, its status decides, read strictly (a wrong "stopped" would
// let the peer start the group while it still runs here):
//
//   - status output says "not ... running"; or says "stopped" and neither
//     "running" nor "OK"; or says none of these and exits non-zero: the
//     resource is stopped after all. As
//     Heartbeat does, harc logs that its script is probably not
//     LSB-compliant (a stop must succeed when already stopped) and goes
//     on with the next resource;
//   - anything else (says running, silent with exit code 0, status timed
//     out or could not run): the stop failure policy applies
//     (StopFailureBlock by default), and Stop returns a *StopError
//     (ErrStopFailed) without stopping the resources to its left.
//
// When ctx ends, the running script is killed, no retry is made, and Stop
// returns a *StopError too: what was interrupted may still run.
func (r *Runner) Stop(ctx context.Context, g config.Group) error {
	ctx = WithGroup(ctx, g.Key())
	unlock, err := r.lock(ctx, g.Key())
	if err != nil {
		return err
	}
	defer unlock()
	r.forget(g.Key())
	return r.stopResources(ctx, g, g.Resources)
}

// stopResources releases resources (a prefix of g's, for a rollback),
// right to left.
func (r *Runner) stopResources(ctx context.Context, g config.Group, list []config.Resource) error {
	r.log.Infof("Releasing resource group: %s", groupLine(g))
	for i := len(list) - 1; i >= 0; i-- {
		if err := r.stopOne(ctx, g, list[i]); err != nil {
			return err
		}
	}
	return nil
}

// stopOne stops one resource with retries, the strict status check and
// the stop failure policy.
func (r *Runner) stopOne(ctx context.Context, g config.Group, res config.Resource) error {
	attempts := 0
	var out Result
	for {
		out = r.doScript(ctx, res, OpStop)
		attempts++
		if out.OK() {
			return nil
		}
		if ctx.Err() != nil || attempts > r.opts.StopRetries {
			break
		}
		t := time.NewTimer(r.opts.StopRetryInterval)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		if ctx.Err() != nil {
			break
		}
		r.log.Infof("Retrying failed stop operation [%s]", res.Spec)
	}
	se := &StopError{Group: g.Key(), Node: r.opts.Node, Resource: res.Spec, Result: out, Attempts: attempts, Policy: r.opts.OnStopFailure}
	if ctx.Err() != nil {
		se.Reason = "the stop was interrupted"
		r.log.Errorf("Stop of %s interrupted (%v); the group %s stays held by %s", res.Spec, context.Cause(ctx), g.Key(), r.opts.Node)
		return se
	}
	se.Status = r.RunResource(ctx, res, OpStatus, 0)
	stopped, why := stoppedForSure(se.Status)
	se.Reason = why
	if stopped {
		r.log.Errorf("Resource script for %s probably not LSB-compliant.", res.Spec)
		r.log.Warnf("it (%s) MUST succeed on a stop when already stopped", res.Spec)
		r.log.Warnf("%s counts as stopped: %s", res.Spec, why)
		return nil
	}
	logging.Critf(r.log, "Resource STOP failure: %s: %s %s stop: %s after %d attempt(s); %s; last output: %s",
		res.Spec, out.Path, strings.Join(res.Args, " "), out.Describe(), attempts, why, orNone(quoteLines(out.LastLines(lastLinesShown))))
	switch r.opts.OnStopFailure {
	case StopFailureReboot:
		logging.Crit(r.log, "Resource STOP failure. Reboot required!")
		r.reboot(ctx)
	default:
		logging.Critf(r.log, "Manual intervention required: %s may still run here; the group %s stays held by %s and will not be started elsewhere. Stop it by hand, then run `hbd harc givegroup %s`.",
			res.Spec, g.Key(), r.opts.Node, g.Key())
	}
	return se
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// reboot runs the reboot command of StopFailureReboot.
func (r *Runner) reboot(ctx context.Context) {
	cmd := r.opts.RebootCommand
	logging.Critf(r.log, "Rebooting: %s", strings.Join(cmd, " "))
	out := Command{
		Path: cmd[0], Args: cmd[1:], Env: r.opts.baseEnv(),
		Timeout: DefaultRebootTimeout, KillGrace: r.opts.KillGrace,
		Log: r.opts.Log,
	}.Run(context.WithoutCancel(ctx))
	if !out.OK() {
		logging.Critf(r.log, "Unable to force reboot: %s: %s", strings.Join(cmd, " "), out.Describe())
	}
}

// groupLine is how Heartbeat names a group in "Acquiring/Releasing
// resource group:" lines: the preferred node and the resources as written.
func groupLine(g config.Group) string {
	var b strings.Builder
	b.WriteString(g.Preferred)
	for _, res := range g.Resources {
		b.WriteByte(' ')
		b.WriteString(res.Spec)
	}
	return b.String()
}
