package etcdown

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hbdproject/hbd/hbd/cluster"
)

// Owner runs the ownership loop of one node.
type Owner struct {
	cli   *clientv3.Client
	o     Options
	lease *lease
	log   logrus.FieldLogger
	// fails logs the requests to etcd that fail, not at every pass.
	fails *failureLog
	// store holds the keys under the prefix, kept by the watch.
	store *store

	mu sync.Mutex
	// held: the groups started here, with their fencing tokens.
	held map[string]int64
	// ownedBy: the lease each held group's owner key lives under.
	ownedBy map[string]clientv3.LeaseID
	// pending: a reload's update, applied at the next pass (Reconfigure).
	pending *Update
	// givenUp: the groups a monitor gave up, released at the next pass
	// (GiveUp).
	givenUp []giveUp
	// failedUntil: the groups whose start failed here or that a
	// monitor gave up here, with when the failure ends (zero: at
	// Cleanup) (failures.go).
	failedUntil map[string]time.Time
	// starting: the starts under way, which the watchdog ends
	// (watchdog.go); stopping: the stops under way, each closed when
	// its stop has ended, so that a group is stopped once however many
	// callers ask.
	starting map[string]*startCall
	stopping map[string]chan struct{}
	// stopFailed: the held groups whose stop before a release failed,
	// kept with their owner keys until Cleanup retries the stop
	// (stopfailed.go); cleanStops: the groups ("" every group) whose
	// stop a Cleanup asked to retry at the next pass.
	stopFailed map[string]bool
	cleanStops []string

	// wakeC asks the loop for a pass now (a setting changed).
	wakeC chan struct{}
	// Owned by the loop: when each member joined, and the failbacks
	// whose delay was logged (failback.go); when this node started, the
	// members seen leaving since, and the nodes whose initdead wait was
	// logged (initdead.go).
	joined         map[string]joinSeen
	failbackLogged map[string]time.Time
	started        time.Time
	left           map[string]bool
	initDeadLogged map[string]bool
	// Owned by the loop: the groups this node stood by for under lease
	// yieldsOf when it last saw its member key there, written again
	// under the next lease (standby.go).
	yields   []string
	yieldsOf clientv3.LeaseID
}

// New returns an Owner using cli; Run starts it.
func New(cli *clientv3.Client, o Options) *Owner {
	if o.Interval <= 0 {
		o.Interval = o.TTL / 10
	}
	if o.SafetyPoll <= 0 {
		o.SafetyPoll = o.TTL
	}
	if o.Stopping == nil {
		o.Stopping = ErrStopping
	}
	log := o.Log
	if log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		log = l
	}
	fails := newFailureLog(log)
	fails.explain = func(err error) error { return explained(err, o.User, o.Prefix) }
	return &Owner{
		cli:     cli,
		o:       o,
		lease:   &lease{cli: cli, ttl: o.TTL, interval: o.Interval},
		log:     log,
		fails:   fails,
		store:   newStore(o.Prefix),
		held:    map[string]int64{},
		ownedBy: map[string]clientv3.LeaseID{},

		failedUntil:    map[string]time.Time{},
		starting:       map[string]*startCall{},
		stopping:       map[string]chan struct{}{},
		stopFailed:     map[string]bool{},
		wakeC:          make(chan struct{}, 1),
		failbackLogged: map[string]time.Time{},
		started:        o.Started,
		left:           map[string]bool{},
		initDeadLogged: map[string]bool{},
	}
}

// wake asks the loop for a pass now.
func (w *Owner) wake() {
	select {
	case w.wakeC <- struct{}{}:
	default:
	}
}

// Held returns the groups this node holds, with their fencing tokens:
// those it runs and those whose start is under way.
func (w *Owner) Held() map[string]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]int64, len(w.held))
	for k, v := range w.held {
		out[k] = v
	}
	return out
}

func (w *Owner) memberKey(node string) string { return w.o.Prefix + "members/" + node }
func (w *Owner) ownerKey(group string) string { return w.o.Prefix + "owners/" + group }

// stopBy is when this node must start stopping its groups: the lease
// lives at least until `until`, and the slowest stop plus one loop
// period and one call timeout must fit before it. SlowestStop is read
// under w.mu (a reload writes it): stopByLocked is for callers that hold
// it.
func (w *Owner) stopBy(until time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stopByLocked(until)
}

func (w *Owner) stopByLocked(until time.Time) time.Time {
	return until.Add(-w.o.SlowestStop - 2*w.o.Interval)
}

