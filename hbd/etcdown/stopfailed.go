package etcdown

import (
	"context"
	"errors"
	"slices"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// A group this node releases (the placement rule gives it to another
// node, a reload changed or removed it, a monitor gave it up, its start
// failed) is stopped first, and its owner key deleted only once the stop
// has succeeded. A stop that fails leaves the group stop-failed, as with
// the Heartbeat backend (hbd/cluster/doc.go, "Failures"): it stays held
// here with its owner key, so that no other node starts it while it may
// still run here, and the loop leaves it alone (no release, no stop at
// every pass) until hbd cleanup retries the stop; a graceful stop waits
// for it (shutdown.go). A stop-failed group whose owner key goes anyway
// (a lost lease, the key deleted by hand) is stopped once more, then
// forgotten whatever the outcome.

// errStopFailed: a stop this caller waited for left the group
// stop-failed.
var errStopFailed = errors.New("its stop failed")

// stopToRelease stops g before its owner key is deleted, and tells
// whether it stopped; if not, g is held here, stop-failed.
func (w *Owner) stopToRelease(_ context.Context, g string) bool {
	return w.stopAs(g, true) == nil
}

func (w *Owner) isStopFailed(g string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stopFailed[g]
}

// cleanStopsLocked asks the loop to stop again the stop-failed groups of
// group ("" every group). Called with w.mu held.
func (w *Owner) cleanStopsLocked(group string) {
	if !slices.Contains(w.cleanStops, group) {
		w.cleanStops = append(w.cleanStops, group)
	}
}

// applyCleanStops stops again the stop-failed groups a Cleanup named,
// and releases those that stop now and are owned under lease id.
func (w *Owner) applyCleanStops(ctx context.Context, id clientv3.LeaseID) {
	w.mu.Lock()
	asked := w.cleanStops
	w.cleanStops = nil
	var gs []string
	for g := range w.stopFailed {
		if slices.Contains(asked, "") || slices.Contains(asked, g) {
			gs = append(gs, g)
		}
	}
	w.mu.Unlock()
	slices.Sort(gs)
	for _, g := range gs {
		w.mu.Lock()
		owned := w.ownedBy[g]
		w.mu.Unlock()
		w.log.Infof("etcd: cleanup: stopping group %s again", g)
		if !w.stopToRelease(ctx, g) {
			continue
		}
		if id != 0 && owned == id {
			if err := w.release(ctx, g, id); err != nil {
				w.log.Warnf("etcd: %v (the key goes with the lease)", err)
			}
		}
	}
}
