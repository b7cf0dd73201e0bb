package etcdown

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// lease is this node's etcd lease and how long it surely lives. Its
// methods are safe for concurrent use: the keeper renews it while the
// loop reads it.
type lease struct {
	cli      *clientv3.Client
	ttl      time.Duration
	interval time.Duration

	mu sync.Mutex
	id clientv3.LeaseID // 0: none
	// until: the lease lives on the servers at least until then (the
	// send time of the last successful grant or renewal plus its TTL).
	until time.Time
}

// current returns the lease id (0: none) and its lower bound of life.
func (l *lease) current() (clientv3.LeaseID, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.id, l.until
}

// grant asks for a new lease.
func (l *lease) grant(ctx context.Context) error {
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(ctx, l.interval)
	defer cancel()
	resp, err := l.cli.Grant(ctx, int64(l.ttl/time.Second))
	if err != nil {
		return fmt.Errorf("grant a lease: %w", err)
	}
	l.mu.Lock()
	l.id, l.until = resp.ID, t0.Add(time.Duration(resp.TTL)*time.Second)
	l.mu.Unlock()
	return nil
}

// renew renews lease id once. A lease the servers no longer know is
// dropped (errLeaseGone).
func (l *lease) renew(ctx context.Context, id clientv3.LeaseID) error {
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(ctx, l.interval)
	defer cancel()
	resp, err := l.cli.KeepAliveOnce(ctx, id)
	if errors.Is(err, rpctypes.ErrLeaseNotFound) {
		l.drop(id)
		return errLeaseGone
	}
	if err != nil {
		return fmt.Errorf("renew lease %x: %w", id, err)
	}
	l.mu.Lock()
	if l.id == id {
		l.until = t0.Add(time.Duration(resp.TTL) * time.Second)
	}
	l.mu.Unlock()
	return nil
}

var errLeaseGone = errors.New("the lease expired")

// drop forgets lease id (if it is still the current one): the next grant
// makes a new one.
func (l *lease) drop(id clientv3.LeaseID) {
	l.mu.Lock()
	if l.id == id {
		l.id, l.until = 0, time.Time{}
	}
	l.mu.Unlock()
}

// keep renews the lease every interval until ctx ends, and tells failed
// or ok how each renewal went; it does not grant one (the loop does, so
// that it knows when a lease is new).
func (l *lease) keep(ctx context.Context, failed func(error), ok func()) {
	t := time.NewTicker(l.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if id, _ := l.current(); id != 0 {
			switch err := l.renew(ctx, id); {
			case err == nil:
				ok()
			case ctx.Err() == nil:
				failed(err)
			}
		}
	}
}