// mayStart tells whether lease id is the current one and its stop-by
// time has not passed: a start begun now would be ended by the watchdog
// at that time at the latest. mayStartLocked is for callers holding w.mu.
func (w *Owner) mayStart(id clientv3.LeaseID) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mayStartLocked(id)
}

func (w *Owner) mayStartLocked(id clientv3.LeaseID) bool {
	cur, until := w.lease.current()
	return cur == id && time.Now().Before(w.stopByLocked(until))
}

// Run runs the loop until ctx ends, then stops every group and revokes
// the lease (a graceful stop: others take over at once); a group whose
// stop fails keeps it waiting (shutdown.go).
func (w *Owner) Run(ctx context.Context) error {
	if w.started.IsZero() {
		w.started = time.Now()
	}
	// The renewals, the watch and the watchdog outlive ctx: they go on
	// through the shutdown, which may wait for a stop-failed group.
	kctx, kcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer kcancel()
	go w.lease.keep(kctx, func(err error) {
		if errors.Is(err, errLeaseGone) {
			w.log.Warnf("etcd: %v", err) // once per lease
			return
		}
		w.fails.failed("lease renewal", err)
	}, func() { w.fails.ok("lease renewal") })
	go w.watch(kctx)
	dogDone := make(chan struct{})
	go func() { defer close(dogDone); w.watchdog(kctx) }()
	t := time.NewTicker(w.o.Interval)
	defer t.Stop()
	for {
		w.step(ctx)
		select {
		case <-ctx.Done():
			w.shutdown(kctx)
			kcancel()
			<-dogDone
			w.revoke()
			return nil
		case now := <-t.C:
			if w.o.Wake != nil {
				w.o.Wake(now)
			}
		case <-w.wakeC:
		}
	}
}

// step is one pass of the loop: the groups of a dropped lease stopped
// (the watchdog, which runs apart from the loop, has begun their stops),
// a lease if there is none, the member key under it if this node's copy
// of the keys lacks it (a write that failed or timed out, a key deleted
// by hand), then the placement.
func (w *Owner) step(ctx context.Context) {
	id, _ := w.lease.current()
	w.applyPending(ctx, id)
	w.stopOrphans(ctx, id)
	if id == 0 {
		if err := w.lease.grant(ctx); err != nil {
			w.fails.failed("lease grant", err)
			return
		}
		w.fails.ok("lease grant")
		id, _ = w.lease.current()
	}
	if !w.store.has(w.memberKey(w.o.Node), int64(id)) {
		if err := w.putMember(ctx, id); err != nil {
			w.fails.failed("membership", err)
			return
		}
		w.fails.ok("membership")
	}
	w.noteYields(id)
	switch err := w.reconcile(ctx, id); {
	case err == nil:
		w.fails.ok("placement")
	case ctx.Err() == nil:
		w.fails.failed("placement", err)
	}
}

// stopOrphans stops the groups held under another lease than id (a lease
// dropped as expired or not renewed in time), all at once (stopLost).
func (w *Owner) stopOrphans(ctx context.Context, id clientv3.LeaseID) {
	var old []string
	for _, g := range w.heldKeys() {
		w.mu.Lock()
		l := w.ownedBy[g]
		w.mu.Unlock()
		if l != id {
			old = append(old, g)
		}
	}
	w.stopLost(ctx, old)
}

// stopLost stops gs, groups whose owner keys are gone or going, all at
// once, not maxParallel at a time: another node may claim them as soon
// as the keys are gone, so each stop must begin now, however many groups
// run here (as the watchdog's).
func (w *Owner) stopLost(ctx context.Context, gs []string) {
	w.stopEach(ctx, gs, 0)
}

// putMember writes this node's member key under lease id, after the
// standby flags it had under the lease before, if any (carryYields).
func (w *Owner) putMember(ctx context.Context, id clientv3.LeaseID) error {
	ctx, cancel := context.WithTimeout(ctx, w.o.Interval)
	defer cancel()
	if err := w.carryYields(ctx, id); err != nil {
		return err
	}
	key := w.memberKey(w.o.Node)
	resp, err := w.cli.Put(ctx, key, w.o.Node, clientv3.WithLease(id))
	if err != nil {
		return fmt.Errorf("register as a member: %w", err)
	}
	rev := resp.Header.Revision
	w.store.wrote(kv{key: key, value: w.o.Node, lease: int64(id), created: rev}, rev, false)
	return nil
}

