package harc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/logging"
	"github.com/hbdproject/hbd/hbd/paths"
)

// The operations of a resource script.
const (
	OpStart  = "start"
	OpStop   = "stop"
	OpStatus = "status"
)

// Defaults of Options.
const (
	// DefaultStopRetries is Heartbeat's HA_STOPRETRYMAX: a failed stop is
	// run again up to 10 times, so 11 runs in all.
	DefaultStopRetries = 10
	// DefaultStopRetryInterval is Heartbeat's pause between stop runs.
	DefaultStopRetryInterval = time.Second
	// DefaultEventTimeout bounds one rc.d hook.
	DefaultEventTimeout = 60 * time.Second
	// DefaultRebootTimeout bounds the reboot command of StopFailureReboot.
	DefaultRebootTimeout = 30 * time.Second
)

// DefaultRebootCommand is what StopFailureReboot runs, as Heartbeat does:
// an immediate reboot without syncing or stopping services.
var DefaultRebootCommand = []string{"/sbin/reboot", "-nf"}

// StopFailurePolicy is what harc does when a resource will not stop: every
// stop run failed (StopRetries+1 of them) and its status does not say for
// sure that it stopped (see Runner.Stop).
type StopFailurePolicy int

const (
	// StopFailureBlock (the default, ha.cf `on_stop_failure block`): log
	// at CRIT which script failed, its exit code and last output lines,
	// leave the resources to its left running, and return a *StopError
	// (ErrStopFailed). The group stays held by this node, failed, until an
	// operator stops it by hand (`hbd harc givegroup KEY` once fixed); no
	// other node is allowed to start it meanwhile.
	StopFailureBlock StopFailurePolicy = iota

	// StopFailureReboot (`on_stop_failure reboot`) is Heartbeat's
	// behaviour: the same CRIT lines, then "Resource STOP failure. Reboot
	// required!" and Options.RebootCommand (/sbin/reboot -nf by default).
	// A rebooted node no longer runs the group, and its peer, seeing it
	// dead, takes the group over. The *StopError is returned all the same
	// (the reboot may fail, or take a while).
	StopFailureReboot
)

func (p StopFailurePolicy) String() string {
	switch p {
	case StopFailureBlock:
		return "block"
	case StopFailureReboot:
		return "reboot"
	default:
		return fmt.Sprintf("StopFailurePolicy(%d)", int(p))
	}
}

// ParseStopFailurePolicy reads a policy name: "block" or "reboot".
func ParseStopFailurePolicy(s string) (StopFailurePolicy, error) {
	switch strings.ToLower(s) {
	case "block":
		return StopFailureBlock, nil
	case "reboot":
		return StopFailureReboot, nil
	}
	return 0, fmt.Errorf("unknown stop failure policy %q (block or reboot)", s)
}

// Options configure a Runner. Zero values mean the defaults.
type Options struct {
	ConfigDir string             // /etc/ha.d: resource.d/ and rc.d/ live here
	Node      string             // this node (HA_CURHOST); default uname -n
	Log       logrus.FieldLogger // nil: nothing is logged

	// Timeout bounds every script operation (ha.cf resource_timeout);
	// default DefaultTimeout. RunResource can override it per call.
	Timeout time.Duration
	// KillGrace is the time between SIGTERM and SIGKILL to the process
	// group of a script that overran; default DefaultKillGrace.
	KillGrace time.Duration
	// OutputLimit is how many bytes of a script's output a Result keeps;
	// default DefaultOutputLimit.
	OutputLimit int

	// StopRetries is how many times a failed stop is run again (0 means
	// DefaultStopRetries, a negative number means none), and
	// StopRetryInterval the pause before each retry.
	StopRetries       int
	StopRetryInterval time.Duration
	// OnStopFailure is the policy for a stop that failed for good.
	OnStopFailure StopFailurePolicy
	// RebootCommand is run by StopFailureReboot (DefaultRebootCommand if
	// empty), bounded by DefaultRebootTimeout.
	RebootCommand []string

	// StatusRule says how status output is read (StatusHeartbeat).
	StatusRule StatusRule

	// EventTimeout bounds one rc.d hook; default DefaultEventTimeout.
	EventTimeout time.Duration

	// Lookup resolves a resource whose Script is unresolved (a Group built by
	// hand rather than by config.Load).
	Lookup config.Lookup
	// BuiltinCommand runs agents compiled into hbd (a Script of kind
	// config.ScriptBuiltin or config.ScriptOCF): the command is
	// BuiltinCommand + Script.AgentArg() + ARGS + OP. Empty: such
	// resources fail with an error that says so.
	BuiltinCommand []string
	// InProcess runs the built-in agents that offer it (agents.Agent.Run:
	// the IP address agents) in this process instead of through
	// BuiltinCommand: no fork and exec between a handover's release and
	// the address on its new node. Bounded by the same timeouts.
	InProcess bool

	// For the scripts' environment (see Runner.Environ): ha.cf logfile,
	// debugfile, logfacility, debug, use_logd; NiceFailback is true unless
	// auto_failback is legacy. RscTmp is HA_RSCTMP (paths.RscTmp),
	// StateDir HA_VARLIB (paths.StateDir). Env adds or overrides
	// variables.
	Logfile, Debugfile, LogFacility string
	Debug                           int
	UseLogd                         bool
	NiceFailback                    bool
	RscTmp                          string
	StateDir                        string
	Env                             map[string]string

	// PID is the pid shown in the ResourceManager[PID] and harc[PID] log
	// tags; default os.Getpid().
	PID int
}

