package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/harc"
	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/link"
	"github.com/hbdproject/hbd/hbd/logging"
	"github.com/hbdproject/hbd/hbd/monitor"
	"github.com/hbdproject/hbd/hbd/testenv"
	"github.com/hbdproject/hbd/hbd/wire"
)

// The event loop (loop, step, execute, receive, answer) driven without
// root: fake links and a fake runner stand in for the sockets and harc.

// fakeLinks records what the loop sends.
type fakeLinks struct {
	keys *wire.Keyring

	mu   sync.Mutex
	sent []*wire.Message
	// routine waits for the next Drain, as in a routine socket; drains
	// counts the Drains.
	routine []link.Packet
	drains  int
	// floods is what the next TakeFloods says.
	floods []string
}

func (f *fakeLinks) TakeFloods(dst []string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	dst = append(dst, f.floods...)
	f.floods = nil
	return dst
}

func (f *fakeLinks) Send(b []byte) { f.record(b) }

func (f *fakeLinks) Drain(fn func(link.Packet)) {
	f.mu.Lock()
	f.drains++
	f.mu.Unlock()
	takeRoutine(&f.mu, &f.routine, fn)
}

// takeRoutine empties *q under mu and gives fn what it held, in order:
// the Drain of a fake routine socket.
func takeRoutine(mu *sync.Mutex, q *[]link.Packet, fn func(link.Packet)) {
	mu.Lock()
	ps := *q
	*q = nil
	mu.Unlock()
	for _, p := range ps {
		fn(p)
	}
}

// queueRoutine puts a routine datagram where the next Drain finds it.
func (f *fakeLinks) queueRoutine(p link.Packet) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routine = append(f.routine, p)
}

func (f *fakeLinks) SendOn(_ string, b []byte) error { f.record(b); return nil }

func (f *fakeLinks) record(b []byte) {
	m, err := f.keys.Decode(b)
	if err != nil {
		panic(fmt.Sprintf("the loop sent an undecodable datagram: %v", err))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, m)
}

func (f *fakeLinks) Stats() map[string]link.LinkStats {
	return map[string]link.LinkStats{"eth0": {}}
}

func (f *fakeLinks) Close() error { return nil }

func (f *fakeLinks) CloseDrain(fn func(link.Packet)) error {
	f.Drain(fn)
	return nil
}

func (f *fakeLinks) SharedAddress() bool { return false }

func (f *fakeLinks) SetKeepalive(time.Duration) {}

// sentOf returns the messages of type typ sent so far.
func (f *fakeLinks) sentOf(typ string) []*wire.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*wire.Message
	for _, m := range f.sent {
		if m.Value("t") == typ {
			out = append(out, m)
		}
	}
	return out
}

// fakeRunner records the operations and hooks the loop runs. Its groups
// are found stopped; starts and stops succeed. before, if set, runs at the
// start of every call (under no lock).
type fakeRunner struct {
	before      func(call string)
	prepareDone chan struct{} // what Prepare returns (nil: a closed channel)

	mu    sync.Mutex
	calls []string
	hooks []map[string]string
}

func (f *fakeRunner) note(call string) {
	if f.before != nil {
		f.before(call)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeRunner) Start(_ context.Context, g config.Group) error {
	f.note("start " + g.Key())
	return nil
}

func (f *fakeRunner) Stop(_ context.Context, g config.Group) error {
	f.note("stop " + g.Key())
	return nil
}

func (f *fakeRunner) Status(_ context.Context, g config.Group) (harc.GroupStatus, error) {
	f.note("status " + g.Key())
	return harc.GroupStatus{State: harc.GroupNone}, nil
}

// Prepare returns prepareDone, or a closed channel when it is nil.
func (f *fakeRunner) Prepare(_ context.Context, g config.Group) <-chan struct{} {
	f.note("prepare " + g.Key())
	if f.prepareDone != nil {
		return f.prepareDone
	}
	done := make(chan struct{})
	close(done)
	return done
}

func (f *fakeRunner) RunResource(_ context.Context, res config.Resource, op string, _ time.Duration) harc.Result {
	f.note(op + " " + res.Spec)
	return harc.Result{}
}

func (f *fakeRunner) RunEvent(_ context.Context, event string, fields map[string]string) error {
	f.note("hook " + event)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hooks = append(f.hooks, fields)
	return nil
}

func (f *fakeRunner) callList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeRunner) count(call string) int {
	n := 0
	for _, c := range f.callList() {
		if c == call {
			n++
		}
	}
	return n
}

