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

type takerKey struct{}

// WithTaker returns a context under which a planned release's Stop
// (WithDrain) names the node that takes the group next
// (cluster.StopGroup.Taker): a built-in agent run in this process that
// holds an address hands the frames that still reach this node after
// its removal over to the node that announces it
// (agents.RunOptions.Taker). Without one ("" or no WithTaker), nobody
// will announce the address and nothing is handed over.
func WithTaker(ctx context.Context, node string) context.Context {
	if node == "" {
		return ctx
	}
	return context.WithValue(ctx, takerKey{}, node)
}

// takerOf is the node of WithTaker, "" without one.
func takerOf(ctx context.Context) string {
	s, _ := ctx.Value(takerKey{}).(string)
	return s
}
