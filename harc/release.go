package harc

import (
	"context"
	"time"
)

// Release is how a Stop releases a group as planned (a graceful stop, a
// standby, a failback, a takeover command, a reload's change): what the
// core's cluster.StopGroup says of it. It reaches the built-in agents run
// in this process (agents.RunOptions); scripts run as programs neither
// drain nor hand over. The zero Release is a release at once.
type Release struct {
	// Drain is ha.cf's drain_time: an agent that holds an address waits
	// up to Drain for the TCP connections in flight on it to finish
	// before it removes it (agents.RunOptions.Drain). <= 0: no wait.
	Drain time.Duration
	// Taker is the node that takes the group next: an agent that holds
	// an address hands the frames that still reach this node after its
	// removal over to the node that announces it
	// (agents.RunOptions.Taker), drained first or not. "": nobody will
	// announce the address and nothing is handed over.
	Taker string
}

type releaseKey struct{}

// WithRelease returns a context under which Stop releases as r says.
func WithRelease(ctx context.Context, r Release) context.Context {
	r.Drain = max(r.Drain, 0)
	if r == (Release{}) {
		return ctx
	}
	return context.WithValue(ctx, releaseKey{}, r)
}

// releaseOf is the Release of WithRelease, the zero one without it.
func releaseOf(ctx context.Context) Release {
	r, _ := ctx.Value(releaseKey{}).(Release)
	return r
}