// revokeLater revokes a dropped lease once etcd answers, so its keys go
// before it would expire; a failure is harmless (it expires).
func (w *Owner) revokeLater(id clientv3.LeaseID) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), w.o.TTL)
		defer cancel()
		_, _ = w.cli.Revoke(ctx, id)
	}()
}

// reconcile brings what runs here to what the placement rule wants.
func (w *Owner) reconcile(ctx context.Context, id clientv3.LeaseID) error {
	v, loaded := w.store.view()
	if !loaded {
		return nil // the watch has not read the keys yet
	}
	// This node's failures are what it knows, which its records in etcd
	// follow (failures), not what its copy of the keys shows yet.
	v.failed[w.o.Node] = w.failures(ctx, id, v.failed[w.o.Node])
	w.noteJoins(v)
	p := cluster.Placement{
		Nodes: w.o.Nodes, Failback: w.o.Failback, Exclusive: w.o.Exclusive,
		Groups: w.o.Groups, Live: v.live, Holders: v.holder,
		Standby: v.standby, Disabled: v.disabled, Moves: v.moves, Failed: v.failed,
		StandsBy: v.yield,
	}
	desired := p.Desired()
	w.holdFailbacks(p, desired)
	// The held groups whose owner keys this lease lost stop first.
	var lost, owned []string
	for _, g := range w.heldKeys() {
		if v.holder[g] != w.o.Node || v.leaseOf[g] != id {
			w.log.Errorf("etcd: group %s is no longer owned by this node in etcd: stopping it", g)
			lost = append(lost, g)
		} else {
			owned = append(owned, g)
		}
	}
	w.stopLost(ctx, lost)
	// Releases next, so that exclusive groups and failbacks free the
	// place before anything starts; a release that failed leaves the
	// claims to the next pass. v still shows the released owner keys:
	// released keeps them from looking like orphans below.
	var relMu sync.Mutex
	released := map[string]bool{}
	err := each(owned, maxParallel, func(g string) error {
		if d := desired[g]; d != w.o.Node && !w.isStopFailed(g) {
			w.log.Infof("etcd: releasing group %s (%s)", g, givenTo(d))
			if !w.stopToRelease(ctx, g) {
				return nil
			}
			if err := w.release(ctx, g, id); err != nil {
				return err
			}
			relMu.Lock()
			released[g] = true
			relMu.Unlock()
		}
		return nil
	})
	if err != nil {
		return err
	}
	var claims []string
	orphans := map[string]bool{}
	now := time.Now()
	for _, pg := range w.o.Groups {
		g := pg.Key
		switch {
		case w.isHeld(g), released[g]:
		case v.holder[g] == w.o.Node && v.leaseOf[g] == id:
			// An owner key of this lease for a group not started here:
			// a write whose answer was lost (a timeout after etcd
			// committed it). Nobody else can take the group while it
			// is there: start the group on it or delete it.
			orphans[g] = true
			claims = append(claims, g)
		case desired[g] == w.o.Node && v.holder[g] == "" && !w.awaitsPreferred(pg, v, now):
			claims = append(claims, g)
		}
	}
	// Each claim is its own transaction, so each group's fencing token is
	// the revision that created its own key.
	return each(claims, maxParallel, func(g string) error {
		if orphans[g] {
			return w.orphan(ctx, g, id, v.createdAt[g], desired[g] == w.o.Node)
		}
		return w.acquire(ctx, g, id)
	})
}

