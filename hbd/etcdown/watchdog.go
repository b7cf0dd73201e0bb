package etcdown

import (
	"context"
	"errors"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// The watchdog runs apart from the loop, with its own timer, so that the
// stop-by time is acted on when it arrives whatever a pass is doing (a
// start that lasts, releases, calls that time out): at the current
// lease's stop-by time it drops the lease, ends the starts under way
// and stops every group held here, all at once, and only then revokes
// the lease, which frees the groups for the other nodes. It also stops,
// at each wake-up, the groups held under a lease that is no longer the
// current one (one the servers no longer knew at a renewal). It shares
// with the loop only the lease (lease.go) and, under w.mu, held,
// starting and stopping.

// errCutOff ends a start the watchdog cut short.
var errCutOff = errors.New("cut short: this node's lease was not renewed in time, or is gone")

// startCall is a start under way: cancel ends it, done is closed once
// Runner.Start has returned.
type startCall struct {
	cancel context.CancelCauseFunc
	done   chan struct{}
}

// watchdog wakes at the current lease's stop-by time, and every Interval
// at least, until ctx ends.
func (w *Owner) watchdog(ctx context.Context) {
	t := time.NewTimer(w.o.Interval)
	defer t.Stop()
	for {
		id, until := w.lease.current()
		var dropped clientv3.LeaseID
		if id != 0 && !time.Now().Before(w.stopBy(until)) {
			w.log.Errorf("etcd: lease %x not renewed in time (it may expire at %s): stopping every group", id, until.Format(time.RFC3339Nano))
			w.lease.drop(id)
			dropped, id = id, 0
		}
		w.stopNotOf(id)
		if dropped != 0 {
			// Only once its groups have stopped: the revoke frees
			// them for the other nodes at once.
			w.revokeLater(dropped)
		}
		wait := w.o.Interval
		if id != 0 {
			wait = min(wait, time.Until(w.stopBy(until)))
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// stopNotOf ends the starts and stops the groups held under another
// lease than id (0: every group), all at once: their owner keys are gone
// or may go once SlowestStop has passed.
func (w *Owner) stopNotOf(id clientv3.LeaseID) {
	var gs []string
	w.mu.Lock()
	for g, l := range w.ownedBy {
		if l == id {
			continue
		}
		gs = append(gs, g)
		if s := w.starting[g]; s != nil {
			s.cancel(errCutOff)
		}
	}
	w.mu.Unlock()
	w.stopLost(context.Background(), gs)
}
