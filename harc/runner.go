package harc

import (
	"context"
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
	// ended counts, per group, the starts and stops that have ended
	// (under mu): statuses read ahead while one ran serve no later start.
	ended map[string]uint64

	// The statuses read ahead (prefetch.go), under pmu: per group, the
	// one Prepare began, until a start or stop of the group; changes
	// counts the operations that may have changed any resource
	// (RunResource of anything but status or monitor).
	pmu        sync.Mutex
	prefetches map[string]*prefetch
	changes    uint64
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
	if o.PrefetchMaxAge <= 0 {
		o.PrefetchMaxAge = DefaultPrefetchMaxAge
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
		opts:       o,
		log:        logging.WithTag(o.Log, "ResourceManager", o.PID),
		harc:       logging.WithTag(o.Log, "harc", o.PID),
		locks:      make(map[string]chan struct{}),
		ended:      make(map[string]uint64),
		prefetches: make(map[string]*prefetch),
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
		return func() {
			r.mu.Lock()
			r.ended[key]++
			r.mu.Unlock()
			<-ch
		}, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("group %s is busy with another operation: %w", key, context.Cause(ctx))
	}
}

// script is how one resource operation is run.
type script struct {
	path string   // executable
	args []string // after path, op last
	show string   // what "Running ..." prints: config.Script.String()
	spec string   // the resource as configured
	tag  string   // log tag of its output
	// inproc, when set, runs the built-in agent in this process.
	inproc *inProcess
}

// scriptOf is what runs res: the script config.Load resolved, or for a
// resource built by hand the one Lookup finds now.
func (r *Runner) scriptOf(res config.Resource) (config.Script, error) {
	if res.Script.Kind != config.ScriptNone {
		return res.Script, nil
	}
	return r.opts.Lookup.Resolve(r.opts.ConfigDir, res.Name)
}

// resolve finds the executable of a resource.
func (r *Runner) resolve(res config.Resource, op string) (script, error) {
	s := script{tag: res.Name, spec: res.Spec}
	sc, err := r.scriptOf(res)
	if err != nil {
		return s, err
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
		if a, ok := r.opts.Lookup.Agents.Lookup(sc.Name); ok && sc.Kind == config.ScriptBuiltin && r.opts.InProcess && a.Run != nil {
			s.inproc = &inProcess{run: a.Run, name: sc.Name, args: append(append([]string{}, res.Args...), op)}
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
	if op != OpStatus && op != "monitor" {
		// Counted as it begins and as it ends: statuses read ahead
		// while it ran do not serve a start either.
		r.changed()
		defer r.changed()
	}
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
	c := Command{
		Path:        s.path,
		Args:        s.args,
		Env:         r.opts.baseEnv(fencingEnv(ctx)...),
		Timeout:     timeout,
		KillGrace:   r.opts.KillGrace,
		OutputLimit: r.opts.OutputLimit,
		Log:         r.opts.Log,
		Tag:         s.tag,
	}
	if rs := r.opts.Records; rs != nil {
		info := ScriptInfo{Group: groupOf(ctx), Resource: s.spec, Path: s.path}
		if len(s.args) > 0 {
			info.Op = s.args[len(s.args)-1]
		}
		c.Track = func(pid int) func() { return rs.Track(pid, info) }
	}
	return c.Run(ctx)
}

type groupKey struct{}

// WithGroup says, for the script records (Records), which group the
// scripts run under ctx are for. Start, Stop, Status and Prepare say it
// themselves; a caller of RunResource for a group's resource (a
// re-announce's start, a monitor's check) says it with WithGroup, or the
// record and the next daemon's log name no group.
func WithGroup(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, groupKey{}, key)
}

func groupOf(ctx context.Context) string {
	k, _ := ctx.Value(groupKey{}).(string)
	return k
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
	logf := r.log.Errorf
	if out.Canceled && stopping(ctx) {
		logf = r.log.Infof // cut short in order (ErrStopping): no fault
	}
	switch {
	case out.TimedOut, out.Canceled, out.Signal != 0, out.Err != nil:
		logf("%s %s %s: %s", s.show, argText, op, out.Describe())
	default:
		logf("Return code %d from %s", out.ExitCode, s.show)
	}
	if lines := out.LastLines(lastLinesShown); len(lines) > 0 {
		logf("Last output of %s %s %s: %s", s.show, argText, op, quoteLines(lines))
	}
	return out
}

// ms is d in milliseconds, for the debug lines that time each phase.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