// orphan deals with g's owner key of lease id, created at revision rev,
// that this node did not know it had: it starts g with rev as its token
// if the rule gives g to this node and etcd confirms the key is still
// that one (this node's copy may be behind), and deletes it otherwise.
func (w *Owner) orphan(ctx context.Context, g string, id clientv3.LeaseID, rev int64, wanted bool) error {
	if !wanted {
		w.log.Warnf("etcd: group %s is owned by this node in etcd but not started here: releasing it", g)
		return w.release(ctx, g, id)
	}
	if !w.mayStart(id) {
		return nil // the watchdog stops this lease's groups
	}
	cctx, cancel := context.WithTimeout(ctx, w.o.Interval)
	key, yield := w.ownerKey(g), w.yieldKey(w.o.Node, g)
	// Holding g spends this node's standby for it, as a claim does.
	resp, err := w.cli.Txn(cctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", rev), clientv3.Compare(clientv3.LeaseValue(key), "=", id)).
		Then(clientv3.OpDelete(yield)).
		Commit()
	cancel()
	if err != nil {
		return fmt.Errorf("confirm the owner key of group %s: %w", g, err)
	}
	if !resp.Succeeded {
		return nil // gone or replaced; the watch brings it
	}
	w.store.wrote(kv{key: yield}, resp.Header.Revision, true)
	w.log.Warnf("etcd: group %s is owned by this node in etcd (a write whose answer was lost): starting it", g)
	return w.run(ctx, g, rev, id)
}

// acquire creates g's owner key under lease id if nobody has, then
// starts g with the creating revision as its fencing token.
func (w *Owner) acquire(ctx context.Context, g string, id clientv3.LeaseID) error {
	if !w.mayStart(id) {
		return nil // the watchdog stops this lease's groups
	}
	cctx, cancel := context.WithTimeout(ctx, w.o.Interval)
	key, yield := w.ownerKey(g), w.yieldKey(w.o.Node, g)
	// Holding g spends this node's standby for it (standby.go).
	resp, err := w.cli.Txn(cctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, w.o.Node, clientv3.WithLease(id)), clientv3.OpDelete(yield)).
		Commit()
	cancel()
	if err != nil {
		return fmt.Errorf("acquire group %s: %w", g, err)
	}
	if !resp.Succeeded {
		return nil // another node was first; the next read shows it
	}
	token := resp.Header.Revision
	w.store.wrote(kv{key: key, value: w.o.Node, lease: int64(id), created: token}, token, false)
	w.store.wrote(kv{key: yield}, token, true)
	return w.run(ctx, g, token, id)
}

// run starts g, owned under lease id with token, here, unless id is no
// longer current or its stop-by time has passed; the watchdog ends the
// start at that time (watchdog.go). A failed start is stopped (unless
// it rolled itself back: ErrRolledBack), recorded and released; a start the watchdog ended is only stopped: the lease,
// not the group, failed, and the key goes with the lease. So is a start
// that ctx ended, with cause Options.Stopping (the loop stops, and its
// shutdown revokes the lease), except that if that stop fails the group
// stays held, stop-failed, and the shutdown waits for it (shutdown.go).
func (w *Owner) run(ctx context.Context, g string, token int64, id clientv3.LeaseID) error {
	sctx, scancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer scancel(nil)
	defer context.AfterFunc(ctx, func() { scancel(w.o.Stopping) })()
	call := &startCall{cancel: scancel, done: make(chan struct{})}
	// Under w.mu, so that the watchdog, which drops the lease before it
	// takes w.mu, either finds this start or keeps it from beginning.
	w.mu.Lock()
	if !w.mayStartLocked(id) {
		w.mu.Unlock()
		return nil
	}
	w.held[g], w.ownedBy[g] = token, id
	w.starting[g] = call
	w.mu.Unlock()
	w.log.Infof("etcd: acquired group %s (fencing token %d): starting it", g, token)
	err := w.o.Runner.Start(sctx, g, token)
	w.mu.Lock()
	delete(w.starting, g)
	if errors.Is(err, ErrRolledBack) {
		// Nothing of g runs here: forgotten before a stop waiting
		// for this start can see it (stop checks held again).
		w.forgetLocked(g)
	}
	close(call.done)
	w.mu.Unlock()
	if err != nil {
		switch cause := context.Cause(sctx); {
		case errors.Is(cause, errCutOff):
			w.log.Errorf("etcd: start of group %s ended: %v", g, errCutOff)
			w.stop(ctx, g)
			return nil
		case ctx.Err() != nil && errors.Is(err, ErrRolledBack):
			w.log.Infof("etcd: start of group %s ended: %v; it stopped what it had started", g, cause)
			return nil
		case ctx.Err() != nil:
			w.log.Infof("etcd: start of group %s ended: %v; stopping it in order", g, cause)
			w.stopToRelease(ctx, g)
			return nil
		}
		w.log.Errorf("etcd: start of group %s failed: %v", g, err)
		stopped := w.stopToRelease(ctx, g)
		// The failure first: once the key is gone, the rule must not
		// give the group back to this node.
		w.recordFailure(ctx, g, id)
		if !stopped {
			return nil
		}
		return w.release(ctx, g, id)
	}
	return nil
}