// FromConfig returns the Options a validated configuration implies: its
// directory, node, resource timeout and logging settings. Log is left to
// the caller, as are the policies hbd's ha.cf does not set yet.
func FromConfig(c *config.Config) Options {
	return Options{
		ConfigDir:    c.Dir,
		Node:         c.ThisNode,
		Timeout:      c.ResourceTimeout,
		Logfile:      c.Logfile,
		Debugfile:    c.Debugfile,
		LogFacility:  c.LogFacility,
		Debug:        c.Debug,
		UseLogd:      c.UseLogd,
		NiceFailback: c.AutoFailback != config.FailbackLegacy,
	}
}

// Runner runs resource groups and rc.d hooks for one node. It is safe for
// concurrent use: operations on different groups run in parallel, Start
// and Stop of the same group (by key) run one at a time, in call order
// as far as the lock allows. Every method returns within its ctx and the
// timeouts of Options; none blocks forever.
type Runner struct {
	opts Options
	log  logrus.FieldLogger // ResourceManager[PID]
	harc logrus.FieldLogger // harc[PID]

	mu    sync.Mutex
	locks map[string]chan struct{}
}

// New returns a Runner with o's defaults filled in.
func New(o Options) (*Runner, error) {
	if o.ConfigDir == "" {
		o.ConfigDir = paths.ConfigDir
	}
	if o.Node == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("harc: no node name given and uname -n failed: %w", err)
		}
		o.Node = strings.ToLower(h)
	}
	if o.Log == nil {
		o.Log = &logrus.Logger{Out: io.Discard, Formatter: new(logrus.TextFormatter), Hooks: make(logrus.LevelHooks), Level: logrus.PanicLevel}
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.KillGrace <= 0 {
		o.KillGrace = DefaultKillGrace
	}
	if o.OutputLimit <= 0 {
		o.OutputLimit = DefaultOutputLimit
	}
	switch {
	case o.StopRetries == 0:
		o.StopRetries = DefaultStopRetries
	case o.StopRetries < 0:
		o.StopRetries = 0
	}
	if o.StopRetryInterval <= 0 {
		o.StopRetryInterval = DefaultStopRetryInterval
	}
	switch o.OnStopFailure {
	case StopFailureBlock, StopFailureReboot:
	default:
		return nil, fmt.Errorf("harc: %v is not a stop failure policy", o.OnStopFailure)
	}
	if len(o.RebootCommand) == 0 {
		o.RebootCommand = DefaultRebootCommand
	}
	switch o.StatusRule {
	case StatusHeartbeat, StatusLSB:
	default:
		return nil, fmt.Errorf("harc: unknown status rule %d", int(o.StatusRule))
	}
	if o.EventTimeout <= 0 {
		o.EventTimeout = DefaultEventTimeout
	}
	if o.RscTmp == "" {
		o.RscTmp = paths.RscTmp
	}
	if o.StateDir == "" {
		o.StateDir = paths.StateDir
	}
	if o.PID == 0 {
		o.PID = os.Getpid()
	}
	return &Runner{
		opts:  o,
		log:   logging.WithTag(o.Log, "ResourceManager", o.PID),
		harc:  logging.WithTag(o.Log, "harc", o.PID),
		locks: make(map[string]chan struct{}),
	}, nil
}

// Options returns the options in force, defaults filled in.
func (r *Runner) Options() Options { return r.opts }

// lock takes the group's lock, or gives up when ctx ends.
func (r *Runner) lock(ctx context.Context, key string) (func(), error) {
	r.mu.Lock()
	ch, ok := r.locks[key]
	if !ok {
		ch = make(chan struct{}, 1)
		r.locks[key] = ch
	}
	r.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("group %s is busy with another operation: %w", key, context.Cause(ctx))
	}
}