// loopConfig is node1's configuration with the given nodes (node1 first).
func loopConfig(nodes ...string) *config.Config {
	return &config.Config{
		ThisNode:  "node1",
		Nodes:     nodes,
		Keepalive: 100 * time.Millisecond,
		Warntime:  time.Second,
		Deadtime:  2 * time.Second,
		Initdead:  30 * time.Second,
		UDPPort:   694,
		Media: []config.Medium{
			{Kind: config.Ucast, Iface: "eth0", Addr: netip.MustParseAddr("192.0.2.2"), Port: 694},
			{Kind: config.Ucast, Iface: "eth1", Addr: netip.MustParseAddr("198.51.100.2"), Port: 694},
		},
		Auth: config.Auth{Active: 1, Keys: []config.Key{{Index: 1, Method: "sha1", Secret: "a secret long enough"}}},
	}
}

// loopRig is a daemon whose loop runs with fakes around it.
type loopRig struct {
	t      *testing.T
	d      *Daemon
	links  *fakeLinks
	runner *fakeRunner
	sigs   chan os.Signal
	done   chan struct{}
	gen2   uint64
	seq2   uint64
}

// newTestDaemon builds a daemon around fakes, its loop not started; its
// log goes to buf. Cleanup stops what it started.
func newTestDaemon(t *testing.T, cfg *config.Config, runner *fakeRunner) (*Daemon, *fakeLinks, *testenv.LockedBuffer) {
	t.Helper()
	return newTestDaemonIn(t, cfg, runner, t.TempDir())
}

// newTestDaemonIn is newTestDaemon with its state directory (and its
// configuration and run directories) in dir: what it kept there of an
// earlier run is given to its core.
func newTestDaemonIn(t testing.TB, cfg *config.Config, runner *fakeRunner, dir string) (*Daemon, *fakeLinks, *testenv.LockedBuffer) {
	t.Helper()
	buf := &testenv.LockedBuffer{}
	lg, err := logging.New(logging.Options{Outputs: logging.Outputs{Debug: 1}, Stderr: buf})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := keyring(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Daemon{
		opts: Options{ConfigDir: dir, RunDir: dir, StateDir: dir},
		cfg:  cfg, log: lg, keys: keys, start: time.Now(),
		calls:      make(chan ctlCall),
		reloads:    make(chan struct{}, 1),
		ops:        make(chan cluster.OpDone, 16),
		watches:    map[string]*ipWatch{},
		unwatching: map[string]func(){},
		starts:     map[string]*harc.Abandon{},
		sbEvents:   make(chan cluster.Event, sbEventQueue),
		opsCtx:     ctx,
		runner:     runner,
		rscTmp:     dir,
	}
	links := &fakeLinks{keys: keys}
	d.links = links
	d.intake = newIntake(keys, lg.Logger)
	d.hooks = newHooks(ctx, dir, &d.opsWG, lg.Logger)
	d.monitors = d.newMonitors(nil) // no check runs within the tests' intervals
	d.id = Identity{Generation: 7}
	if err := d.newCore(); err != nil {
		t.Fatal(err)
	}
	go d.intake.run(ctx)
	t.Cleanup(func() {
		d.opsWG.Wait()
		d.monitors.Close()
		cancel()
		if t.Failed() {
			t.Logf("daemon log:\n%s", buf)
		}
	})
	return d, links, buf
}

func newLoopRig(t *testing.T, cfg *config.Config, runner *fakeRunner) *loopRig {
	t.Helper()
	return newLoopRigIn(t, cfg, runner, t.TempDir())
}

// newLoopRigIn is newLoopRig with its state directory in dir.
func newLoopRigIn(t *testing.T, cfg *config.Config, runner *fakeRunner, dir string) *loopRig {
	t.Helper()
	d, links, _ := newTestDaemonIn(t, cfg, runner, dir)
	return startLoopRig(t, d, links, runner)
}

// startLoopRig runs d's loop (made by newTestDaemon, sending on links)
// until the test ends.
func startLoopRig(t *testing.T, d *Daemon, links *fakeLinks, runner *fakeRunner) *loopRig {
	t.Helper()
	r := &loopRig{t: t, d: d, links: links, runner: runner, sigs: make(chan os.Signal, 1), done: make(chan struct{}), gen2: 5}
	go func() {
		defer close(r.done)
		if err := d.loop(context.Background(), r.sigs); err != nil {
			t.Error(err)
		}
	}()
	// Registered after newTestDaemon's cleanup, so it runs first: the
	// loop ends before the daemon's goroutines are waited for.
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			r.sigs <- syscall.SIGTERM
			<-r.done
		}
	})
	return r
}