// release deletes g's owner key if it is still this lease's.
func (w *Owner) release(ctx context.Context, g string, id clientv3.LeaseID) error {
	ctx, cancel := context.WithTimeout(ctx, w.o.Interval)
	defer cancel()
	key := w.ownerKey(g)
	resp, err := w.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.LeaseValue(key), "=", id)).
		Then(clientv3.OpDelete(key)).
		Commit()
	if err != nil {
		return fmt.Errorf("release group %s: %w", g, err)
	}
	if resp.Succeeded {
		w.store.wrote(kv{key: key}, resp.Header.Revision, true)
	}
	return nil
}

// stop stops g here and forgets it, whether its stop fails or not: its
// owner key is gone or going (a lost lease, a lost key), so keeping it
// held here would protect nothing. Stops get their own time (the
// slowest stop), even when ctx has ended: a group is never left running. A group already being stopped is waited for, not stopped
// twice; a group whose start is under way is stopped once that start has
// returned (the Runner never runs both at once), unless that start
// rolled itself back (ErrRolledBack) or the group is held again since
// under another start.
func (w *Owner) stop(_ context.Context, g string) {
	_ = w.stopAs(g, false)
}

// stopAs is stop; with keep, a group whose stop fails stays held,
// stop-failed (stopToRelease). It returns the stop's error, or
// errStopFailed when it waited for another caller's stop that left the
// group stop-failed.
func (w *Owner) stopAs(g string, keep bool) error {
	w.mu.Lock()
	if ch, ok := w.stopping[g]; ok {
		w.mu.Unlock()
		<-ch
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.stopFailed[g] {
			return errStopFailed
		}
		return nil
	}
	token, ok := w.held[g]
	if !ok {
		w.mu.Unlock()
		return nil
	}
	stopped := make(chan struct{})
	w.stopping[g] = stopped
	slowest := w.o.SlowestStop
	var started chan struct{}
	if s := w.starting[g]; s != nil {
		started = s.done
	}
	w.mu.Unlock()
	if started != nil {
		<-started
		// Not when the start rolled itself back, nor when the loop has
		// held g again since under a new start (another token): that
		// hold is not this stop's, and its start may still run.
		w.mu.Lock()
		now, held := w.held[g]
		ok = held && now == token && w.starting[g] == nil
		w.mu.Unlock()
	}
	var err error
	if ok {
		ctx, cancel := context.WithTimeout(context.Background(), slowest)
		defer cancel()
		err = w.o.Runner.Stop(ctx, g, token)
		switch {
		case err != nil && keep:
			w.log.Errorf("etcd: stop of group %s failed: %v; it stays held here with its owner key, so that no other node starts it, until hbd cleanup %s stops it", g, err, g)
		case err != nil:
			w.log.Errorf("etcd: stop of group %s failed: %v", g, err)
		}
	}
	w.mu.Lock()
	switch {
	case ok && err != nil && keep:
		w.stopFailed[g] = true
	case ok:
		w.forgetLocked(g)
	}
	delete(w.stopping, g)
	close(stopped)
	w.mu.Unlock()
	return err
}

// forgetLocked forgets g, which no longer runs here. Called with w.mu held.
func (w *Owner) forgetLocked(g string) {
	delete(w.held, g)
	delete(w.ownedBy, g)
	delete(w.stopFailed, g)
}

// stopEach stops gs, at most limit at a time (< 1: all at once).
func (w *Owner) stopEach(ctx context.Context, gs []string, limit int) {
	_ = each(gs, limit, func(g string) error { w.stop(ctx, g); return nil })
}

func (w *Owner) isHeld(g string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.held[g]
	return ok
}

// heldKeys lists the held groups in haresources order reversed (the last
// line's stop is begun first, as a graceful stop does), then, sorted,
// those a reload removed whose stop failed (stopfailed.go).
func (w *Owner) heldKeys() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for i := len(w.o.Groups) - 1; i >= 0; i-- {
		if _, ok := w.held[w.o.Groups[i].Key]; ok {
			out = append(out, w.o.Groups[i].Key)
		}
	}
	if len(out) == len(w.held) {
		return out
	}
	var removed []string
	for g := range w.held {
		if !slices.Contains(out, g) {
			removed = append(removed, g)
		}
	}
	slices.Sort(removed)
	return append(out, removed...)
}

// givenTo says where the placement rule puts a group this node
// releases: a node, or none (the group disabled, every node that may
// hold it in standby, standing by or failed there).
func givenTo(node string) string {
	if node == "" {
		return "the placement rule gives it to no node now"
	}
	return fmt.Sprintf("the placement rule gives it to %q", node)
}
