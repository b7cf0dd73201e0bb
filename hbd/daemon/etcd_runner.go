//go:build !noetcd

package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hbdproject/hbd/harc"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/etcdown"
	"github.com/hbdproject/hbd/hbd/monitor"
)

// etcdRunner runs the groups the etcd ownership loop asks for
// (etcdown.Runner): through harc, each operation with the group's fencing
// token (HA_FENCING_TOKEN), and its monitor lines watched from a
// successful start until the stop. The loop calls it for several groups
// at once (harc.Runner and monitor.Set are safe for that); set is called
// from the daemon's goroutine, on a reload. Each start and stop counts
// in the daemon's busy gauge, as the Heartbeat backend's operations do
// (runOp): the runtime gets more than its one P while a script runs, so
// that the groups started in parallel are not serialised at their
// scripts' fork and exec. After each start and stop, ran is called: the
// operation ran code the rest of the time does not (rss.go drops its
// pages again).
type etcdRunner struct {
	monitors *monitor.Set
	busy     *busyGauge
	ran      func()

	mu   sync.Mutex
	harc *harc.Runner
	cfg  *config.Config
	// started: the definition each running group was started with, so
	// that its stop is the same group's even after a reload changed it;
	// kept after a stop that failed, for the stop's retry.
	started map[string]config.Group
}

func newEtcdRunner(h *harc.Runner, cfg *config.Config, m *monitor.Set, busy *busyGauge, ran func()) *etcdRunner {
	return &etcdRunner{monitors: m, busy: busy, ran: ran, harc: h, cfg: cfg, started: map[string]config.Group{}}
}

// set makes later operations use h and cfg (a reload).
func (r *etcdRunner) set(h *harc.Runner, cfg *config.Config) {
	r.mu.Lock()
	r.harc, r.cfg = h, cfg
	r.mu.Unlock()
	r.monitors.SetRunner(h)
}

// Start starts the group (left to right) and, once it runs, watches its
// monitor lines under the same token.
func (r *etcdRunner) Start(ctx context.Context, key string, token int64) error {
	r.busy.begin()
	defer r.busy.end()
	defer r.ran()
	r.mu.Lock()
	h, cfg := r.harc, r.cfg
	r.mu.Unlock()
	g, ok := cfg.Group(key)
	if !ok {
		return fmt.Errorf("no group %s in %s", key, config.HaresourcesFile)
	}
	ctx = harc.WithFencingToken(ctx, token)
	r.mu.Lock()
	r.started[key] = g // a failed start is stopped (rolled back) as this group
	r.mu.Unlock()
	if err := h.Start(ctx, g); err != nil {
		if !errors.Is(err, harc.ErrStartFailed) || errors.Is(err, harc.ErrStopFailed) {
			return err
		}
		// harc rolled back the start, whether it failed or ctx ended
		// it, and everything it had started stopped: the loop must not
		// run the group's stops a second time.
		r.mu.Lock()
		delete(r.started, key)
		r.mu.Unlock()
		return rolledBack{err}
	}
	r.monitors.HoldWith(ctx, g, cfg.GroupMonitors(key))
	return nil
}

// Stop ends the group's monitoring, then stops it (right to left) as it
// was started.
func (r *etcdRunner) Stop(ctx context.Context, key string, token int64) error {
	r.busy.begin()
	defer r.busy.end()
	defer r.ran()
	r.monitors.Release(key)()
	r.mu.Lock()
	h := r.harc
	g, ok := r.started[key]
	if !ok {
		g, ok = r.cfg.Group(key)
	}
	r.mu.Unlock()
	if !ok {
		return fmt.Errorf("no group %s in %s", key, config.HaresourcesFile)
	}
	if err := h.Stop(harc.WithFencingToken(ctx, token), g); err != nil {
		// Still started: a retry (hbd cleanup) stops the same
		// definition, even after a reload changed or removed it.
		return err
	}
	r.mu.Lock()
	delete(r.started, key)
	r.mu.Unlock()
	return nil
}

// rolledBack is a start that harc rolled back (it failed, or its context
// ended) with every stop of the rollback successful:
// etcdown.ErrRolledBack, with harc's error and text.
type rolledBack struct{ error }

func (e rolledBack) Is(target error) bool { return target == etcdown.ErrRolledBack }
func (e rolledBack) Unwrap() error        { return e.error }