// fromPeer signs a message as node2 sends it (next seq, unless seq > 0)
// and hands it to the intake as link would, arriving on link.
func (r *loopRig) fromPeer(link_ string, seq uint64, kv ...string) {
	r.t.Helper()
	r.deliver(link_, r.signed(seq, kv...))
}

// deliver hands a datagram to the intake as a link reader would, arriving
// on link_ from the peer's address.
func (r *loopRig) deliver(link_ string, b []byte) {
	if !r.d.intake.peer(link.Packet{Link: link_, From: netip.MustParseAddrPort("192.0.2.3:694"), Data: b, At: time.Now()}) {
		r.t.Fatal("the loop's queue is full")
	}
}

// signed is a datagram of node2 (next seq, unless seq > 0), signed.
func (r *loopRig) signed(seq uint64, kv ...string) []byte {
	r.t.Helper()
	if seq == 0 {
		r.seq2++
		seq = r.seq2
	}
	m := &wire.Message{}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Set(kv[i], kv[i+1])
	}
	m.Set("src", "node2")
	m.Set("seq", fmt.Sprintf("%x", seq))
	m.Set("hg", fmt.Sprintf("%x", r.gen2))
	m.Set("ts", fmt.Sprintf("%x", time.Now().Unix()))
	m.Set("ttl", "3")
	b, err := r.d.keys.Encode(m)
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

// call asks the loop what the control socket would.
func (r *loopRig) call(req ctl.Request) ctl.Response {
	c := ctlCall{req: req, reply: make(chan ctl.Response, 1)}
	r.d.calls <- c
	return <-c.reply
}

// TestLoopPacketInSendOut: a verified packet goes to the core and what
// the core answers goes out on the links.
func TestLoopPacketInSendOut(t *testing.T) {
	r := newLoopRig(t, loopConfig("node1", "node2"), &fakeRunner{})
	waitFor(t, func() bool { return len(r.links.sentOf("status")) > 0 }) // booted
	r.fromPeer("eth0", 0, "t", "status", "st", "up", "dt", "7d0", "protocol", "1")
	r.fromPeer("eth0", 0, "t", "reqnodes", "dest", "node1")
	waitFor(t, func() bool { return len(r.links.sentOf("repnodes")) == 1 })
	if m := r.links.sentOf("repnodes")[0]; m.Value("dest") != "node2" || m.Value("nodelist") != "node1 node2 " {
		t.Errorf("repnodes %v", m)
	}
}

