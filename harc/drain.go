package harc

import (
	"context"
	"time"
)

type drainKey struct{}

// WithDrain returns a context under which Stop is a planned release
// (ha.cf drain_time): a built-in agent run in this process that holds an
// address waits up to d for the TCP connections in flight on it to finish
// before it removes it (agents.RunOptions.Drain). Scripts run as programs
// do not drain. d <= 0: release at once.
func WithDrain(ctx context.Context, d time.Duration) context.Context {
	if d <= 0 {
		return ctx
	}
	return context.WithValue(ctx, drainKey{}, d)
}

// drainOf is the bound of WithDrain, 0 without one.
func drainOf(ctx context.Context) time.Duration {
	d, _ := ctx.Value(drainKey{}).(time.Duration)
	return d
}
