// Package monitor watches the resources of the groups this node holds,
// as the ha.cf `monitor` lines say (hbd's own directive; Heartbeat never
// looked at a resource after starting it).
//
// While the daemon holds a group (its start succeeded and no stop has been
// asked for), every monitored resource of it is checked every interval:
// its script's `monitor` operation, or `status` for scripts that do not
// know `monitor`, bounded by the line's timeout. A failed check is logged
// and the resource is restarted here together with every resource to its
// right in the group (stopped right to left from the end down to it, then
// started left to right from it). A failure beyond restarts= within
// window= gives the group up: Options.Failed is called, and the daemon
// tells the cluster core (cluster.GroupFailed), which releases the group
// and lets another node take it.
//
// The package knows nothing of the cluster: the daemon calls Hold after a
// start succeeded and Release before it runs any start, stop or probe of
// the group, and waits for the function Release returns, so a check or a
// restart never runs beside one of the core's operations.
package monitor

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hbdproject/hbd/harc"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/logging"
)

// Failure is a group given up by its monitor.
type Failure struct {
	Group    string    // the group's key
	Resource string    // the resource whose check failed last
	At       time.Time // when the group was given up
	// Detail says why, in words for the log and the peer: the check's
	// result and how many failures fell within the window, or the
	// restart that failed.
	Detail string
}

// Options configure a Set.
type Options struct {
	// Runner runs the checks, stops and starts (until SetRunner).
	// Required.
	Runner *harc.Runner
	// Log receives every step, under the tag "monitor"; nil: nothing.
	Log logrus.FieldLogger
	// Failed is called (from a monitor goroutine) when a group is given
	// up; ctx ends when the group is released or the Set closed, and the
	// call must return by then. The group is no longer watched.
	Failed func(ctx context.Context, f Failure)
	// Now is the clock (time.Now if nil).
	Now func() time.Time
	// PID is the pid in the log tag; default os.Getpid().
	PID int
}

// The states of a monitored resource in ResourceStatus.
const (
	StateIdle       = "idle"       // this node does not hold its group
	StateWatching   = "watching"   // held; waiting for the next check
	StateChecking   = "checking"   // a check runs
	StateRestarting = "restarting" // being restarted here after a failure
	StateFailed     = "failed"     // its failures gave the group up
)

// ResourceStatus is what `hbd status` shows of one monitored resource.
// Times are omitted when unknown.
type ResourceStatus struct {
	Group    string `json:"group"`
	Resource string `json:"resource"`
	State    string `json:"state"`
	// Op is what the checks run: "monitor" or "status" (auto until the
	// first check has shown which the script knows).
	Op       string `json:"op"`
	Interval string `json:"interval"`
	Timeout  string `json:"timeout"`
	Restarts int    `json:"restarts_allowed"`
	Window   string `json:"window"`
	// FailCount is the failures within the window since the group was
	// last started here; Failures all of them since hbd started.
	FailCount     int        `json:"fail_count"`
	Failures      int        `json:"failures_total"`
	LocalRestarts int        `json:"local_restarts"`
	Checks        int        `json:"checks"`
	LastCheck     *time.Time `json:"last_check,omitempty"`
	LastFailure   *time.Time `json:"last_failure,omitempty"`
	// LastFailureReason says how the last failed check ended.
	LastFailureReason string     `json:"last_failure_reason,omitempty"`
	NextCheck         *time.Time `json:"next_check,omitempty"`
}

// Set watches the groups this node holds. Its methods are safe for
// concurrent use.
type Set struct {
	opts Options
	log  logrus.FieldLogger

	mu      sync.Mutex
	runner  *harc.Runner            // runs checks and restarts (SetRunner)
	watches map[string]*watch       // group key → its running watch
	res     map[string]*resourceRec // group key + "\x00" + spec → history
	closed  bool
}

// watch is one held group being watched by one goroutine.
type watch struct {
	group  config.Group
	cancel context.CancelFunc
	done   chan struct{}
}

// resourceRec is a monitored resource's history and current state.
type resourceRec struct {
	owner       *watch // the watch that may change it; nil when released
	mon         config.Monitor
	op          config.MonitorOp // auto becomes monitor or status after the first answer
	state       string
	failures    []time.Time // within the window, since the last Hold
	total       int
	restarts    int
	checks      int
	lastCheck   time.Time
	lastFailure time.Time
	lastReason  string
	next        time.Time
}

