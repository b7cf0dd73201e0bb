package etcdown

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// A group whose start failed here is recorded under PREFIX failed/NODE/
// GROUP, under this node's lease: the placement rule gives it to no node
// where it failed (as the Heartbeat backend does), so a node that cannot
// start a group does not take it again and again, and the group goes to
// the next node. The record ends after the group's failure_timeout (0:
// until Cleanup); a new lease (after a cut-off) gets the records written
// again, a restart forgets them.

// recordFailure records that g failed here, and writes it under lease id
// (0: none yet; failures writes it under the next one).
func (w *Owner) recordFailure(ctx context.Context, g string, id clientv3.LeaseID) {
	var until time.Time
	if d := w.o.FailureTimeouts[g]; d > 0 {
		until = time.Now().Add(d)
	}
	w.mu.Lock()
	w.failedUntil[g] = until
	delete(w.failedLease, g)
	w.mu.Unlock()
	if id != 0 {
		w.writeFailure(ctx, g, id)
	}
}

// writeFailure writes g's failure record under lease id; a failure is
// written again at the next pass.
func (w *Owner) writeFailure(ctx context.Context, g string, id clientv3.LeaseID) {
	cctx, cancel := context.WithTimeout(ctx, w.o.Interval)
	defer cancel()
	if _, err := w.cli.Put(cctx, w.failedKey(w.o.Node, g), "1", clientv3.WithLease(id)); err != nil {
		w.fails.failed("recording the failure of group "+g, fmt.Errorf("record the failure of group %s: %w", g, err))
		return
	}
	w.fails.ok("recording the failure of group " + g)
	w.mu.Lock()
	if _, ok := w.failedUntil[g]; ok {
		w.failedLease[g] = id
	}
	w.mu.Unlock()
}

// Cleanup forgets the failures of group ("" every group) on this node:
// it may hold them again.
func (w *Owner) Cleanup(ctx context.Context, group string) error {
	if group != "" {
		if err := w.knownGroup(group); err != nil {
			return err
		}
	}
	w.mu.Lock()
	for g := range w.failedUntil {
		if group == "" || g == group {
			delete(w.failedUntil, g)
			delete(w.failedLease, g)
		}
	}
	w.mu.Unlock()
	var err error
	if group == "" {
		_, err = w.cli.Delete(ctx, w.failedKey(w.o.Node, ""), clientv3.WithPrefix())
	} else {
		_, err = w.cli.Delete(ctx, w.failedKey(w.o.Node, group))
	}
	w.wake()
	if err != nil {
		what := "group " + group
		if group == "" {
			what = "every group"
		}
		return fmt.Errorf("forget the failures of %s on %s in etcd: %w", what, w.o.Node, err)
	}
	return nil
}

// failures ends the failures whose failure_timeout has passed, writes
// the ones not yet written under lease id, and returns the groups that
// failed here now.
func (w *Owner) failures(ctx context.Context, id clientv3.LeaseID) map[string]bool {
	now := time.Now()
	out := map[string]bool{}
	var expired, unwritten []string
	w.mu.Lock()
	for g, until := range w.failedUntil {
		if !until.IsZero() && !now.Before(until) {
			expired = append(expired, g)
			delete(w.failedUntil, g)
			delete(w.failedLease, g)
			continue
		}
		out[g] = true
		if w.failedLease[g] != id {
			unwritten = append(unwritten, g)
		}
	}
	w.mu.Unlock()
	for _, g := range expired {
		w.log.Infof("etcd: failure of group %s here expired (failure_timeout): it may run here again", g)
		cctx, cancel := context.WithTimeout(ctx, w.o.Interval)
		_, err := w.cli.Delete(cctx, w.failedKey(w.o.Node, g))
		cancel()
		if err != nil {
			w.log.Warnf("etcd: forget the failure of group %s: %v", g, err)
		}
	}
	for _, g := range unwritten {
		w.writeFailure(ctx, g, id)
	}
	return out
}