// script is how one resource operation is run.
type script struct {
	path string   // executable
	args []string // after path, op last
	show string   // what "Running ..." prints: config.Script.String()
	tag  string   // log tag of its output
	// inproc, when set, runs the built-in agent in this process.
	inproc *inProcess
	// converges: a built-in agent whose start needs no status check
	// before it (agents.Agent.Converges).
	converges bool
}

// resolve finds the executable of a resource.
func (r *Runner) resolve(res config.Resource, op string) (script, error) {
	s := script{tag: res.Name}
	sc := res.Script
	if sc.Kind == config.ScriptNone {
		var err error
		if sc, err = r.opts.Lookup.Resolve(r.opts.ConfigDir, res.Name); err != nil {
			return s, err
		}
	}
	s.show = sc.String()
	if f := sc.File(); f != "" {
		// Scripts run as root: refuse one someone else could have changed
		// since the configuration was loaded (config.CheckTrusted).
		if err := config.CheckTrusted(f); err != nil {
			return s, fmt.Errorf("resource %s: not run: %w", res.Spec, err)
		}
	}
	if sc.Builtin() {
		if len(r.opts.BuiltinCommand) == 0 {
			return s, fmt.Errorf("resource %s needs hbd's built-in agent %s, which this runner cannot start (no BuiltinCommand)", res.Spec, sc.AgentArg())
		}
		s.path = r.opts.BuiltinCommand[0]
		s.args = append(append([]string{}, r.opts.BuiltinCommand[1:]...), sc.AgentArg())
		if a, ok := r.opts.Lookup.Agents.Lookup(sc.Name); ok && sc.Kind == config.ScriptBuiltin {
			s.converges = a.Converges
			if r.opts.InProcess && a.Run != nil {
				s.inproc = &inProcess{run: a.Run, name: sc.Name, args: append(append([]string{}, res.Args...), op)}
			}
		}
	} else {
		s.path = sc.Path
	}
	s.args = append(append(s.args, res.Args...), op)
	return s, nil
}

// RunResource runs one operation (OpStart, OpStop, OpStatus, or any other
// the script knows, such as "monitor") of a resource: `SCRIPT ARGS OP`,
// with Options.Timeout unless timeout > 0. It logs nothing but the
// script's output (at debug level); Start and Stop add Heartbeat's lines.
func (r *Runner) RunResource(ctx context.Context, res config.Resource, op string, timeout time.Duration) Result {
	s, err := r.resolve(res, op)
	if err != nil {
		return Result{Path: res.Name, Args: append(append([]string{}, res.Args...), op), ExitCode: -1, Err: err}
	}
	return r.run(ctx, s, timeout)
}

func (r *Runner) run(ctx context.Context, s script, timeout time.Duration) Result {
	if timeout <= 0 {
		timeout = r.opts.Timeout
	}
	if s.inproc != nil {
		return r.runInProcess(ctx, s, timeout)
	}
	return Command{
		Path:        s.path,
		Args:        s.args,
		Env:         r.opts.baseEnv(fencingEnv(ctx)...),
		Timeout:     timeout,
		KillGrace:   r.opts.KillGrace,
		OutputLimit: r.opts.OutputLimit,
		Log:         r.opts.Log,
		Tag:         s.tag,
	}.Run(ctx)
}

// doScript runs a start or stop the way ResourceManager's doscript does,
// with its log lines: "Running PATH ARGS OP", "... done. RC=N" (debug),
// "Return code N from PATH" on failure, plus hbd's line quoting the last
// output lines.
func (r *Runner) doScript(ctx context.Context, res config.Resource, op string) Result {
	s, err := r.resolve(res, op)
	if err != nil {
		r.log.Errorf("Cannot locate resource script %s: %v", res.Name, err)
		return Result{Path: res.Name, Args: append(append([]string{}, res.Args...), op), ExitCode: -1, Err: err}
	}
	argText := strings.Join(res.Args, " ")
	r.log.Infof("Running %s %s %s", s.show, argText, op)
	out := r.run(ctx, s, 0)
	if out.Err == nil && !out.TimedOut && !out.Canceled && out.Signal == 0 {
		r.log.Debugf("%s %s %s done. RC=%d (%.1f ms%s)", s.show, argText, op, out.ExitCode, ms(out.Duration), sinceDecision(ctx, time.Now()))
	}
	if out.OK() {
		return out
	}
	switch {
	case out.TimedOut, out.Canceled, out.Signal != 0, out.Err != nil:
		r.log.Errorf("%s %s %s: %s", s.show, argText, op, out.Describe())
	default:
		r.log.Errorf("Return code %d from %s", out.ExitCode, s.show)
	}
	if lines := out.LastLines(lastLinesShown); len(lines) > 0 {
		r.log.Errorf("Last output of %s %s %s: %s", s.show, argText, op, quoteLines(lines))
	}
	return out
}

