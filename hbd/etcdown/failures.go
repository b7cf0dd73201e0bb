package etcdown

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// A group whose start failed here, or that a monitor gave up here, is
// recorded under PREFIX failed/NODE/GROUP, under this node's lease: the
// placement rule gives it to no node where it failed (as the Heartbeat
// backend does), so a node that cannot run a group does not take it
// again and again, and the group goes to the next node. The record ends
// after the group's failure_timeout (0: until Cleanup); a new lease
// (after a cut-off) gets the records written again, a restart forgets
// them.
//
// What this node knows (failedUntil) decides; its records in etcd follow
// it: every pass writes the failures its copy of the keys shows no
// record of under the current lease, and deletes the records of failures
// it no longer has. So a record outlives neither its failure's end nor a
// Cleanup whose delete raced its write, and a failure outlives neither a
// write that failed nor a Cleanup's delete that landed after the
// failure was recorded again.

// recordFailure records that g failed here, and writes it under lease id
// (0: none yet; failures writes it under the next one).
func (w *Owner) recordFailure(ctx context.Context, g string, id clientv3.LeaseID) {
	var until time.Time
	if d := w.o.FailureTimeouts[g]; d > 0 {
		until = time.Now().Add(d)
	}
	w.mu.Lock()
	w.failedUntil[g] = until
	w.mu.Unlock()
	if id != 0 {
		w.writeFailure(ctx, g, id)
	}
}

// writeFailure writes g's failure record under lease id; one that fails
// is written again at the next pass.
func (w *Owner) writeFailure(ctx context.Context, g string, id clientv3.LeaseID) {
	cctx, cancel := context.WithTimeout(ctx, w.o.Interval)
	defer cancel()
	key := w.failedKey(w.o.Node, g)
	resp, err := w.cli.Put(cctx, key, "1", clientv3.WithLease(id))
	if err != nil {
		w.fails.failed("recording the failure of group "+g, fmt.Errorf("record the failure of group %s: %w", g, err))
		return
	}
	w.fails.ok("recording the failure of group " + g)
	w.store.wrote(kv{key: key, value: "1", lease: int64(id)}, resp.Header.Revision, false)
}

// deleteFailure deletes g's failure record; one that fails is deleted
// again at the next pass.
func (w *Owner) deleteFailure(ctx context.Context, g string) {
	cctx, cancel := context.WithTimeout(ctx, w.o.Interval)
	defer cancel()
	key := w.failedKey(w.o.Node, g)
	resp, err := w.cli.Delete(cctx, key)
	if err != nil {
		w.fails.failed("forgetting the failure of group "+g, fmt.Errorf("forget the failure of group %s: %w", g, err))
		return
	}
	w.fails.ok("forgetting the failure of group " + g)
	w.store.wrote(kv{key: key}, resp.Header.Revision, true)
}

// Cleanup forgets the failures of group ("" every group) on this node,
// those of the give-ups the loop has yet to apply too: it may hold them
// again. A group whose stop failed is stopped again at the next pass
// (stopfailed.go).
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
		}
	}
	w.cleanGiveUpsLocked(group)
	w.cleanStopsLocked(group)
	w.mu.Unlock()
	var resp *clientv3.DeleteResponse
	var err error
	if group == "" {
		resp, err = w.cli.Delete(ctx, w.failedKey(w.o.Node, ""), clientv3.WithPrefix(), clientv3.WithPrevKV())
	} else {
		resp, err = w.cli.Delete(ctx, w.failedKey(w.o.Node, group), clientv3.WithPrevKV())
	}
	if err == nil {
		for _, e := range resp.PrevKvs {
			w.store.wrote(kv{key: string(e.Key)}, resp.Header.Revision, true)
		}
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

// failures ends the failures whose failure_timeout has passed, brings
// this node's records in etcd to its failures (recorded: the groups its
// copy of the keys shows a record of), and returns the groups that
// failed here now.
func (w *Owner) failures(ctx context.Context, id clientv3.LeaseID, recorded map[string]bool) map[string]bool {
	now := time.Now()
	out := map[string]bool{}
	var expired []string
	w.mu.Lock()
	for g, until := range w.failedUntil {
		if !until.IsZero() && !now.Before(until) {
			expired = append(expired, g)
			delete(w.failedUntil, g)
			continue
		}
		out[g] = true
	}
	w.mu.Unlock()
	for _, g := range expired {
		w.log.Infof("etcd: failure of group %s here expired (failure_timeout): it may run here again", g)
	}
	for g := range out {
		if !w.store.has(w.failedKey(w.o.Node, g), int64(id)) {
			w.writeFailure(ctx, g, id)
		}
	}
	for g := range recorded {
		if !out[g] {
			w.deleteFailure(ctx, g)
		}
	}
	return out
}
