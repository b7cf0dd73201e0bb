package etcdown

import (
	"context"
	"slices"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hbdproject/hbd/hbd/cluster"
)

// Update is what a reload of the configuration may change in a running
// Owner. The lease (TTL, endpoints, prefix) is not part of it: a new
// lease takes a new Owner.
type Update struct {
	Nodes       []string
	Failback    bool
	Exclusive   [][]string
	Groups      []cluster.PlacedGroup
	SlowestStop time.Duration
	// FailbackDelay and FailureTimeouts are Options'.
	FailbackDelay   time.Duration
	FailureTimeouts map[string]time.Duration
	// Restart lists groups whose definition changed: held here, they are
	// stopped and released, then placed again by the new rule.
	Restart []string
}

// Reconfigure hands the loop a new configuration; it applies at the
// start of the next pass. A held group that the update removes or
// restarts is stopped and its owner key deleted first.
func (w *Owner) Reconfigure(u Update) {
	w.mu.Lock()
	w.pending = &u
	w.mu.Unlock()
	w.wake()
}

// applyPending applies the update Reconfigure left, if any (from the
// loop, at the start of a pass).
func (w *Owner) applyPending(ctx context.Context, id clientv3.LeaseID) {
	w.mu.Lock()
	u := w.pending
	w.pending = nil
	w.mu.Unlock()
	if u == nil {
		return
	}
	kept := func(g string) bool {
		return !slices.Contains(u.Restart, g) &&
			slices.ContainsFunc(u.Groups, func(pg cluster.PlacedGroup) bool { return pg.Key == g })
	}
	for _, g := range w.heldKeys() {
		if kept(g) {
			continue
		}
		w.log.Infof("etcd: group %s was changed or removed by a reload: stopping it", g)
		w.stop(ctx, g)
		if id != 0 {
			if err := w.release(ctx, g, id); err != nil {
				w.log.Warnf("etcd: %v (the key goes with the lease)", err)
			}
		}
	}
	// The loop alone reads the options, but Snapshot reads SlowestStop.
	w.mu.Lock()
	w.o.Nodes, w.o.Failback, w.o.Exclusive = u.Nodes, u.Failback, u.Exclusive
	w.o.Groups, w.o.SlowestStop = u.Groups, u.SlowestStop
	w.o.FailbackDelay, w.o.FailureTimeouts = u.FailbackDelay, u.FailureTimeouts
	w.mu.Unlock()
}
