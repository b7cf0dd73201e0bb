package harc

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrAbandoned: the caller called a start off (Abandon) before any of its
// start scripts began. No start script of it ran; the resources its
// statuses found already running were stopped again (AbandonError says
// whether that worked), so nothing of the group runs here by its doing.
var ErrAbandoned = errors.New("resource group start abandoned")

// Abandon lets the caller of one Start call it off while none of its
// start scripts has begun: a takeover whose peer turns out to be alive
// after all, heard again while its statuses were still being read. Once a
// start script has begun, the start runs to its end as usual (a script
// cut short could leave half a resource behind; its rollback is a stop
// anyway). One Abandon serves one Start (WithAbandon); it is safe for
// concurrent use.
type Abandon struct {
	mu        sync.Mutex
	committed bool // a start script began, or the start ended
	abandoned bool
	cancel    context.CancelCauseFunc // ends the start's status reads
}

// Abandon calls the start off unless a start script of it has begun or
// it has ended, and reports whether it did. When it did, the start's
// status scripts in progress are killed and Start returns an
// *AbandonError (ErrAbandoned), also when Abandon comes before Start
// began.
func (a *Abandon) Abandon() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.committed {
		return false
	}
	if !a.abandoned {
		a.abandoned = true
		if a.cancel != nil {
			a.cancel(ErrAbandoned)
		}
	}
	return true
}

// arm ties the start's context to a: an Abandon from now on ends ctx.
// It reports false when the start was abandoned already.
func (a *Abandon) arm(cancel context.CancelCauseFunc) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cancel = cancel
	return !a.abandoned
}

// commit is called just before a start script begins, and when the start
// ends: from then on Abandon changes nothing. It reports false when the
// start was abandoned first: then no start script may begin.
func (a *Abandon) commit() bool {
	if a == nil {
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.abandoned {
		return false
	}
	a.committed = true
	return true
}

type abandonKey struct{}

// WithAbandon returns a context under which Start may be called off with
// a (Abandon.Abandon) until its first start script begins.
func WithAbandon(ctx context.Context, a *Abandon) context.Context {
	return context.WithValue(ctx, abandonKey{}, a)
}

// armAbandon gives Start the context it runs under: with an Abandon, a
// child that Abandon ends with ErrAbandoned. ok is false when the start
// was abandoned before it began. end, deferred, commits the start (a late
// Abandon changes nothing) and releases the child.
func armAbandon(ctx context.Context) (run context.Context, a *Abandon, end func(), ok bool) {
	a, _ = ctx.Value(abandonKey{}).(*Abandon)
	if a == nil {
		return ctx, nil, func() {}, true
	}
	run, cancel := context.WithCancelCause(ctx)
	end = func() {
		a.commit()
		cancel(nil)
	}
	return run, a, end, a.arm(cancel)
}

// abandoned says whether ctx was ended by an Abandon.
func abandoned(ctx context.Context) bool {
	return ctx.Err() != nil && errors.Is(context.Cause(ctx), ErrAbandoned)
}

// AbandonError is a start called off before its first start script.
type AbandonError struct {
	Group string // the group's key
	Node  string // this node
	// At is the resource whose status or start was next when the start
	// was called off (the last one when every status had been read; ""
	// when it was called off before it began).
	At string
	// Rollback is nil when every resource found running was stopped
	// again (or none was); otherwise the *StopError of the one that did
	// not: the group then still counts as held here (ErrStopFailed).
	Rollback error
}

func (e *AbandonError) Error() string {
	s := fmt.Sprintf("start of group %s on %s abandoned before its first start script", e.Group, e.Node)
	if e.At != "" {
		s += " (at " + e.At + ")"
	}
	if e.Rollback != nil {
		s += fmt.Sprintf("; and the stop of what was found running failed: %v", e.Rollback)
	}
	return s
}

// Is makes errors.Is(err, ErrAbandoned) true.
func (e *AbandonError) Is(target error) bool { return target == ErrAbandoned }

// Unwrap gives the rollback's error, so that errors.Is(err,
// ErrStopFailed) says whether the group is still held.
func (e *AbandonError) Unwrap() error { return e.Rollback }
