package daemon

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hbdproject/hbd/harc"
	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/link"
	"github.com/hbdproject/hbd/hbd/logging"
	"github.com/hbdproject/hbd/hbd/wire"
)

// Links is what the event loop uses of the heartbeat media (*link.Set).
type Links interface {
	// Send sends a signed message on every link: written (or dropped)
	// when it returns, so data is the caller's again (the loop encodes
	// into one buffer) and nothing is left to wait for at the end.
	Send(data []byte)
	// SendOn sends it on the named link only, as Send.
	SendOn(name string, data []byte) error
	// Drain gives fn what the links' routine sockets hold: the peers'
	// routine messages, read at this node's wake-ups instead of waking it
	// (hbd/link's package doc). Data is valid until fn returns.
	Drain(fn func(link.Packet))
	// TakeFloods appends to dst the names of the links on which the
	// Drains since the last call found a routine socket flooded: the
	// peers' statuses there since the previous Drain may have been
	// dropped (hbd/link's Set.TakeFloods).
	TakeFloods(dst []string) []string
	// SetKeepalive tells the links the peers' new status interval (a
	// reload that keeps the media): a flooded routine socket goes back to
	// being read at wake-ups by it.
	SetKeepalive(d time.Duration)
	// Stats is what `hbd status` shows of each link.
	Stats() map[string]link.LinkStats
	// SharedAddress says that a ucast link opened unsteered because
	// other sockets shared its address: the media opened again once
	// those are closed steer (hbd/link's package doc).
	SharedAddress() bool
	Close() error
	// CloseDrain closes the links once fn has had every peer's message
	// that waits in their sockets and their readers have handed on what
	// they read (a reload's old media).
	CloseDrain(fn func(link.Packet)) error
}

// Runner is what the event loop uses of the resource runner
// (*harc.Runner): group operations, one resource's operation, rc.d hooks.
type Runner interface {
	Start(ctx context.Context, g config.Group) error
	Stop(ctx context.Context, g config.Group) error
	Status(ctx context.Context, g config.Group) (harc.GroupStatus, error)
	// Prepare reads g's statuses in the background for the Start of g
	// that follows, and returns at once (harc.Runner.Prepare); the
	// channel is closed once the reads have ended.
	Prepare(ctx context.Context, g config.Group) <-chan struct{}
	RunResource(ctx context.Context, res config.Resource, op string, timeout time.Duration) harc.Result
	RunEvent(ctx context.Context, event string, fields map[string]string) error
}

// loop is the event loop: every event goes to the core (step), and the
// core's actions are executed, until the core says Exit. It decides
// nothing itself: what happens is the core's. It fails only if its timer
// cannot be made.
func (d *Daemon) loop(ctx context.Context, sigs <-chan os.Signal) error {
	timer, err := newWakeTimer(d.fire)
	if err != nil {
		return err
	}
	d.drainFn = d.drained
	defer timer.close()
	// Held but while parked in the select (standing.go); released before
	// the timer is closed, which waits for its goroutine.
	d.loopMu.Lock()
	defer d.loopMu.Unlock()
	defer d.stopStanding()
	if err := timer.reset(0); err != nil {
		return err
	}
	stopping := false
	for !d.exit {
		d.loopMu.Unlock()
		select {
		case <-ctx.Done():
			d.loopMu.Lock()
			if !stopping {
				// Cancelled from outside (tests): stop as on SIGTERM.
				stopping = true
				d.log.Infof("Heartbeat shutdown in progress. (%d)", os.Getpid())
				d.step(cluster.Stop{Now: time.Now()})
				ctx = context.WithoutCancel(ctx)
			}
		case done := <-d.ops:
			d.loopMu.Lock()
			d.opFinished(done)
		case s := <-sigs:
			d.loopMu.Lock()
			switch s {
			case syscall.SIGHUP:
				d.reopenLog()
				d.reload(ctx, "SIGHUP", false)
			default:
				if stopping {
					d.log.Infof("Already stopping: the resources are being released first.")
					break
				}
				stopping = true
				d.log.Infof("Heartbeat shutdown in progress. (%d)", os.Getpid())
				d.step(cluster.Stop{Now: time.Now()})
			}
		case r := <-d.intake.out:
			d.loopMu.Lock()
			d.receive(r)
		case <-d.reloads:
			d.loopMu.Lock()
			d.reload(ctx, "files changed", true)
		case c := <-d.calls:
			d.loopMu.Lock()
			// What waits in the routine sockets came before the request:
			// a status answered without it would show a peer as last
			// heard up to a keepalive ago.
			d.drain()
			d.core.Sent(&d.standing) // what the order sent shows in the answer
			c.reply <- d.answer(c.req)
			d.pages.answered()
		case f := <-d.monitorFails:
			d.loopMu.Lock()
			d.groupFailed(f)
		case ev := <-d.sbEvents:
			d.loopMu.Lock()
			d.step(ev)
		case now := <-timer.C:
			d.loopMu.Lock()
			timer.fired()
			d.tick(now)
		}
		d.settle(timer)
	}
	return nil
}

