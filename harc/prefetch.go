package harc

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
)

// prefetch is a group's statuses read ahead of its start (Prepare), with
// the counts taken before its reads began.
type prefetch struct {
	spec config.Group
	prefetchCounts
	la *lookahead
}

// Prepare begins reading, in the background, the statuses a start of g
// needs (those Start reads: every resource's but the built-in agents'
// whose start converges), for a Start of g that is expected soon: a peer
// is releasing g to this node, and its stop scripts run meanwhile. It
// returns at once. A status read changes nothing, so reading early is
// safe; what is read serves the next Start of g only while it is valid:
// the same definition (g), read no more than PrefetchMaxAge before, no
// start or stop of g and no operation that may change a resource
// (RunResource of anything but status or monitor) begun since; and Start
// reads again a status that says "running" (a stale "running" must never
// skip a start) or could not be read. Otherwise Start reads the statuses
// itself, as without Prepare. A new Prepare of g replaces the one before.
//
// ctx bounds the reads (a daemon's operations context); Start's own
// context bounds them too once it uses them. The channel returned is
// closed once no read of this Prepare runs any more (at once when there
// is nothing to read): a daemon that counts its operations in flight
// counts these reads too.
func (r *Runner) Prepare(ctx context.Context, g config.Group) <-chan struct{} {
	ctx = WithGroup(ctx, g.Key())
	c, busy := r.counts(g.Key())
	if busy {
		// A start or stop of g runs: what is read now may not hold once
		// it ends, and a start reads its own.
		return closed()
	}
	la := r.lookAhead(ctx, g)
	if la.none() {
		la.stop()
		return closed() // no status to read: nothing to gain
	}
	return r.keep(g, c, la)
}

// prefetchCounts is what may change a group's statuses, as counted
// before Prepare's first read begins: an operation that begins, or a
// start or stop of the group that ends, after that (even before the
// reads are kept) makes them unusable.
type prefetchCounts struct {
	began   time.Time
	changes uint64 // the runner's changes
	ended   uint64 // the starts and stops of the group ended
}

// counts counts now for group key, and says whether a start or stop of
// it runs.
func (r *Runner) counts(key string) (c prefetchCounts, busy bool) {
	c.began = time.Now()
	r.pmu.Lock()
	c.changes = r.changes
	r.pmu.Unlock()
	busy, c.ended = r.busy(key)
	return c, busy
}

// keep keeps la, the reads of g's statuses begun after c was counted,
// for the next Start of g, and returns the channel closed when they end.
func (r *Runner) keep(g config.Group, c prefetchCounts, la *lookahead) <-chan struct{} {
	key := g.Key()
	la.ahead = true
	r.pmu.Lock()
	defer r.pmu.Unlock()
	// Expired entries go: the map holds at most one per group, and none
	// for long.
	for k, p := range r.prefetches {
		if k == key || c.began.Sub(p.began) > r.opts.PrefetchMaxAge {
			p.la.cancel()
			delete(r.prefetches, k)
		}
	}
	r.prefetches[key] = &prefetch{spec: g, prefetchCounts: c, la: la}
	return la.done
}

// closed returns a channel closed from the start: Prepare's answer when
// it reads nothing.
func closed() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// takePrefetch returns the statuses read ahead for a start of g when they
// may serve it, and forgets them either way: a prefetch serves one start.
// A prefetch that may not is ended (its reads killed). A stop of g in
// between forgot it (forget).
func (r *Runner) takePrefetch(g config.Group, now time.Time) *lookahead {
	key := g.Key()
	_, ended := r.busy(key)
	r.pmu.Lock()
	p := r.prefetches[key]
	delete(r.prefetches, key)
	valid := p != nil && p.changes == r.changes && p.ended == ended &&
		now.Sub(p.began) <= r.opts.PrefetchMaxAge && reflect.DeepEqual(p.spec, g)
	r.pmu.Unlock()
	if p == nil {
		return nil
	}
	if !valid {
		r.harc.Debugf("Statuses of resource group %s read ahead not used (the group or its resources changed, or %.0f ms old): reading them again", key, ms(now.Sub(p.began)))
		p.la.stop()
		return nil
	}
	return p.la
}

// forget ends the statuses read ahead of group key: a stop of it begins,
// after which they no longer serve a start.
func (r *Runner) forget(key string) {
	r.pmu.Lock()
	p := r.prefetches[key]
	delete(r.prefetches, key)
	r.pmu.Unlock()
	if p != nil {
		p.la.cancel()
	}
}

// busy says whether a start or stop of group key holds its lock now, and
// how many have ended.
func (r *Runner) busy(key string) (bool, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.locks[key]) > 0, r.ended[key]
}

// changed counts an operation that may have changed any resource.
func (r *Runner) changed() {
	r.pmu.Lock()
	r.changes++
	r.pmu.Unlock()
}

// usable says whether a status read ahead may stand for one read now: it
// finished, said stopped and is no older than PrefetchMaxAge. Anything
// else (running, timed out, could not run, cancelled) is read again.
func (r *Runner) usable(st ResourceStatus, now time.Time) bool {
	o := st.Result
	return !st.Running && o.Err == nil && !o.TimedOut && !o.Canceled && now.Sub(st.done) <= r.opts.PrefetchMaxAge
}

// readWhen says when a status read ahead was done, from the start that
// uses it (began): before it, or while the start waited for it.
func readWhen(began, done time.Time) string {
	if d := began.Sub(done); d >= 0 {
		return fmt.Sprintf("done %.1f ms before the acquisition began", ms(d))
	}
	return fmt.Sprintf("done %.1f ms into the acquisition", ms(done.Sub(began)))
}
