package etcdown

import (
	"context"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// A graceful stop (Run's context ends) stops every group here,
// maxParallel at a time, then revokes the lease so that the owner and
// member keys go at once and the other nodes take the groups over. A
// group whose stop fails is kept, as with the Heartbeat backend
// (hbd/cluster/gracefulstop.go: "Shutdown waits"): it may still run
// here, so its owner key stays and the lease with it, renewed as
// before, and the shutdown waits until hbd cleanup stops it (its key is
// deleted then) or the lease is lost anyway (the watchdog stops it once
// more and forgets it, as outside a shutdown). Revoking the lease at
// once would let another node start the group while it may still run
// here. A stop-failed group whose owner key goes meanwhile (deleted by
// hand) is stopped once more and forgotten, as in a pass of the loop.

// shutdown stops every group (a stop-failed one is tried once more),
// then waits while a stop fails; ctx is the renewals', which go on.
func (w *Owner) shutdown(ctx context.Context) {
	_ = each(w.heldKeys(), maxParallel, func(g string) error {
		w.stopToRelease(ctx, g)
		return nil
	})
	t := time.NewTicker(w.o.Interval)
	defer t.Stop()
	logged := false
	for {
		stuck := w.stopFailedKeys()
		if len(stuck) == 0 {
			return
		}
		if !logged {
			logged = true
			w.leave(ctx)
			w.log.Errorf("etcd: shutdown waits: resource group %s failed to stop and may still run: its owner key and this node's lease stay, so that no other node starts it; run hbd cleanup GROUP (or stop it by hand, then cleanup)", strings.Join(stuck, ", "))
		}
		id, _ := w.lease.current()
		w.applyCleanStops(ctx, id)
		w.stopKeysLost(ctx, id)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.wakeC:
		}
	}
}

// leave makes this node, whose shutdown waits for a stop-failed group,
// no member, so that the placement rule gives its groups to the others,
// and deletes the owner keys of its groups that did stop, so that they
// may take them: the lease keeps only the stop-failed groups' keys.
func (w *Owner) leave(ctx context.Context) {
	id, _ := w.lease.current()
	v, _ := w.store.view()
	if id == 0 || v.memberLease[w.o.Node] != id {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, w.o.Interval)
	defer cancel()
	key := w.memberKey(w.o.Node)
	resp, err := w.cli.Txn(cctx).
		If(clientv3.Compare(clientv3.LeaseValue(key), "=", id)).
		Then(clientv3.OpDelete(key)).
		Commit()
	if err != nil {
		w.log.Warnf("etcd: leave the members: %v (the groups that stopped stay held by this node's lease until it ends)", err)
		return
	}
	if resp.Succeeded {
		w.store.wrote(kv{key: key}, resp.Header.Revision, true)
	}
	var stopped []string
	for g, node := range v.holder {
		if node == w.o.Node && v.leaseOf[g] == id && !w.isHeld(g) {
			stopped = append(stopped, g)
		}
	}
	slices.Sort(stopped)
	if err := each(stopped, maxParallel, func(g string) error { return w.release(ctx, g, id) }); err != nil {
		w.log.Warnf("etcd: %v (the key goes with the lease)", err)
	}
}

// stopFailedKeys lists the held groups whose stop failed, sorted.
func (w *Owner) stopFailedKeys() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for g := range w.stopFailed {
		if _, held := w.held[g]; held {
			out = append(out, g)
		}
	}
	slices.Sort(out)
	return out
}

// stopKeysLost stops once more, and forgets, the stop-failed groups
// whose owner keys this node's copy no longer shows under lease id (0:
// the lease is gone: the watchdog stops them).
func (w *Owner) stopKeysLost(ctx context.Context, id clientv3.LeaseID) {
	v, loaded := w.store.view()
	if !loaded || id == 0 {
		return
	}
	var lost []string
	for _, g := range w.stopFailedKeys() {
		if v.holder[g] != w.o.Node || v.leaseOf[g] != id {
			w.log.Errorf("etcd: group %s is no longer owned by this node in etcd: stopping it", g)
			lost = append(lost, g)
		}
	}
	w.stopLost(ctx, lost)
}

// revoke revokes the lease, if there is one, so that its keys go at once.
func (w *Owner) revoke() {
	id, _ := w.lease.current()
	if id == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.o.Interval)
	defer cancel()
	if _, err := w.cli.Revoke(ctx, id); err != nil {
		w.log.Warnf("etcd: revoke lease %x: %v (it expires by itself)", id, err)
	}
	w.lease.drop(id)
}