// TestLoopDrainsRoutineFirst: a routine status waiting in the links is
// given to the core before the message that woke the loop, so the core
// sees node2's messages in the order sent (no gap, nothing asked for
// again), and a routine datagram that fails to verify is dropped.
func TestLoopDrainsRoutineFirst(t *testing.T) {
	r := newLoopRig(t, loopConfig("node1", "node2"), &fakeRunner{})
	waitFor(t, func() bool { return len(r.links.sentOf("status")) > 0 }) // booted
	peer := func() ctl.Status {
		var st ctl.Status
		if err := json.Unmarshal(r.call(ctl.Request{Cmd: "status"}).Data, &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	r.fromPeer("eth0", 0, "t", "status", "st", "init", "dt", "7d0", "protocol", "1")
	waitFor(t, func() bool { p := peer().Cluster.Peers; return len(p) == 1 && p[0].Seq == 1 })
	from := netip.MustParseAddrPort("192.0.2.3:694")
	r.links.queueRoutine(link.Packet{Link: "eth0", From: from, Data: []byte("###\nforged"), At: time.Now()})
	r.links.queueRoutine(link.Packet{Link: "eth0", From: from, Data: r.signed(0, "t", "status", "st", "up", "dt", "7d0", "protocol", "1"), At: time.Now()})
	r.fromPeer("eth0", 0, "t", "reqnodes", "dest", "node1")
	waitFor(t, func() bool { return len(r.links.sentOf("repnodes")) == 1 })
	if p := peer().Cluster.Peers; len(p) != 1 || p[0].Seq != 3 || p[0].Lost != 0 || p[0].Recovered != 0 {
		t.Errorf("peer status %+v: want seq 3 and nothing lost", p)
	}
	if rej, _ := r.d.intake.drops.snapshot(); len(rej) != 1 {
		t.Errorf("rejected %+v, want the forged routine datagram", rej)
	}
}

// TestStatusDrainsRoutine: a control request is answered after the
// routine messages waiting in the links, so hbd status shows a peer's
// last routine status even when nothing else woke the loop since.
func TestStatusDrainsRoutine(t *testing.T) {
	r := newLoopRig(t, loopConfig("node1", "node2"), &fakeRunner{})
	waitFor(t, func() bool { return len(r.links.sentOf("status")) > 0 }) // booted
	peers := func() []cluster.PeerStatus {
		var st ctl.Status
		if err := json.Unmarshal(r.call(ctl.Request{Cmd: "status"}).Data, &st); err != nil {
			t.Fatal(err)
		}
		return st.Cluster.Peers
	}
	r.fromPeer("eth0", 0, "t", "status", "st", "init", "dt", "7d0", "protocol", "1")
	waitFor(t, func() bool { p := peers(); return len(p) == 1 && p[0].Seq == 1 })
	from := netip.MustParseAddrPort("192.0.2.3:694")
	r.links.queueRoutine(link.Packet{Link: "eth0", From: from, Data: r.signed(0, "t", "status", "st", "up", "dt", "7d0", "protocol", "1"), At: time.Now()})
	if p := peers(); len(p) != 1 || p[0].Seq != 2 {
		t.Errorf("peer status %+v: want the routine status (seq 2) read before the answer", p)
	}
}

// TestStepOrdersRoutineByArrival: step gives the core the routine messages
// that came before the received message it steps, then that message,
// then those that came after it (they arrived while it waited in the
// loop's queue): node2's seqs reach the core in the order sent.
func TestStepOrdersRoutineByArrival(t *testing.T) {
	r, _, t0 := newStepRig(t)
	d, links := r.d, r.links
	msg := func(seq uint64, st string) *wire.Message {
		return mustDecode(t, d, r.signed(seq, "t", "status", "st", st, "dt", "7d0", "protocol", "1"))
	}
	d.step(cluster.Receive{Now: t0.Add(time.Millisecond), Link: "eth0", Msg: msg(1, "init")})
	from := netip.MustParseAddrPort("192.0.2.3:694")
	links.queueRoutine(link.Packet{Link: "eth0", From: from, Data: r.signed(2, "t", "status", "st", "up", "dt", "7d0", "protocol", "1"), At: t0.Add(2 * time.Millisecond)})
	links.queueRoutine(link.Packet{Link: "eth0", From: from, Data: r.signed(4, "t", "status", "st", "up", "dt", "7d0", "protocol", "1"), At: t0.Add(4 * time.Millisecond)})
	d.step(cluster.Receive{Now: t0.Add(3 * time.Millisecond), Link: "eth0", Msg: msg(3, "up")})
	if p := d.core.Status().Peers; len(p) != 1 || p[0].Seq != 4 || p[0].Lost != 0 || p[0].Recovered != 0 {
		t.Errorf("peer %+v: want seq 4, nothing lost", p)
	}
	if len(d.pending) != 0 {
		t.Errorf("%d routine messages left after the step", len(d.pending))
	}
}

// TestStepTakesQueuedBeforeDrained: a tick that finds a routine message
// of node2 in the links while node2's earlier message (not routine) still
// waits in the loop's queue gives the core the queued one first: no gap
// is logged, nothing is asked for again.
func TestStepTakesQueuedBeforeDrained(t *testing.T) {
	r, logs, t0 := newStepRig(t)
	d, links := r.d, r.links
	from := netip.MustParseAddrPort("192.0.2.3:694")
	status := func(seq uint64, st string) []byte {
		return r.signed(seq, "t", "status", "st", st, "dt", "7d0", "protocol", "1")
	}
	d.step(cluster.Receive{Now: t0.Add(time.Millisecond), Link: "eth0", Msg: mustDecode(t, d, status(1, "init"))})
	if !d.intake.peer(link.Packet{Link: "eth0", From: from, Data: status(2, "up"), At: t0.Add(2 * time.Millisecond)}) {
		t.Fatal("the loop's queue is full")
	}
	links.queueRoutine(link.Packet{Link: "eth0", From: from, Data: status(3, "up"), At: t0.Add(3 * time.Millisecond)})
	d.step(cluster.Tick{Now: t0.Add(4 * time.Millisecond)})
	if p := d.core.Status().Peers; len(p) != 1 || p[0].Seq != 3 || p[0].Lost != 0 || p[0].Recovered != 0 {
		t.Errorf("peer %+v: want seq 3, nothing lost", p)
	}
	if strings.Contains(logs.String(), "lost packet") {
		t.Errorf("a gap was logged:\n%s", logs)
	}
	if len(d.intake.out) != 0 || len(d.pending) != 0 {
		t.Errorf("%d messages left in the queue, %d pending, after the step", len(d.intake.out), len(d.pending))
	}
}

// TestTickTakesQueuedFirst: a tick that the loop's select takes while a
// status of node2 waits in the loop's queue (not routine: nothing waits
// in the links) gives the core that status first, so node2 is not found
// silent for longer than deadtime.
func TestTickTakesQueuedFirst(t *testing.T) {
	r, logs, t0 := newStepRig(t)
	d := r.d
	status := func(seq uint64) []byte {
		return r.signed(seq, "t", "status", "st", "up", "dt", "7d0", "protocol", "1")
	}
	d.step(cluster.Receive{Now: t0.Add(time.Millisecond), Link: "eth0", Msg: mustDecode(t, d, status(1))})
	dead := t0.Add(time.Millisecond + d.cfg.Deadtime)
	for now := t0.Add(d.cfg.Keepalive); now.Before(dead); now = now.Add(d.cfg.Keepalive) {
		d.step(cluster.Tick{Now: now}) // on time: no stall
	}
	if !d.intake.peer(link.Packet{Link: "eth0", From: netip.MustParseAddrPort("192.0.2.3:694"), Data: status(2), At: dead.Add(-time.Millisecond)}) {
		t.Fatal("the loop's queue is full")
	}
	d.step(cluster.Tick{Now: dead.Add(time.Millisecond)})
	if strings.Contains(logs.String(), "is dead") {
		t.Errorf("node2 declared dead with its status waiting in the queue:\n%s", logs)
	}
	if p := d.core.Status().Peers; len(p) != 1 || p[0].Seq != 2 {
		t.Errorf("peer %+v: want seq 2", p)
	}
}

// newStepRig is a daemon of node1 and node2 whose loop is not started,
// for tests that step it themselves; it has stepped a first tick at t0.
func newStepRig(t *testing.T) (r *loopRig, logs *testenv.LockedBuffer, t0 time.Time) {
	d, links, logs := newTestDaemon(t, loopConfig("node1", "node2"), &fakeRunner{})
	d.drainFn = d.drained
	t0 = time.Now()
	d.step(cluster.Tick{Now: t0})
	return &loopRig{t: t, d: d, links: links, gen2: 5}, logs, t0
}

// mustDecode is a signed datagram of the test's keys, decoded.
func mustDecode(t *testing.T, d *Daemon, b []byte) *wire.Message {
	t.Helper()
	m, err := d.keys.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestLoopHooksFromCore: hooks run as the core says, once per accepted
// message (not once per link) and once per change of a peer's state.
func TestLoopHooksFromCore(t *testing.T) {
	r := newLoopRig(t, loopConfig("node1", "node2"), &fakeRunner{})
	r.fromPeer("eth0", 0, "t", "status", "st", "active", "dt", "7d0", "protocol", "1")
	r.fromPeer("eth1", r.seq2, "t", "status", "st", "active", "dt", "7d0", "protocol", "1") // the same, on eth1
	r.fromPeer("eth0", 0, "t", "ip-request", "rsc", "10.0.0.1")
	r.fromPeer("eth1", r.seq2, "t", "ip-request", "rsc", "10.0.0.1") // the same, on eth1
	r.fromPeer("eth0", r.seq2, "t", "ip-request", "rsc", "10.0.0.1") // a duplicate
	r.fromPeer("eth0", 0, "t", "status", "st", "active", "dt", "7d0", "protocol", "1")
	// Everything before this status has been stepped once it is answered.
	waitFor(t, func() bool { return r.call(ctl.Request{Cmd: "status"}).OK && r.runner.count("hook ip-request") >= 1 })
	r.d.opsWG.Wait()
	if got := r.runner.count("hook ip-request"); got != 1 {
		t.Errorf("rc.d/ip-request ran %d times, want once: %q", got, r.runner.callList())
	}
	if got := r.runner.count("hook status"); got != 1 {
		t.Errorf("rc.d/status ran %d times, want once (node2 became active): %q", got, r.runner.callList())
	}
	r.runner.mu.Lock()
	defer r.runner.mu.Unlock()
	for _, f := range r.runner.hooks {
		switch f["t"] {
		case "status":
			if f["src"] != "node2" || f["st"] != "active" {
				t.Errorf("rc.d/status fields %v", f)
			}
		case "ip-request":
			if f["src"] != "node2" || f["rsc"] != "10.0.0.1" {
				t.Errorf("rc.d/ip-request fields %v", f)
			}
		}
	}
}

// TestLoopAnswersStatus: `hbd status` is answered from the loop.
func TestLoopAnswersStatus(t *testing.T) {
	r := newLoopRig(t, loopConfig("node1", "node2"), &fakeRunner{})
	resp := r.call(ctl.Request{Cmd: "status"})
	if !resp.OK {
		t.Fatalf("status: %+v", resp)
	}
	var st ctl.Status
	if err := json.Unmarshal(resp.Data, &st); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Links["eth0"]; st.Node != "node1" || st.Generation != 7 || st.Cluster.Node != "node1" || len(st.Cluster.Peers) != 1 || !ok {
		t.Errorf("status %+v", st)
	}
	if resp := r.call(ctl.Request{Cmd: "standby", Args: []string{"sideways"}}); resp.OK || resp.Error == "" {
		t.Errorf("a bad standby argument was accepted: %+v", resp)
	}
	if resp := r.call(ctl.Request{Cmd: "bogus"}); resp.OK {
		t.Errorf("an unknown command was accepted: %+v", resp)
	}
}

// TestLoopGroupLifecycle: a group's probe, start, watch, stop and the
// graceful stop, each as the core says: the monitor watches the group
// from the start's OpDone, is released before the stop runs, and the
// loop ends at the core's Exit after the shutdown notice.
func TestLoopGroupLifecycle(t *testing.T) {
	cfg := loopConfig("node1")
	web := config.Group{Preferred: "node1", Resources: []config.Resource{{Spec: "webserver", Name: "webserver", Script: config.Script{Kind: config.ScriptFile, Path: "/bin/true"}}}}
	cfg.Groups = []config.Group{web}
	mon := config.Monitor{Resource: "webserver", Group: "webserver", Index: 0, Interval: time.Hour, Timeout: time.Minute}
	cfg.Monitors = []config.Monitor{mon}

	var rig *loopRig
	monitorAtStop := ""
	runner := &fakeRunner{before: func(call string) {
		if call == "stop webserver" {
			monitorAtStop = rig.d.monitors.Status(cfg.Monitors)[0].State
		}
	}}
	rig = newLoopRig(t, cfg, runner)
	waitFor(t, func() bool { return runner.count("start webserver") == 1 })
	waitFor(t, func() bool { return rig.d.monitors.Status(cfg.Monitors)[0].State == monitor.StateWatching })

	rig.sigs <- syscall.SIGTERM
	select {
	case <-rig.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the loop did not end after SIGTERM")
	}
	if got, want := runner.callList(), []string{"status webserver", "start webserver", "stop webserver"}; !slices.Equal(got, want) {
		t.Errorf("runner calls %q, want %q", got, want)
	}
	if monitorAtStop != monitor.StateIdle {
		t.Errorf("monitor was %q when the stop ran, want %q (released first)", monitorAtStop, monitor.StateIdle)
	}
	if n := len(rig.links.sentOf("shutdone")); n != 1 {
		t.Errorf("shutdone sent %d times", n)
	}
}

// TestExecuteReannounce: a Reannounce is executed with the Spec it
// carries (the running configuration has no such group): without a
// watch of its addresses, every resource is started again, left to right.
func TestExecuteReannounce(t *testing.T) {
	runner := &fakeRunner{}
	d, _, _ := newTestDaemon(t, loopConfig("node1"), runner)
	spec := config.Group{Preferred: "node1", Resources: []config.Resource{{Spec: "IPaddr::10.0.0.1", Name: "IPaddr"}, {Spec: "web", Name: "web"}}}
	d.execute(cluster.Reannounce{Group: spec.Key(), Spec: spec})
	d.opsWG.Wait()
	if got, want := runner.callList(), []string{"start IPaddr::10.0.0.1", "start web"}; !slices.Equal(got, want) {
		t.Errorf("runner calls %q, want %q", got, want)
	}
}

// TestReloadRunnerBeforeCore: a reload that adds a group builds the new
// runner before the core sees the configuration, so the probe the core
// asks for at once runs with the new runner, not the old one.
func TestReloadRunnerBeforeCore(t *testing.T) {
	old := &fakeRunner{}
	cfg := loopConfig("node1")
	d, _, _ := newTestDaemon(t, cfg, old)
	d.step(cluster.Tick{Now: time.Now()}) // boot
	next := *cfg
	next.Groups = []config.Group{{Preferred: "node1", Resources: []config.Resource{{Spec: "web", Name: "web",
		Script: config.Script{Kind: config.ScriptFile, Path: "/bin/true"}}}}}
	d.applyConfig(context.Background(), &next, config.Diff(d.cfg, &next), "test")
	select {
	case op := <-d.ops:
		if op.Group != "web" || op.Op != cluster.OpProbe {
			t.Errorf("first operation after the reload: %+v, want web's probe", op)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no probe of the new group")
	}
	if calls := old.callList(); len(calls) != 0 {
		t.Errorf("the old runner ran %q after the reload", calls)
	}
	if _, ok := d.runner.(*harc.Runner); !ok {
		t.Errorf("runner after the reload is %T, want a harc runner for the new configuration", d.runner)
	}
}