// New returns a Set watching nothing.
func New(o Options) *Set {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PID == 0 {
		o.PID = os.Getpid()
	}
	var lg logrus.FieldLogger
	if o.Log != nil {
		lg = logging.WithTag(o.Log, "monitor", o.PID)
	} else {
		l := logrus.New()
		l.SetOutput(discard{})
		lg = l
	}
	return &Set{opts: o, log: lg, runner: o.Runner, watches: map[string]*watch{}, res: map[string]*resourceRec{}}
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

func recKey(group, spec string) string { return group + "\x00" + spec }

// Hold starts watching group g with its monitor lines (those of
// config.Config.GroupMonitors; none: nothing to do). Call it when a start
// of the group has succeeded here. A watch of the same key still running
// is released first. The first checks come one interval after Hold.
func (s *Set) Hold(g config.Group, mons []config.Monitor) {
	s.HoldWith(context.Background(), g, mons)
}

// HoldWith is Hold with the values of parent (not its end) for every
// check and restart: a group held under a fencing token restarts its
// resources with HA_FENCING_TOKEN (harc.WithFencingToken).
func (s *Set) HoldWith(parent context.Context, g config.Group, mons []config.Monitor) {
	key := g.Key()
	prev := s.Release(key)
	if len(mons) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	now := s.opts.Now()
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	w := &watch{group: g, cancel: cancel, done: make(chan struct{})}
	var watched []string
	for _, m := range mons {
		if m.Index < 0 || m.Index >= len(g.Resources) || g.Resources[m.Index].Spec != m.Resource {
			s.log.Errorf("monitor of %s: not resource %d of group %s; not watched", m.Resource, m.Index, key)
			continue
		}
		r := s.res[recKey(key, m.Resource)]
		if r == nil {
			r = &resourceRec{op: m.Op}
			s.res[recKey(key, m.Resource)] = r
		}
		if r.mon != m {
			r.op = m.Op // the settings changed: find out the operation again
		}
		r.owner = w
		r.mon = m
		r.state = StateWatching
		r.failures = nil
		r.next = now.Add(m.Interval)
		watched = append(watched, fmt.Sprintf("%s every %s", m.Resource, m.Interval))
	}
	if len(watched) == 0 {
		cancel()
		return
	}
	s.watches[key] = w
	s.log.Infof("Monitoring resource group %s: %s", key, strings.Join(watched, ", "))
	go func() {
		defer close(w.done)
		prev()
		s.loop(ctx, w)
	}()
}

// Release stops watching a group: a check or restart under way is
// cancelled (its script's process group killed; a half-done restart is
// rolled back by harc). It does not block; the function it returns waits
// until nothing of the watch runs any more. Call it before any start,
// stop or probe of the group, and wait before running it.
func (s *Set) Release(key string) (wait func()) {
	s.mu.Lock()
	w := s.watches[key]
	delete(s.watches, key)
	if w != nil {
		for _, r := range s.res {
			if r.owner == w {
				r.owner = nil
				if r.state != StateFailed {
					r.state = StateIdle
				}
				r.next = time.Time{}
			}
		}
	}
	s.mu.Unlock()
	if w == nil {
		return func() {}
	}
	w.cancel()
	s.log.Debugf("Monitoring of resource group %s stopped", key)
	return func() { <-w.done }
}

// SetRunner makes r run every check and restart from now on (a reload
// built a runner for the new configuration); one under way finishes with
// the runner it began with.
func (s *Set) SetRunner(r *harc.Runner) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runner = r
}

// Close releases every group and waits for their goroutines.
func (s *Set) Close() {
	s.mu.Lock()
	s.closed = true
	var keys []string
	for k := range s.watches {
		keys = append(keys, k)
	}
	s.mu.Unlock()
	for _, k := range keys {
		s.Release(k)()
	}
}

