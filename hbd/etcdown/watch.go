package etcdown

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// The loop reads the keys from the store, which a watch of the prefix
// keeps: a change (a member gone, an owner key deleted, a setting) wakes
// the loop at once, and at rest a node sends etcd only its lease
// renewals and, every SafetyPoll, one full read and a new watch (a
// safety net for a watch that would miss something: etcd compacted
// past it, a member that lost its leader).

// watch keeps w.store until ctx ends: a full read, then a watch from the
// revision after it, begun again after SafetyPoll or when the watch ends
// (an error, a compaction, no leader on its member).
func (w *Owner) watch(ctx context.Context) {
	for ctx.Err() == nil {
		rev, err := w.readAll(ctx)
		if err != nil {
			if ctx.Err() == nil {
				w.fails.failed("reading the keys", err)
			}
			sleep(ctx, w.o.Interval)
			continue
		}
		w.fails.ok("reading the keys")
		w.wake()
		w.follow(ctx, rev+1)
	}
}

// readAll reads every key under the prefix into the store and returns
// the revision of the read.
func (w *Owner) readAll(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, w.o.Interval)
	defer cancel()
	resp, err := w.cli.Get(ctx, w.o.Prefix, clientv3.WithPrefix())
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", w.o.Prefix, err)
	}
	w.store.reset(resp.Kvs, resp.Header.Revision)
	return resp.Header.Revision, nil
}

// follow applies the watch's events from rev on, until the watch ends,
// SafetyPoll passes or ctx ends.
func (w *Owner) follow(ctx context.Context, rev int64) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	ch := w.cli.Watch(wctx, w.o.Prefix, clientv3.WithPrefix(), clientv3.WithRev(rev))
	poll := time.NewTimer(w.o.SafetyPoll)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
			return
		case resp, ok := <-ch:
			if !ok {
				return
			}
			if err := resp.Err(); err != nil {
				w.log.Warnf("etcd: watch of %s: %v (reading it again)", w.o.Prefix, err)
				return
			}
			if len(resp.Events) > 0 {
				w.store.apply(resp.Events)
				w.wake()
			}
		}
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
