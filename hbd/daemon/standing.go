package daemon

import (
	"time"

	"github.com/hbdproject/hbd/hbd/wire"
)

// The standing status order's sender (hbd/cluster's standing.go). While
// the core's order stands, the status of every keepalive is sent on the
// loop timer's own goroutine (fire): woken by the timerfd, it takes
// loopMu, stamps the order's status (seq, ts, ld), signs and sends it,
// sets the timer for whichever comes first of the order's next send and
// the loop's own deadline (loopDue), and goes back to waiting. The
// loop's goroutine stays parked in its select and the core is not
// stepped; the loop is woken (the expiry handed on to C) only when its
// own deadline has come: the core's next Tick, or a chore's.
//
// loopMu is held by the loop's goroutine whenever it is not parked in
// its select: every Step, every action executed, every chore. So the
// sender sends only while the loop is parked, never while a Step is
// under way, and a loop that is stuck (in a Step, an action, a chore)
// holds loopMu and stops the heartbeats, as a loop that sent them itself
// did: the peers see this node silent and take over after their
// deadtime. A loop busy for a while and done sends the status that came
// due meanwhile as soon as it parks, late by its busy time, as before.
// After the core's Exit, or when the loop returns, the order is dropped
// (Standing.Stop) under loopMu: no heartbeat follows.
//
// Before each Step the loop hands the core what the order sent
// (cluster.Node.Sent): its seq, its history for retransmissions and its
// next status time follow, so peers see one gap-free seq stream.
//
// The chores that rode on every keepalive's wake-up keep their cadence
// on the sender's: it reads the load average for ld (loadavg, every
// loadEvery), runs the realtime check (rtSenderEvery) and the page
// check, the configuration poll and the keepers' check when each is due
// (each a look at a clock, and a channel poked when due). A wake-up of
// the loop for them alone would cost what a wake-up for the status did.

// rtSenderEvery is how often the sender runs the realtime check: new
// threads switch to SCHED_RR within two keepalives (and rtCountEvery),
// while the loop that ran it at every wake-up may now sleep for a
// deadtime.
func rtSenderEvery(keepalive time.Duration) time.Duration {
	return max(rtCountEvery, 2*keepalive)
}

// fire is the loop timer's fire (waketimer.go): on the timer's
// goroutine, at each expiry. It sends the order's status if it is due
// and says whether the loop must wake: its own deadline has come.
func (d *Daemon) fire(t *wakeTimer, now time.Time) bool {
	if !d.ordered.Load() {
		return true // the loop's own deadline: nothing to send here
	}
	d.loopMu.Lock()
	defer d.loopMu.Unlock()
	if d.loopDue.IsZero() || !now.Before(d.loopDue) {
		return true // the loop's tick sends what is due (tick)
	}
	d.sendStanding(now)
	t.fired()
	if err := t.arm(d.wakeAt()); err != nil {
		return true // the loop sets it again
	}
	return false
}

// stopStanding drops the order (the core's Exit, the loop's end): no
// status follows. With loopMu held.
func (d *Daemon) stopStanding() {
	d.standing.Stop()
	d.ordered.Store(false)
}

// wakeAt is when the timer must wake next: the loop's deadline or the
// order's next send, whichever comes first.
func (d *Daemon) wakeAt() time.Time {
	at := d.loopDue
	if due, on := d.standing.Due(); on && due.Before(at) {
		at = due
	}
	return at
}

// sendStanding sends the order's status if one is due at now, and runs
// the chores that ride on it. With loopMu held.
func (d *Daemon) sendStanding(now time.Time) {
	due, on := d.standing.Due()
	if !on || now.Before(due) {
		return
	}
	m := d.standing.Fire(now, d.load.at(now))
	b, err := d.keys.AppendEncodeRoutine(d.sendBuf[:0], m)
	if err != nil {
		d.encodeFailed(wire.TStatus, err)
	} else {
		d.sendBuf = b
		d.links.Send(b)
	}
	if now.Sub(d.rtAt) >= rtSenderEvery(d.cfg.Keepalive) || now.Before(d.rtAt) {
		d.rtAt = now
		d.rt.check(now)
	}
	d.pages.wake(now)
	d.checkKept(now)
	d.pollConfig(now)
}
