package daemon

import (
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/testenv"
	"github.com/hbdproject/hbd/hbd/wire"
)

// sentLog records what node1 of a pair sends: each message's type and
// seq, in order, and when.
type sentLog struct {
	mu    sync.Mutex
	types []string
	seqs  []uint64
	ats   []time.Time
}

func (l *sentLog) filter(from string, _ bool, m *wire.Message) verdict {
	if from != "node1" {
		return deliverIt
	}
	seq, _ := m.HexValue(wire.FSeq)
	l.mu.Lock()
	l.types = append(l.types, m.Type())
	l.seqs = append(l.seqs, seq)
	l.ats = append(l.ats, time.Now())
	l.mu.Unlock()
	return deliverIt
}

// statusesBetween counts node1's statuses sent in [from, to).
func (l *sentLog) statusesBetween(from, to time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for i, t := range l.types {
		if t == wire.TStatus && !l.ats[i].Before(from) && l.ats[i].Before(to) {
			n++
		}
	}
	return n
}

// gaps lists where the seqs node1 sent were not one stream: a new seq
// that is not the one after the highest so far.
func (l *sentLog) gaps() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	var high uint64
	for i, s := range l.seqs {
		switch {
		case s == 0:
		case high != 0 && s > high+1:
			out = append(out, l.types[i]+" seq "+wire.Hex(s)+" after "+wire.Hex(high))
		}
		high = max(high, s)
	}
	return out
}

