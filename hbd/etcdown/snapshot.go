package etcdown

import (
	"context"
	"fmt"
	"sort"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Snapshot is what `hbd status` shows of the etcd backend: this node's
// lease and, as etcd has them, the live members and each group's owner.
type Snapshot struct {
	// Lease is this node's lease (0: none now); Until the time it lives
	// at least until, StopBy when this node stops its groups unless the
	// lease is renewed before (both zero without a lease).
	Lease         int64
	TTL           time.Duration
	Until, StopBy time.Time
	// Revision is etcd's revision when the keys were read.
	Revision int64
	// Members are the nodes with a live lease, sorted.
	Members []string
	// Owners maps a group key to its owner key: node and fencing token.
	Owners map[string]OwnerKey
	// Held maps the groups running here (their start has ended) to
	// their fencing tokens; Starting the groups whose start is under
	// way here to theirs. StopFailed are the held groups whose stop
	// failed, kept until hbd cleanup (stopfailed.go).
	Held, Starting map[string]int64
	StopFailed     map[string]bool
	// The operator settings and failures as etcd has them: the nodes in
	// standby, the disabled groups, each moved group's move (">NODE" to
	// it, "!NODE" away from it), the nodes where each group failed, and
	// the nodes that stand by for each group (hbd standby, hbd takeover).
	Standby  []string
	Disabled map[string]bool
	Moves    map[string]string
	FailedOn map[string][]string
	StandsBy map[string][]string
}

// OwnerKey is a group's owner key as etcd has it.
type OwnerKey struct {
	Node string
	// Token is the revision that created the key: the fencing token.
	Token int64
}

// Snapshot reads the lease state from the loop and the members and owners
// from etcd (one range request, bounded by the renewal interval). Safe
// to call from any goroutine; on an etcd error the lease state and Held
// are still filled in.
func (w *Owner) Snapshot(ctx context.Context) (Snapshot, error) {
	id, until := w.lease.current()
	s := Snapshot{Lease: int64(id), TTL: w.o.TTL}
	s.Held, s.Starting, s.StopFailed = w.heldAndStarting()
	if id != 0 {
		s.Until = until
		s.StopBy = w.stopBy(until)
	}
	ctx, cancel := context.WithTimeout(ctx, w.o.Interval)
	defer cancel()
	resp, err := w.cli.Get(ctx, w.o.Prefix, clientv3.WithPrefix())
	if err != nil {
		return s, explained(fmt.Errorf("read %s: %w", w.o.Prefix, err), w.o.User, w.o.Prefix)
	}
	s.Revision = resp.Header.Revision
	v := parseView(w.o.Prefix, kvsOf(resp.Kvs))
	s.Members = v.live
	s.Owners = make(map[string]OwnerKey, len(v.holder))
	for g, node := range v.holder {
		s.Owners[g] = OwnerKey{Node: node, Token: v.createdAt[g]}
	}
	for n, on := range v.standby {
		if on {
			s.Standby = append(s.Standby, n)
		}
	}
	sort.Strings(s.Standby)
	s.Disabled, s.Moves = v.disabled, v.moves
	s.FailedOn, s.StandsBy = byGroup(v.failed), byGroup(v.yield)
	return s, nil
}

// heldAndStarting splits the held groups into those started and those
// whose start is under way, each with its fencing token.
func (w *Owner) heldAndStarting() (held, starting map[string]int64, stopFailed map[string]bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	held, starting, stopFailed = map[string]int64{}, map[string]int64{}, map[string]bool{}
	for g, token := range w.held {
		if _, ok := w.starting[g]; ok {
			starting[g] = token
		} else {
			held[g] = token
		}
	}
	for g := range w.stopFailed {
		stopFailed[g] = true
	}
	return held, starting, stopFailed
}

// byGroup turns NODE → its GROUPs into GROUP → its NODEs, sorted.
func byGroup(m map[string]map[string]bool) map[string][]string {
	out := map[string][]string{}
	for n, gs := range m {
		for g := range gs {
			out[g] = append(out[g], n)
		}
	}
	for _, ns := range out {
		sort.Strings(ns)
	}
	return out
}
