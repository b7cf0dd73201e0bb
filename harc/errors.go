package harc

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// The kinds of group failure. Test with errors.Is; the details are in a
// *StartError or *StopError (errors.As).
var (
	// ErrStartFailed: a resource of the group did not start. harc has
	// stopped what it had started (right to left); unless the error is
	// also ErrStopFailed, nothing of the group runs here any more.
	ErrStartFailed = errors.New("resource group start failed")

	// ErrStopFailed: a resource could not be stopped and may still run
	// here. The group must count as held by this node, failed: no other
	// node may start it until an operator has dealt with it. A Start
	// whose rollback could not stop a resource returns an error that is
	// both ErrStartFailed and ErrStopFailed.
	ErrStopFailed = errors.New("resource group stop failed")
)

// ErrStopping is the cause (context.WithCancelCause) with which a caller
// ends a start because the daemon is stopping in order, not because
// anything failed: harc still kills the script and rolls the group back,
// and Start still returns a *StartError (the group did not start), but
// the script cut short and the rollback are logged as information, not
// as errors.
var ErrStopping = errors.New("hbd is stopping")

// stopping says whether ctx was ended with ErrStopping.
func stopping(ctx context.Context) bool {
	return ctx.Err() != nil && errors.Is(context.Cause(ctx), ErrStopping)
}

// lastLinesShown is how many output lines errors and CRIT lines quote.
const lastLinesShown = 5

// StartError is a group start that failed.
type StartError struct {
	Group    string // the group's key
	Node     string // where it failed (this node)
	Resource string // the resource whose start (or whose script lookup) failed
	Result   Result // that start run
	// Rollback is nil when every resource harc stopped after the failure
	// did stop; otherwise the *StopError of the one that did not.
	Rollback error
}

func (e *StartError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "group %s failed to start on %s: %s: %s %s: %s",
		e.Group, e.Node, e.Resource, e.Result.Path, strings.Join(e.Result.Args, " "), e.Result.Describe())
	writeLastLines(&b, e.Result)
	if e.Rollback != nil {
		fmt.Fprintf(&b, "; and the rollback failed: %v", e.Rollback)
	} else {
		b.WriteString("; what had started was stopped again")
	}
	return b.String()
}

// Is makes errors.Is(err, ErrStartFailed) true.
func (e *StartError) Is(target error) bool { return target == ErrStartFailed }

// Unwrap gives the rollback's error (so errors.Is(err, ErrStopFailed)
// says whether the group is still held) and the run's own error (a
// context error when ctx ended the start).
func (e *StartError) Unwrap() []error {
	var errs []error
	if e.Rollback != nil {
		errs = append(errs, e.Rollback)
	}
	if e.Result.Err != nil {
		errs = append(errs, e.Result.Err)
	}
	return errs
}

// StopError is a resource that could not be stopped and may still run.
type StopError struct {
	Group    string // the group's key
	Node     string // where it still runs (this node)
	Resource string
	Result   Result // the last stop attempt
	Attempts int    // how many stop runs were made
	// Status is the status run made after the last attempt (zero when ctx
	// ended the stop first) and Reason how it was read.
	Status Result
	Reason string
	Policy StopFailurePolicy
}

func (e *StopError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "group %s failed to stop on %s: %s: %s %s: %s",
		e.Group, e.Node, e.Resource, e.Result.Path, strings.Join(e.Result.Args, " "), e.Result.Describe())
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (%d attempts)", e.Attempts)
	}
	if e.Reason != "" {
		fmt.Fprintf(&b, "; %s", e.Reason)
	}
	writeLastLines(&b, e.Result)
	fmt.Fprintf(&b, "; it may still run here, so the group stays held by %s", e.Node)
	return b.String()
}

// Is makes errors.Is(err, ErrStopFailed) true.
func (e *StopError) Is(target error) bool { return target == ErrStopFailed }

// Unwrap gives the last run's own error (a context error when ctx ended
// the stop).
func (e *StopError) Unwrap() error { return e.Result.Err }

func writeLastLines(b *strings.Builder, r Result) {
	lines := r.LastLines(lastLinesShown)
	if len(lines) == 0 {
		return
	}
	b.WriteString("; last output: ")
	b.WriteString(quoteLines(lines))
}

// quoteLines renders output lines for one log line: "a" | "b".
func quoteLines(lines []string) string {
	q := make([]string, len(lines))
	for i, l := range lines {
		q[i] = fmt.Sprintf("%q", l)
	}
	return strings.Join(q, " | ")
}