// standingPair is a pair at keepalive 20 ms / deadtime 100 ms, node2
// quiet, node1's standing status order in force, node1's sends logged.
func standingPair(t *testing.T) (*pairRig, *sentLog) {
	t.Helper()
	p := newPair(t, 20*time.Millisecond, 100*time.Millisecond)
	log := &sentLog{}
	p.net.mu.Lock()
	p.net.filter = log.filter
	p.net.mu.Unlock()
	p.waitQuiet(5 * time.Second)
	d := p.ends[0].d
	// Not before the start's deadtime bonus is over (5 s: cluster's
	// StartBonusFor), whose end changes the status.
	deadline := p.start.Add(8 * time.Second)
	for {
		d.loopMu.Lock() // the loop holds it but while parked: the core is ours
		on := d.core.Standing()
		d.loopMu.Unlock()
		if on {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node1's standing order never stood\n%s", p.ends[0].logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return p, log
}

// TestLoopStandingPair: two loops, node2 quiet: node1's statuses go out
// every keepalive from its standing order, one seq stream with what its
// core sends, while its loop reads the routine sockets (and steps its
// core) only about once per status of node2; nobody dies, and node2
// misses none of node1's seqs.
func TestLoopStandingPair(t *testing.T) {
	p, log := standingPair(t)
	drains0 := p.ends[0].drains.Load()
	from := time.Now()
	time.Sleep(2 * time.Second)
	sent := log.statusesBetween(from, time.Now())
	drains := p.ends[0].drains.Load() - drains0
	if sent < 60 {
		t.Errorf("node1 sent %d statuses in 2 s at keepalive 20 ms", sent)
	}
	if drains > int64(sent/3) {
		t.Errorf("node1's loop read its routine sockets %d times beside %d statuses: want it woken about once per status of its quiet peer", drains, sent)
	}
	if g := log.gaps(); len(g) > 0 {
		t.Errorf("node1's seqs have gaps: %v", g)
	}
	for i := range 2 {
		if d := p.deaths(i); len(d) > 0 {
			t.Errorf("node%d: %v", i+1, d)
		}
	}
	st := p.status(1)
	if len(st.Peers) != 1 || st.Peers[0].Lost != 0 {
		t.Errorf("node2 sees node1 %+v, want nothing lost", st.Peers)
	}
	t.Logf("%d statuses, %d reads of the routine sockets", sent, drains)
}

// TestLoopStandingStuck: a loop that does not come back to its select
// (here loopMu held for three deadtimes, as a Step or an action that
// hangs holds it) sends no status: node2 declares node1 dead. Once it
// comes back the statuses go out again.
func TestLoopStandingStuck(t *testing.T) {
	p, log := standingPair(t)
	d := p.ends[0].d
	d.loopMu.Lock()
	held := time.Now()
	time.Sleep(300 * time.Millisecond)
	released := time.Now()
	d.loopMu.Unlock()
	// One send may have begun before the hold (it takes loopMu first).
	if n := log.statusesBetween(held.Add(5*time.Millisecond), released); n > 0 {
		t.Errorf("node1 sent %d statuses while its loop was stuck", n)
	}
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(strings.Join(p.deaths(1), "\n"), "node1") {
		if time.Now().After(deadline) {
			t.Fatalf("node2 never declared node1 dead\n%s", p.ends[1].logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if n := log.statusesBetween(released, time.Now()); n < 3 {
		t.Errorf("node1 sent %d statuses in the 200 ms after its loop came back", n)
	}
	if g := log.gaps(); len(g) > 0 {
		t.Errorf("node1's seqs have gaps: %v", g)
	}
}

// TestLoopStandingStop: a graceful stop ends the order in its first
// Step: after the shutdown notice nothing more is sent, and the seqs
// are one stream up to it.
func TestLoopStandingStop(t *testing.T) {
	p, log := standingPair(t)
	r := p.rigs[0]
	r.sigs <- syscall.SIGTERM
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		t.Fatal("node1 did not stop")
	}
	time.Sleep(100 * time.Millisecond) // a send that would follow
	log.mu.Lock()
	types := append([]string(nil), log.types...)
	log.mu.Unlock()
	last := -1
	for i, typ := range types {
		if typ == wire.TShutdone {
			last = i
		}
	}
	if last < 0 {
		t.Fatalf("node1 sent no shutdown notice: %v", types)
	}
	if after := types[last+1:]; len(after) > 0 {
		t.Errorf("node1 sent %v after its shutdown notice", after)
	}
	if g := log.gaps(); len(g) > 0 {
		t.Errorf("node1's seqs have gaps: %v", g)
	}
}

// rest runs keepalives of node1 at rest beside quiet node2 (its
// routine status every tenth), each a tick of the loop, and checks that
// node1's standing order stands after them.
func (r *heartbeatRig) rest(t *testing.T, keepalives int) {
	t.Helper()
	for i := 1; i <= keepalives; i++ {
		r.now = r.now.Add(r.cfg.Keepalive)
		if i%10 == 0 {
			r.queueStatus(r.now.Add(-4 * time.Millisecond))
		}
		r.d.tick(r.now)
		r.d.settle(r.timer)
	}
	if !r.d.core.Standing() {
		t.Fatal("node1's standing order does not stand")
	}
}

// TestStandingSendAllocatesNothing: the sender's path (fire on the
// timer's goroutine: the order's status stamped, signed and sent, the
// timer armed) and the core's taking of what it sent allocate nothing
// once the history of sent messages is full.
func TestStandingSendAllocatesNothing(t *testing.T) {
	r := quietRig(t)
	r.rest(t, cluster.HistorySize+20)
	r.d.loopDue = r.now.Add(time.Hour) // the sender's turns only
	r.d.load.next = r.now.Add(time.Hour)
	sent0 := r.links.sent.Load()
	allocs := testing.AllocsPerRun(100, func() {
		r.now = r.now.Add(r.cfg.Keepalive)
		if r.d.fire(r.timer, r.now) {
			t.Fatal("the sender woke the loop")
		}
		r.d.core.Sent(&r.d.standing)
	})
	if n := r.links.sent.Load() - sent0; n != 101 {
		t.Errorf("%d statuses sent in 101 turns of the sender", n)
	}
	if allocs != 0 && !testenv.RaceDetector {
		t.Errorf("the sender's turn allocates %v times, want 0", allocs)
	}
}

// TestFireWithoutOrder: the timer's expiry goes straight to the loop,
// without the loop's mutex, on a node with no order (a quiet passive);
// with an order, fire waits for a loop that holds the mutex (a stuck
// loop sends nothing).
func TestFireWithoutOrder(t *testing.T) {
	r := quietRig(t)
	// fireHeld calls fire while the loop's mutex is held and waits up
	// to bound for it to return: long where it must return (a loaded
	// machine may run its goroutine late), short where it must wait.
	fireHeld := func(bound time.Duration) (woke, returned bool) {
		r.d.loopMu.Lock()
		done := make(chan bool, 1)
		go func() { done <- r.d.fire(r.timer, r.now.Add(time.Millisecond)) }()
		select {
		case woke = <-done:
			returned = true
		case <-time.After(bound):
		}
		r.d.loopMu.Unlock()
		if !returned {
			<-done
		}
		return woke, returned
	}
	if r.d.core.Standing() {
		t.Fatal("node1's order stands before its first ticks")
	}
	if woke, returned := fireHeld(10 * time.Second); !returned || !woke {
		t.Errorf("no order, the loop's mutex held: fire returned %v, woke the loop %v; want both", returned, woke)
	}
	r.rest(t, 100)
	if _, returned := fireHeld(100 * time.Millisecond); returned {
		t.Error("an order stands, the loop's mutex held: fire returned without waiting for it")
	}
}
