package harc

import (
	"context"
	"fmt"
	"time"
)

// Decision is the moment an operation was decided, and what decided it
// ("node1 was declared dead"): a start or stop run under WithDecision
// logs, with each resource's "done" line, how long after it the resource
// was done. For an address that is when it is on (or off) and announced,
// the figure a handover's gap is made of.
type Decision struct {
	At   time.Time
	What string // "" reads "the decision"
}

type decisionKey struct{}

// WithDecision returns a context under which Start and Stop log each
// resource's time since d.
func WithDecision(ctx context.Context, d Decision) context.Context {
	return context.WithValue(ctx, decisionKey{}, d)
}

// sinceDecision is ", N ms after WHAT" for a resource done at now under a
// context of WithDecision, and "" otherwise.
func sinceDecision(ctx context.Context, now time.Time) string {
	d, ok := ctx.Value(decisionKey{}).(Decision)
	if !ok || d.At.IsZero() {
		return ""
	}
	return fmt.Sprintf(", %.1f ms after %s", ms(now.Sub(d.At)), d.Label())
}

// Label is what decided, for a log line: What, or "the decision".
func (d Decision) Label() string {
	if d.What == "" {
		return "the decision"
	}
	return d.What
}