// Status returns one entry per monitor line of mons (the configuration's),
// with what is known of it here, in the order given.
func (s *Set) Status(mons []config.Monitor) []ResourceStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ResourceStatus, 0, len(mons))
	for _, m := range mons {
		st := ResourceStatus{Group: m.Group, Resource: m.Resource, State: StateIdle, Op: string(m.Op),
			Interval: m.Interval.String(), Timeout: m.Timeout.String(), Restarts: m.Restarts, Window: m.Window.String()}
		if r := s.res[recKey(m.Group, m.Resource)]; r != nil {
			st.State = r.state
			if r.mon == m {
				st.Op = string(r.op)
			}
			st.FailCount, st.Failures, st.LocalRestarts, st.Checks = len(r.failures), r.total, r.restarts, r.checks
			st.LastCheck, st.LastFailure, st.NextCheck = timePtr(r.lastCheck), timePtr(r.lastFailure), timePtr(r.next)
			st.LastFailureReason = r.lastReason
		}
		out = append(out, st)
	}
	return out
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// loop checks a held group's resources until ctx ends or it gives up.
func (s *Set) loop(ctx context.Context, w *watch) {
	for {
		r, due := s.nextDue(w)
		if r == nil {
			return
		}
		t := time.NewTimer(max(due.Sub(s.opts.Now()), 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		ok, why := s.check(ctx, w, r)
		if ctx.Err() != nil {
			return
		}
		if ok {
			continue
		}
		if !s.failed(ctx, w, r, why) {
			return
		}
	}
}

// nextDue picks the watch's resource whose check is due first.
func (s *Set) nextDue(w *watch) (*resourceRec, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *resourceRec
	for _, r := range s.res {
		if r.owner != w || r.state != StateWatching {
			continue
		}
		if best == nil || r.next.Before(best.next) || r.next.Equal(best.next) && r.mon.Index < best.mon.Index {
			best = r
		}
	}
	if best == nil {
		return nil, time.Time{}
	}
	return best, best.next
}

var (
	notRunningRE  = regexp.MustCompile(`(?is)not .*running`)
	stateWordRE   = regexp.MustCompile(`(?i)running|stopped|\bOK\b`)
	stoppedRE     = regexp.MustCompile(`(?i)\bstopped\b`)
	runningRE     = regexp.MustCompile(`[Rr]unning|\bOK\b`)
	unsupportedRE = regexp.MustCompile(`(?i)usage|unknown (operation|action|command)|unimplemented|not implemented|invalid (operation|action|argument)`)
)

// check runs one check of r and says whether the resource is healthy,
// and why not.
func (s *Set) check(ctx context.Context, w *watch, r *resourceRec) (bool, string) {
	s.mu.Lock()
	if r.owner != w {
		s.mu.Unlock()
		return true, ""
	}
	r.state = StateChecking
	m, op, rn := r.mon, r.op, s.runner
	s.mu.Unlock()
	res := w.group.Resources[m.Index]
	ctx = harc.WithGroup(ctx, w.group.Key())

	var ok bool
	var why string
	if op != config.MonitorStatus {
		out := rn.RunResource(ctx, res, "monitor", m.Timeout)
		switch {
		case ctx.Err() != nil:
			return true, ""
		case op == config.MonitorAuto && unsupported(out):
			s.log.Infof("%s does not know the monitor operation (%s%s); checking it with status from now on",
				res.Spec, out.Describe(), quoted(out))
			op = config.MonitorStatus
		default:
			ok, why = readMonitor(out)
			if op == config.MonitorAuto {
				op = config.MonitorMonitor
			}
		}
	}
	if op == config.MonitorStatus {
		out := rn.RunResource(ctx, res, harc.OpStatus, m.Timeout)
		if ctx.Err() != nil {
			return true, ""
		}
		ok, why = harc.ReadStatus(rn.Options().StatusRule, out)
		if !ok {
			why = fmt.Sprintf("status %s; %s%s", out.Describe(), why, quoted(out))
		}
	}
	now := s.opts.Now()
	s.mu.Lock()
	if r.owner != w {
		s.mu.Unlock()
		return true, ""
	}
	r.op = op
	r.checks++
	r.lastCheck = now
	r.state = StateWatching
	r.next = now.Add(m.Interval)
	s.mu.Unlock()
	if ok {
		s.log.Debugf("%s %s: OK (%s)", res.Spec, op, why)
	}
	return ok, why
}

// unsupported says a monitor run looks like a script that does not know
// the operation: it ran, failed, says nothing of the resource's state,
// and either prints its usage or exits 2 or 3 (LSB's invalid argument
// and unimplemented feature, OCF's OCF_ERR_ARGS and OCF_ERR_UNIMPLEMENTED).
func unsupported(out harc.Result) bool {
	if out.Err != nil || out.TimedOut || out.Canceled || out.Signal != 0 || out.ExitCode == 0 {
		return false
	}
	if stateWordRE.MatchString(out.Stdout) {
		return false
	}
	return out.ExitCode == 2 || out.ExitCode == 3 || unsupportedRE.MatchString(out.Output)
}

// readMonitor reads a monitor run: healthy when it exits 0 and its output
// does not say the resource is not running or stopped.
func readMonitor(out harc.Result) (bool, string) {
	switch {
	case !out.OK():
		return false, "monitor " + out.Describe() + quoted(out)
	case notRunningRE.MatchString(out.Stdout):
		return false, `monitor output says "not ... running"`
	case stoppedRE.MatchString(out.Stdout) && !runningRE.MatchString(out.Stdout):
		return false, `monitor output says "stopped"`
	}
	return true, "monitor exit code 0"
}

func quoted(out harc.Result) string {
	lines := out.LastLines(3)
	if len(lines) == 0 {
		return ""
	}
	q := make([]string, len(lines))
	for i, l := range lines {
		q[i] = fmt.Sprintf("%q", l)
	}
	return ": " + strings.Join(q, " | ")
}

// failed handles a failed check of r: count it, then restart locally or
// give the group up. It reports whether the watch goes on.
func (s *Set) failed(ctx context.Context, w *watch, r *resourceRec, why string) bool {
	key := w.group.Key()
	now := s.opts.Now()
	s.mu.Lock()
	if r.owner != w {
		s.mu.Unlock()
		return false
	}
	m := r.mon
	kept := r.failures[:0]
	for _, t := range r.failures {
		if now.Sub(t) < m.Window {
			kept = append(kept, t)
		}
	}
	r.failures = append(kept, now)
	r.total++
	r.lastFailure, r.lastReason = now, why
	n := len(r.failures)
	rn := s.runner
	s.mu.Unlock()

	s.log.Warnf("Monitor of %s (group %s) failed: %s (failure %d within %s; %d local restart(s) allowed)",
		m.Resource, key, why, n, m.Window, m.Restarts)
	if n > m.Restarts {
		detail := fmt.Sprintf("%s failed %d time(s) within %s, more than restarts=%d: %s", m.Resource, n, m.Window, m.Restarts, why)
		s.giveUp(ctx, w, r, detail)
		return false
	}

	s.setState(w, m.Index, StateRestarting)
	rest := w.group.Resources[m.Index:]
	specs := make([]string, len(rest))
	for i, res := range rest {
		specs[i] = res.Spec
	}
	s.log.Infof("Restarting %s here (restart %d of %d within %s): stopping then starting %s", m.Resource, n, m.Restarts, m.Window, strings.Join(specs, " "))
	sub := config.Group{Preferred: w.group.Preferred, Resources: rest, Pos: w.group.Pos}
	if err := rn.Stop(ctx, sub); err != nil {
		if ctx.Err() != nil {
			return false
		}
		s.giveUp(ctx, w, r, fmt.Sprintf("restart of %s: the stop failed: %v", m.Resource, err))
		return false
	}
	if err := rn.Start(ctx, sub); err != nil {
		if ctx.Err() != nil {
			return false
		}
		s.giveUp(ctx, w, r, fmt.Sprintf("restart of %s: the start failed: %v", m.Resource, err))
		return false
	}
	now = s.opts.Now()
	s.mu.Lock()
	r.restarts++
	for _, o := range s.res {
		if o.owner == w && o.mon.Index >= m.Index {
			o.state = StateWatching
			o.next = now.Add(o.mon.Interval)
		}
	}
	s.mu.Unlock()
	s.log.Infof("Restarted %s here; monitoring resource group %s again", strings.Join(specs, " "), key)
	return true
}

// setState sets the state of the watch's resources from index on.
func (s *Set) setState(w *watch, from int, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.res {
		if o.owner == w && o.mon.Index >= from {
			o.state = state
			o.next = time.Time{}
		}
	}
}

// giveUp ends the watch's checks and reports the group failed. The watch
// stays registered until released, so that Release (and Close) can end
// a Failed call that waits.
func (s *Set) giveUp(ctx context.Context, w *watch, r *resourceRec, detail string) {
	key := w.group.Key()
	s.mu.Lock()
	for _, o := range s.res {
		if o.owner == w {
			o.state, o.next = StateIdle, time.Time{}
		}
	}
	r.state = StateFailed
	s.mu.Unlock()
	logging.Critf(s.log, "Resource group %s failed here: %s; releasing it so that another node can take it", key, detail)
	if s.opts.Failed != nil {
		s.opts.Failed(ctx, Failure{Group: key, Resource: r.mon.Resource, At: s.opts.Now(), Detail: detail})
	}
}