// resourceStatus runs status and reads it under the runner's rule.
func (r *Runner) resourceStatus(ctx context.Context, res config.Resource) ResourceStatus {
	out := r.RunResource(ctx, res, OpStatus, 0)
	running, why := ReadStatus(r.opts.StatusRule, out)
	r.log.Debugf("Status of %s: %s (%s)", res.Spec, runningWord(running), why)
	return ResourceStatus{Resource: res.Spec, Running: running, Reason: why, Result: out}
}

func runningWord(running bool) string {
	if running {
		return "running"
	}
	return "stopped"
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

// Start acquires a group as Heartbeat's ResourceManager takegroup does:
// "Acquiring resource group: NODE RES...", then, left to right, each
// resource's status, and its start unless the status says it already runs
// (Heartbeat's rule: what runs is not started twice). A built-in agent
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
func (r *Runner) Start(ctx context.Context, g config.Group) error {
	key := g.Key()
	unlock, err := r.lock(ctx, key)
	if err != nil {
		return err
	}
	defer unlock()
	r.log.Infof("Acquiring resource group: %s", groupLine(g))
	for i, res := range g.Resources {
		if !r.converges(res) {
			st := r.resourceStatus(ctx, res)
			if ctx.Err() != nil {
				// Nothing of res was started: roll back what is left of it.
				return r.interruptedStart(ctx, g, res, st.Result, g.Resources[:i])
			}
			if st.Running {
				r.log.Infof("Resource %s is already running (%s); not starting it again", res.Spec, st.Reason)
				continue
			}
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
	return nil
}

// converges reports whether res is run by a built-in agent whose start
// needs no status check before it.
func (r *Runner) converges(res config.Resource) bool {
	s, err := r.resolve(res, OpStart)
	return err == nil && s.converges
}

// interruptedStart rolls back a start that ctx ended.
func (r *Runner) interruptedStart(ctx context.Context, g config.Group, res config.Resource, out Result, started []config.Resource) error {
	r.log.Errorf("Acquisition of resource group %s interrupted at %s (%v); releasing what was started", g.Key(), res.Spec, context.Cause(ctx))
	se := &StartError{Group: g.Key(), Node: r.opts.Node, Resource: res.Spec, Result: out}
	if len(started) > 0 {
		se.Rollback = r.stopResources(context.WithoutCancel(ctx), g, started)
	}
	return se
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
	unlock, err := r.lock(ctx, g.Key())
	if err != nil {
		return err
	}
	defer unlock()
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

// GroupState sums up a group's status as ResourceManager statgroup does.
type GroupState int

const (
	GroupNone GroupState = iota // no resource runs (or the group is empty)
	GroupSome                   // some run, some do not
	GroupAll                    // every resource runs
)

func (s GroupState) String() string {
	switch s {
	case GroupAll:
		return "ALL"
	case GroupSome:
		return "SOME"
	default:
		return "NONE"
	}
}

// ResourceStatus is one resource's status.
type ResourceStatus struct {
	Resource string // its spec, as in haresources
	Running  bool
	Reason   string // how the status run was read
	Result   Result // the status run
}

// GroupStatus is the status of every resource of a group.
type GroupStatus struct {
	Key       string
	State     GroupState
	Resources []ResourceStatus
}

// Status runs every resource's status, left to right, under the runner's
// StatusRule. It does not wait for a Start or Stop of the group to finish.
// A status that could not run or timed out counts as stopped (Heartbeat's
// rule) and is also reported in the error; the GroupStatus is complete
// either way.
func (r *Runner) Status(ctx context.Context, g config.Group) (GroupStatus, error) {
	gs := GroupStatus{Key: g.Key()}
	var errs []error
	running := 0
	for _, res := range g.Resources {
		st := r.resourceStatus(ctx, res)
		gs.Resources = append(gs.Resources, st)
		if st.Running {
			running++
		}
		if o := st.Result; o.Err != nil || o.TimedOut || o.Canceled {
			errs = append(errs, fmt.Errorf("status of %s: %s", res.Spec, o.Describe()))
		}
	}
	switch {
	case running == 0:
		gs.State = GroupNone
	case running == len(g.Resources):
		gs.State = GroupAll
	default:
		gs.State = GroupSome
	}
	return gs, errors.Join(errs...)
}

// ms is d in milliseconds, for the debug lines that time each phase.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