// settle is what the loop does after every event: the realtime check
// and the timer set for the core's next deadline.
func (d *Daemon) settle(t *wakeTimer) {
	d.rt.check(time.Now())
	d.rearm(t)
}

// rearm sets the loop's deadline (loopDue) for the core's next one, or
// sooner for the keepers' check (keptCheckBy), and the timer for it or
// the standing order's next send, whichever comes first (standing.go).
func (d *Daemon) rearm(t *wakeTimer) {
	nt := d.core.NextTick()
	if nt.IsZero() {
		nt = time.Now().Add(time.Second)
	}
	d.loopDue = nt
	// The keepers' check rides on the next wake-up, the sender's
	// included (sendStanding), unless that comes too late for it.
	by := nt
	if due, on := d.standing.Due(); on && due.Before(by) {
		by = due
	}
	if k := d.keptCheckBy(by); !k.Equal(by) { // then before by, so before nt
		d.loopDue = k
	}
	if err := t.set(d.wakeAt()); err != nil {
		// Never seen: the descriptor is the loop's own. The next event
		// sets it again.
		d.log.Errorf("event loop timer: %v", err)
	}
}

// tick tells the core the time: the timer of its next deadline fired.
// It is also when the program's file pages are dropped if a drop is due
// (rss.go), when the IP agents' keepers look for their addresses
// (checkKept) and when the configuration files are polled (pollConfig):
// periodic chores ride on the wake-ups, the standing order's sends
// included (sendStanding).
//
// The standing order's status, when one is due, goes first (the timer's
// goroutine handed this wake-up on without sending it: standing.go).
// While the order stands the core is stepped only when its own deadline
// has come; a wake-up for a chore alone leaves it be.
func (d *Daemon) tick(now time.Time) {
	d.sendStanding(now)
	if !d.core.Standing() || !now.Before(d.core.NextTick()) {
		ev := cluster.Tick{Now: now, Load: d.load.at(now)}
		if d.routineCanWait(now) {
			d.stepOnly(ev)
		} else {
			d.step(ev)
		}
	}
	d.pages.wake(now)
	d.checkKept(now)
	d.pollConfig(now)
}

// routineCanWait says whether the Tick at now may go without reading the
// links' routine sockets first: the core says it does what it would do
// with what they hold (a quiet peer's next status is not due yet, no
// deadline of a peer or a link comes before it, and they were read less
// than a deadtime ago: cluster's RoutineCanWait), and nothing waits in
// the loop's queue or in pending, which collect would have put in order
// with them. A peer's message that comes meanwhile wakes the loop, and
// its receive reads them first as ever. At rest beside a quiet peer, most
// wake-ups then make no system call to read sockets that are empty.
func (d *Daemon) routineCanWait(now time.Time) bool {
	return len(d.intake.out) == 0 && len(d.pending) == 0 && d.core.RoutineCanWait(now, d.routineRead)
}

// receive feeds the core a verified message (intake.go) with the peers'
// messages that wait for the loop (collect), in the order collect puts
// them, then gives each back to the intake to decode another datagram
// into: the core keeps nothing of it, and neither do the actions
// executed.
func (d *Daemon) receive(r received) {
	d.pending = append(d.pending, r)
	d.collect()
	d.stepPending()
}

