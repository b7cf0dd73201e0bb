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
	// FailbackDelay, FailureTimeouts and InitDead are Options'.
	FailbackDelay   time.Duration
	FailureTimeouts map[string]time.Duration
	InitDead        time.Duration
	// Restart lists groups whose definition changed: held here, they are
	// stopped and released, then placed again by the new rule.
	Restart []string
}

// Reconfigure hands the loop a new configuration; it applies at the
// start of the next pass. A group that the update removes or restarts
// forgets its failure here; held, it is stopped and its owner key
// deleted first. An update not applied yet is replaced, its Restart list
// kept.
func (w *Owner) Reconfigure(u Update) {
	w.mu.Lock()
	if w.pending != nil {
		u.Restart = append(slices.Clone(w.pending.Restart), u.Restart...)
	}
	w.pending = &u
	w.mu.Unlock()
	w.wake()
}

// applyPending applies the update Reconfigure left, if any, the groups
// GiveUp was told of and the stops Cleanup asked to retry (from the
// loop, at the start of a pass).
func (w *Owner) applyPending(ctx context.Context, id clientv3.LeaseID) {
	w.applyUpdate(ctx, id)
	w.applyGiveUps(ctx, id)
	w.applyCleanStops(ctx, id)
}

// applyUpdate applies the update Reconfigure left, if any.
func (w *Owner) applyUpdate(ctx context.Context, id clientv3.LeaseID) {
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
	// A group changed or removed forgets its failure here, and the
	// give-ups not applied yet forget theirs: they were the old
	// definition's (as with the Heartbeat backend, hbd/cluster/doc.go).
	w.mu.Lock()
	for g := range w.failedUntil {
		if !kept(g) {
			w.log.Infof("etcd: group %s was changed or removed by a reload: its failure here is forgotten", g)
			delete(w.failedUntil, g)
		}
	}
	for _, p := range w.givenUp {
		if !kept(p.group) {
			w.cleanGiveUpsLocked(p.group)
		}
	}
	w.mu.Unlock()
	for _, g := range w.heldKeys() {
		if kept(g) {
			continue
		}
		w.log.Infof("etcd: group %s was changed or removed by a reload: stopping it", g)
		if !w.stopToRelease(ctx, g) {
			continue
		}
		if id != 0 {
			if err := w.release(ctx, g, id); err != nil {
				w.log.Warnf("etcd: %v (the key goes with the lease)", err)
			}
		}
	}
	// The loop alone reads the options, but Snapshot reads SlowestStop
	// and the commands the nodes and groups (configured).
	w.mu.Lock()
	w.o.Nodes, w.o.Failback, w.o.Exclusive = u.Nodes, u.Failback, u.Exclusive
	w.o.Groups, w.o.SlowestStop = u.Groups, u.SlowestStop
	w.o.FailbackDelay, w.o.FailureTimeouts, w.o.InitDead = u.FailbackDelay, u.FailureTimeouts, u.InitDead
	w.mu.Unlock()
}

// GiveUp gives group up here: a monitor found it failing beyond its
// restarts. At the next pass it is stopped, its owner key deleted and
// its failure recorded as a failed start's is, so the placement rule
// gives it to another node until the group's failure_timeout or Cleanup.
// The failure is recorded even if the group no longer runs here by then
// (the watchdog stopped it when the lease was lost): the monitor's word
// stands, or the node would take the group again under its next lease.
// A Cleanup before that pass comes after the give-up: the group is still
// stopped and released, but no failure is recorded.
func (w *Owner) GiveUp(group string) {
	w.mu.Lock()
	i := slices.IndexFunc(w.givenUp, func(u giveUp) bool { return u.group == group })
	if i < 0 {
		w.givenUp = append(w.givenUp, giveUp{group: group, failed: true})
	} else {
		w.givenUp[i].failed = true
	}
	w.mu.Unlock()
	w.wake()
}

// giveUp is a give-up the loop has yet to apply; failed is false once a
// Cleanup of the group came after it.
type giveUp struct {
	group  string
	failed bool
}

// cleanGiveUpsLocked makes the pending give-ups of group ("" every
// group) forget their failures. Called with w.mu held.
func (w *Owner) cleanGiveUpsLocked(group string) {
	for i := range w.givenUp {
		if group == "" || w.givenUp[i].group == group {
			w.givenUp[i].failed = false
		}
	}
}

// applyGiveUps stops the groups given up, records their failures and
// releases their owner keys of lease id. Without a lease (id 0) the
// failures are recorded here at once and written to etcd under the next
// lease (failures), before that lease's first placement; the owner keys
// go with the old lease.
func (w *Owner) applyGiveUps(ctx context.Context, id clientv3.LeaseID) {
	w.mu.Lock()
	us := w.givenUp
	w.givenUp = nil
	w.mu.Unlock()
	for _, u := range us {
		g := u.group
		if err := w.knownGroup(g); err != nil {
			w.log.Warnf("etcd: give-up of group %s ignored: %v (a reload removed it)", g, err)
			continue
		}
		w.mu.Lock()
		_, held := w.held[g]
		owned := w.ownedBy[g]
		w.mu.Unlock()
		switch {
		case !u.failed && held:
			w.log.Warnf("etcd: group %s given up by its monitor, then cleaned up: stopping and releasing it; it may run here again", g)
		case !u.failed:
			continue
		case held:
			w.log.Errorf("etcd: group %s given up by its monitor: stopping and releasing it; it may not run here until its failure expires or hbd cleanup", g)
		default:
			w.log.Errorf("etcd: group %s given up by its monitor (it was stopped here since): it may not run here until its failure expires or hbd cleanup", g)
		}
		stopped := w.stopToRelease(ctx, g)
		if u.failed {
			w.recordFailure(ctx, g, id)
		}
		if stopped && held && id != 0 && owned == id {
			if err := w.release(ctx, g, id); err != nil {
				w.log.Warnf("etcd: %v (the key goes with the lease)", err)
			}
		}
	}
}

// configured returns the configured nodes and groups, for the commands,
// which a reload may change meanwhile (applyUpdate replaces them, never
// changes them in place).
func (w *Owner) configured() ([]string, []cluster.PlacedGroup) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.o.Nodes, w.o.Groups
}
