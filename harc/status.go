package harc

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
)

// StatusRule chooses how the result of `SCRIPT ARGS status` is read.
type StatusRule int

const (
	// StatusHeartbeat is Heartbeat's legacy rule and hbd's default. Only
	// stdout counts, the exit code does not:
	//
	//   - "not", a space, anything, "running" (any case) → stopped;
	//   - else "running" or "Running" or "OK" anywhere → running;
	//   - else → stopped (silence included, whatever the exit code).
	//
	// So a status that prints nothing and exits 0 means stopped (and the
	// start runs), exactly as in Heartbeat; an LSB script printing
	// "nginx is running" with exit code 0 means running.
	StatusHeartbeat StatusRule = iota

	// StatusLSB trusts LSB exit codes where they are unambiguous: 0 →
	// running; 1, 2, 3 (dead with a pid file, dead with a lock file,
	// stopped) → stopped. Any other code, or no exit code at all (timed
	// out, could not run), falls back to the output rule above. Choose it
	// only when every script of the cluster is LSB-compliant: many old
	// scripts exit 0 from status whatever they print.
	StatusLSB
)

func (s StatusRule) String() string {
	if s == StatusLSB {
		return "lsb"
	}
	return "heartbeat"
}

var (
	notRunningRE = regexp.MustCompile(`(?is)not .*running`)
	runningRE    = regexp.MustCompile(`[Rr]unning|OK`)
	stoppedRE    = regexp.MustCompile(`(?i)\bstopped\b`)
)

// ReadStatus decides whether a status run says the resource is running,
// under rule, and says why in words for the log.
func ReadStatus(rule StatusRule, r Result) (running bool, reason string) {
	if rule == StatusLSB && r.Err == nil && !r.TimedOut && !r.Canceled {
		switch r.ExitCode {
		case 0:
			return true, "status exit code 0 (LSB: running)"
		case 1, 2, 3:
			return false, fmt.Sprintf("status exit code %d (LSB: not running)", r.ExitCode)
		}
	}
	return readOutput(r)
}

// readOutput is Heartbeat's rule on stdout.
func readOutput(r Result) (bool, string) {
	switch {
	case r.Err != nil:
		return false, "status could not run: " + r.Err.Error()
	case r.TimedOut:
		return false, "status " + r.Describe()
	case r.Canceled:
		return false, "status cancelled"
	case notRunningRE.MatchString(r.Stdout):
		return false, `status output says "not ... running"`
	case runningRE.MatchString(r.Stdout):
		return true, fmt.Sprintf("status output says %q", runningRE.FindString(r.Stdout))
	default:
		return false, `status output says neither "running" nor "OK"`
	}
}

// stoppedForSure is the stricter reading harc uses after a stop failed,
// where a wrong "stopped" would let another node start the group while
// this one still runs it. It says stopped only when the status finished
// and its output says "not ... running", or says "stopped" and not
// "running" or "OK", or says none of these and its exit code is not 0.
// Everything else (running, silent with exit code 0, timed out, could not
// run) is "may still run".
func stoppedForSure(r Result) (bool, string) {
	switch {
	case r.Err != nil, r.TimedOut, r.Canceled:
		_, why := readOutput(r)
		return false, why
	case notRunningRE.MatchString(r.Stdout):
		return true, `status output says "not ... running"`
	case runningRE.MatchString(r.Stdout):
		return false, fmt.Sprintf("status output says %q", runningRE.FindString(r.Stdout))
	case stoppedRE.MatchString(r.Stdout):
		return true, `status output says "stopped"`
	case r.ExitCode == 0:
		return false, `status output says neither "running" nor "OK" but its exit code is 0`
	default:
		return true, fmt.Sprintf(`status output says neither "running" nor "OK" and its exit code is %d`, r.ExitCode)
	}
}

// resourceStatus runs status, reads it under the runner's rule and logs
// what it says.
func (r *Runner) resourceStatus(ctx context.Context, res config.Resource) ResourceStatus {
	st := r.runStatus(ctx, res)
	r.logStatus(ctx, st)
	return st
}

// runStatus runs status and reads it under the runner's rule.
func (r *Runner) runStatus(ctx context.Context, res config.Resource) ResourceStatus {
	out := r.RunResource(ctx, res, OpStatus, 0)
	running, why := ReadStatus(r.opts.StatusRule, out)
	return ResourceStatus{Resource: res.Spec, Running: running, Reason: why, Result: out, done: time.Now()}
}

// logStatus logs what a status said, how long it took, and under
// WithDecision how long after the decision it was read.
func (r *Runner) logStatus(ctx context.Context, st ResourceStatus) {
	r.log.Debugf("Status of %s: %s (%s; %.1f ms%s)", st.Resource, runningWord(st.Running), st.Reason,
		ms(st.Result.Duration), sinceDecision(ctx, st.done))
}

func runningWord(running bool) string {
	if running {
		return "running"
	}
	return "stopped"
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

	done time.Time // when it was read
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
	ctx = WithGroup(ctx, g.Key())
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