// step feeds one event to the core and executes what it asks for. The
// peers' messages that wait for the loop come first (collect): they
// arrived before the event. A received message is one of them (receive).
// The actions are done with when execute returns (a message is encoded
// into sendBuf and copied by the links; what runs in the background took
// the values it needs), so the core may reuse their storage (Recycle).
func (d *Daemon) step(ev cluster.Event) {
	if r, ok := ev.(cluster.Receive); ok && r.Msg != nil {
		gen, seq := sendKey(r.Msg)
		d.receive(received{Link: r.Link, At: r.Now, Msg: r.Msg, Gen: gen, Seq: seq})
		return
	}
	d.collect()
	d.stepPending()
	d.stepOnly(ev)
}

// drain feeds the core the peers' messages that wait for the loop
// (collect), outside a step: all of them, in the order they came.
func (d *Daemon) drain() {
	if d.links != nil {
		d.drainFrom(d.links)
	}
}

// collect gathers in pending the peers' messages that wait for the loop:
// what the links hold for it (Drain: the routine messages, and what a
// peer's own socket holds that its reader has not taken) and what waits
// in the loop's queue, where a peer's earlier message may be while a
// later routine one waited in the links. They are put in the order their
// senders sent them (order.go): a peer's by its seq, whatever way each
// took and whatever the clock did. And the event after them sees all
// that came before it: a tick that the loop's select took before a
// waiting status (it picks among ready cases at random) does not find its
// sender silent. The queue is taken as it is now: no more than its bound,
// and what comes meanwhile stays for the loop's next turn.
func (d *Daemon) collect() {
	if d.links != nil {
		d.collectFrom(d.links)
	}
}

// collectFrom is collect from the links ls (a reload's old media, or the
// node's). When a peer's seqs have a gap, what it sent before the
// messages in hand has arrived, and may be on its way still (read from
// another socket after them, or in a reader's hands): the links and the
// queue are read once more. A drain that found a routine socket flooded
// tells the core (RoutineFlood) before it judges its peers by what came.
func (d *Daemon) collectFrom(ls Links) {
	if d.drainFn == nil {
		return
	}
	d.take(ls)
	d.order.setPeers(d.cfg.Nodes, d.cfg.ThisNode)
	if d.order.arrange(d.pending) {
		d.take(ls)
		d.order.arrange(d.pending)
	}
	d.order.given()
	if fl := ls.TakeFloods(nil); len(fl) > 0 {
		at := time.Now()
		if ls == d.links {
			at = d.routineRead // (when the drain that found it began)
		}
		d.stepOnly(cluster.RoutineFlood{Now: at, Links: fl})
	}
}

// take appends to pending what the links ls hold for the loop and what
// waits in its queue.
func (d *Daemon) take(ls Links) {
	if ls == d.links {
		// What a later Drain reads arrived after this.
		if d.readClock != nil {
			d.routineRead = d.readClock()
		} else {
			d.routineRead = time.Now()
		}
	}
	ls.Drain(d.drainFn)
	for n := len(d.intake.out); n > 0; n-- {
		d.pending = append(d.pending, <-d.intake.out)
	}
}

// drainFrom feeds the core the messages that wait in ls and in pending,
// outside a step (a reload's media): all of them at once.
func (d *Daemon) drainFrom(ls Links) {
	d.collectFrom(ls)
	d.stepPending()
}

// stepPending feeds the core the messages of pending, in its order, and
// empties it.
func (d *Daemon) stepPending() {
	for _, r := range d.pending {
		d.stepReceived(r)
	}
	clear(d.pending)
	d.pending = d.pending[:0]
}

// drained is a datagram of Drain: verified on the loop (a routine message
// is a status or an acknowledgement, cheap to verify; one that fails is
// counted as the intake counts any) and kept in pending.
func (d *Daemon) drained(p link.Packet) {
	if m := d.intake.check(p); m != nil {
		d.pending = append(d.pending, receivedOf(p, m))
	}
}

// stepReceived feeds the core a received message and gives it back to
// the intake.
func (d *Daemon) stepReceived(r received) {
	d.stepOnly(cluster.Receive{Now: r.At, Link: r.Link, Msg: r.Msg})
	d.intake.release(r.Msg)
}

// stepOnly is step without the drain.
func (d *Daemon) stepOnly(ev cluster.Event) {
	d.stepAt = time.Now()
	d.core.Sent(&d.standing) // what the order sent comes first (standing.go)
	for _, a := range d.core.Step(ev) {
		d.execute(a)
	}
	d.core.Recycle()
}

// execute performs one action of the core. Group operations, watches,
// announcements and hooks run in the background; their results come back
// as events.
func (d *Daemon) execute(a cluster.Action) {
	switch a := a.(type) {
	case *cluster.Send:
		// The links copy what they are given, so one buffer serves
		// every message.
		// A routine message is marked so that its receivers may read it
		// at their own next wake-up (hbd/link's package doc).
		var b []byte
		var err error
		if a.Routine {
			b, err = d.keys.AppendEncodeRoutine(d.sendBuf[:0], a.Msg)
		} else {
			b, err = d.keys.AppendEncode(d.sendBuf[:0], a.Msg)
		}
		if err != nil {
			d.encodeFailed(a.Msg.Value(wire.FType), err)
			return
		}
		d.sendBuf = b
		if a.Link == "" {
			d.links.Send(b)
		} else if err := d.links.SendOn(a.Link, b); err != nil {
			d.log.Debugf("send on %s: %v", a.Link, err)
		}
	case *cluster.StandingStatus:
		d.standing.Apply(a)
		_, on := d.standing.Due()
		d.ordered.Store(on)
	case cluster.Log:
		d.logCore(a)
	case cluster.StartGroup:
		d.runOp(cluster.OpStart, a.Group, a.Spec, a.From, harc.Release{})
	case cluster.StopGroup:
		d.runOp(cluster.OpStop, a.Group, a.Spec, nil, harc.Release{Drain: a.Drain, Taker: a.Taker})
	case cluster.ProbeGroup:
		d.runOp(cluster.OpProbe, a.Group, a.Spec, nil, harc.Release{})
	case cluster.PrepareGroup:
		d.prepare(a)
	case cluster.AbandonStart:
		d.abandonStart(a)
	case cluster.WatchGroup:
		d.startWatch(a.Group, a.Spec)
		d.monitors.Hold(a.Spec, a.Monitors)
	case cluster.UnwatchGroup:
		d.unwatch(a.Group)
	case cluster.Reannounce:
		d.reannounce(a.Group, a.Spec)
	case cluster.PeerState:
		// rc.d/status, with the fields Heartbeat gives it.
		d.hooks.run(d.runner.RunEvent, wire.TStatus, map[string]string{wire.FType: wire.TStatus, wire.FSrc: a.Node, wire.FStatus: a.State})
	case cluster.RunHook:
		d.hooks.run(d.runner.RunEvent, a.Event, a.Fields)
	case cluster.Fence:
		d.fence(a)
	case cluster.PersistSettings:
		if err := saveSettings(d.opts.StateDir, a.Settings); err != nil {
			d.log.Errorf("%v", err)
		}
	case cluster.PeerGenerations:
		if err := savePeerGenerations(d.opts.StateDir, a.Generations); err != nil {
			d.log.Errorf("%v", err)
		}
	case cluster.Exit:
		d.exit = true
		d.stopStanding()
	default:
		d.log.Errorf("internal: unhandled action %T", a)
	}
}

func (d *Daemon) logCore(a cluster.Log) {
	var lg logrus.FieldLogger = d.log.Logger
	switch a.Level {
	case cluster.LevelDebug:
		lg.Debug(a.Msg)
	case cluster.LevelInfo:
		lg.Info(a.Msg)
	case cluster.LevelWarn:
		lg.Warn(a.Msg)
	case cluster.LevelError:
		lg.Error(a.Msg)
	default:
		logging.Crit(lg, a.Msg)
	}
}

// reopenLog reopens the log files (SIGHUP after logrotate). While the log
// output is stuck the reopen is left to the writer, done once its current
// write returns; that is said once until a reopen is done again, not at
// every SIGHUP, each of which would add a line to a queue that is full
// already and bring out hundreds of the same line once the output moves.
func (d *Daemon) reopenLog() {
	err := d.log.Reopen()
	switch {
	case err == nil:
		d.reopenStuck = false
	case errors.Is(err, logging.ErrStuck):
		if !d.reopenStuck {
			d.log.Warnf("reopen log files: %v", err)
		}
		d.reopenStuck = true
	default:
		d.log.Warnf("reopen log files: %v", err)
	}
}
