package etcdown

import (
	"context"
	"errors"
	goflag "flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/hbdproject/hbd/hbd/internal/etcdtest"
)

// The tests share one etcd cluster (sharedCluster), each test's keys
// under its own prefix (testPrefix), and run in parallel where their
// point is not a timing; a test that stops etcd members, or needs TLS,
// starts its own (etcdtest.Start).
var shared struct {
	once sync.Once
	dir  string
	c    *etcdtest.Cluster
	err  error

	mu       sync.Mutex
	prefixes map[*testing.T]string // each running test's prefix
	runs     map[string]int        // the runs of each test name so far
}

// sharedCluster is the cluster the tests share, started at its first use.
func sharedCluster(t *testing.T) *etcdtest.Cluster {
	t.Helper()
	shared.once.Do(func() {
		if shared.dir, shared.err = os.MkdirTemp("", "hbd-etcdown-test-"); shared.err == nil {
			shared.c, shared.err = etcdtest.New(shared.dir, nil)
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.c
}

// testPrefix keeps a test's keys apart in the shared cluster: the test's
// name, and from its second run on (-count) the run's number too, so that
// a run never finds the keys an earlier one left (a node left in standby,
// a failure record).
func testPrefix(t *testing.T) string {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if p, ok := shared.prefixes[t]; ok {
		return p
	}
	if shared.prefixes == nil {
		shared.prefixes, shared.runs = map[*testing.T]string{}, map[string]int{}
	}
	shared.runs[t.Name()]++
	p := "/hbd/" + t.Name() + "/"
	if n := shared.runs[t.Name()]; n > 1 {
		p = fmt.Sprintf("/hbd/%s#%d/", t.Name(), n)
	}
	shared.prefixes[t] = p
	t.Cleanup(func() {
		shared.mu.Lock()
		delete(shared.prefixes, t)
		shared.mu.Unlock()
	})
	return p
}

// TestMain stops the shared cluster after the tests, and runs up to 3
// parallel tests at once unless -parallel says otherwise: they mostly wait
// for leases and timers, and the default (GOMAXPROCS) would run them two
// at a time on a 2-CPU machine. More at once starve the in-process etcd
// when the CPU is short: every request of the loops has testInterval to
// answer, and leases time out. With -race beside three busy
// loops on the 2-CPU machine (load 5 to 7), 8 at once failed 42 tests in
// 2 runs of the package; 3 at once failed 2 in 4 runs, both of them tests
// that start a cluster of their own.
func TestMain(m *testing.M) {
	goflag.Parse()
	set := false
	goflag.Visit(func(f *goflag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		if err := goflag.Set("test.parallel", "3"); err != nil {
			panic(err)
		}
	}
	code := m.Run()
	if shared.c != nil {
		shared.c.StopAll()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// proxy forwards TCP connections to one address until Close, which cuts
// every connection: a node behind it is cut off from etcd.
type proxy struct {
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l}
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	t.Cleanup(p.Close)
	return p
}

func (p *proxy) URL() string { return "http://" + p.l.Addr().String() }

func (p *proxy) Close() {
	p.l.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// event is one start or stop of a group on a node.
type event struct {
	node, group string
	start       bool
	token       int64
	at          time.Time
}

// record is the shared log of every node's starts and stops; onAdd, if
// set, is called with each event as it is logged.
type record struct {
	mu     sync.Mutex
	events []event
	onAdd  func(event)
}

func (r *record) add(e event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	onAdd := r.onAdd
	r.mu.Unlock()
	if onAdd != nil {
		onAdd(e)
	}
}

func (r *record) setOnAdd(f func(event)) {
	r.mu.Lock()
	r.onAdd = f
	r.mu.Unlock()
}

func (r *record) snapshot() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event(nil), r.events...)
}

// running returns which node runs each group now (by the log).
func (r *record) running() map[string]string {
	out := map[string]string{}
	for _, e := range r.snapshot() {
		switch {
		case e.start:
			out[e.group] = e.node
		case out[e.group] == e.node:
			delete(out, e.group)
		}
	}
	return out
}

// overlaps lists every start of a group while another node ran it. A
// start is logged when it begins, a stop when it has ended.
func overlaps(events []event) []string {
	var bad []string
	runs := map[string]map[string]bool{}
	for _, e := range events {
		if runs[e.group] == nil {
			runs[e.group] = map[string]bool{}
		}
		if !e.start {
			delete(runs[e.group], e.node)
			continue
		}
		for n := range runs[e.group] {
			if n != e.node {
				bad = append(bad, fmt.Sprintf("%s started %s at %s while %s ran it", e.node, e.group, e.at.Format("15:04:05.000"), n))
			}
		}
		runs[e.group][e.node] = true
	}
	return bad
}

// fakeRunner runs groups by logging them; a start takes startTime, a
// stop stopTime. A dead runner (its node was killed) does nothing more.
type fakeRunner struct {
	node      string
	rec       *record
	startTime time.Duration
	stopTime  time.Duration
	mu        sync.Mutex
	dead      bool
	// failing: the groups whose start fails here; attempts lists when
	// each start was asked for.
	failing  map[string]bool
	attempts map[string][]time.Time
	// starting: the starts under way; peak: the most at once; the same
	// for the stops.
	starting, peak         int
	stopping, peakStopping int
	// hanging: the groups whose start runs until its context ends (it
	// is logged as running from when it begins), then fails, and, with
	// rollsBack, logs its stop and says so (ErrRolledBack); onStart,
	// if set, is called as each start begins; stopBegun: when the last
	// stop of each group began.
	hanging   map[string]bool
	rollsBack bool
	onStart   func(group string)
	onStop    func(group string)              // called as each stop begins
	onCause   func(group string, cause error) // a hung start's end

	stopBegun map[string]time.Time
	// failingStop: the groups whose stop fails here (they go on
	// running); stops counts the stops asked for, by group.
	failingStop map[string]bool
	stops       map[string]int
}

var (
	errStartFails = errors.New("the start fails on this node")
	errStopFails  = errors.New("the stop fails on this node")
)

func (f *fakeRunner) Start(ctx context.Context, g string, token int64) error {
	f.mu.Lock()
	if f.attempts == nil {
		f.attempts = map[string][]time.Time{}
	}
	f.attempts[g] = append(f.attempts[g], time.Now())
	f.starting++
	f.peak = max(f.peak, f.starting)
	hang, onStart := f.hanging[g], f.onStart
	if hang && !f.dead {
		f.rec.add(event{node: f.node, group: g, start: true, token: token, at: time.Now()})
	}
	f.mu.Unlock()
	if onStart != nil {
		onStart(g)
	}
	if hang {
		<-ctx.Done()
		f.mu.Lock()
		f.starting--
		onCause, rollsBack := f.onCause, f.rollsBack
		if rollsBack && !f.dead {
			f.rec.add(event{node: f.node, group: g, at: time.Now()})
		}
		f.mu.Unlock()
		if onCause != nil {
			onCause(g, context.Cause(ctx))
		}
		if rollsBack {
			return fmt.Errorf("start of %s rolled back: %w (%w)", g, ctx.Err(), ErrRolledBack)
		}
		return ctx.Err()
	}
	time.Sleep(f.startTime)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starting--
	if f.failing[g] {
		return errStartFails
	}
	if !f.dead {
		f.rec.add(event{node: f.node, group: g, start: true, token: token, at: time.Now()})
	}
	return nil
}

// peakStarts is the most starts that ran at once.
func (f *fakeRunner) peakStarts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.peak
}

// peakStops is the most stops that ran at once.
func (f *fakeRunner) peakStops() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.peakStopping
}

func (f *fakeRunner) Stop(_ context.Context, g string, _ int64) error {
	f.mu.Lock()
	f.stopping++
	f.peakStopping = max(f.peakStopping, f.stopping)
	if f.stopBegun == nil {
		f.stopBegun = map[string]time.Time{}
	}
	f.stopBegun[g] = time.Now()
	onStop := f.onStop
	if f.stops == nil {
		f.stops = map[string]int{}
	}
	f.stops[g]++
	f.mu.Unlock()
	if onStop != nil {
		onStop(g)
	}
	time.Sleep(f.stopTime)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopping--
	if f.failingStop[g] {
		return errStopFails
	}
	if !f.dead {
		f.rec.add(event{node: f.node, group: g, at: time.Now()})
	}
	return nil
}

// kill makes the runner dead; its node's groups end now, as with kill -9
// of a node whose scripts die with it.
func (f *fakeRunner) kill(groups []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, g := range groups {
		f.rec.add(event{node: f.node, group: g, at: time.Now()})
	}
	f.dead = true
}

// Test timings (etcd grants whole seconds). testInterval is also every
// etcd request's timeout, and a node stops its groups once its renewals
// have failed for testTTL − testStop − 2·testInterval (3.7 s): on a
// loaded 2-CPU machine (go test -race beside builds, load 10 to 17) the
// in-process etcd answers some requests only after several hundred
// milliseconds, and with a TTL of 2 s and 200 ms requests (1.3 s to stop)
// nodes lost their leases and the groups moved under the tests.
const (
	testTTL      = 5 * time.Second
	testStop     = 300 * time.Millisecond
	testInterval = 500 * time.Millisecond
	testStopTime = 100 * time.Millisecond
)

// testMove bounds a wait for the nodes to place a group anew (a give-up,
// a setting, a reload, a node stopped or started). Unloaded it takes a
// few passes, each etcd request with testInterval to answer and a failed
// one tried again at the next pass. But a loaded machine (go test -race
// beside other work) can starve the in-process etcd long enough that a
// node's renewals miss its stop-by time: the node drops its lease and
// stops its groups, and the others may place them again only once its
// keys have expired, testTTL after its last renewal. The bound allows
// two such lease lifetimes on top of the passes; a group that never
// moves still fails the wait, only later.
const testMove = 2*testTTL + 20*testInterval

// testNode is one hbd node running the ownership loop.
type testNode struct {
	t      *testing.T
	name   string
	owner  *Owner
	runner *fakeRunner
	cli    *clientv3.Client
	rpcs   *rpcCount
	cancel context.CancelFunc
	done   chan struct{}
	// logs: what its loop logged.
	logs *logLines
}

var testGroups = []string{"g1", "g2", "g3"}

func startNode(t *testing.T, name string, endpoints []string, nodes []string, rec *record) *testNode {
	t.Helper()
	return startNodeWith(t, name, endpoints, nodes, rec, nil)
}

// startNodeWith starts a node whose options and runner tweak changes
// first (nil: none), its client dialled with dial too.
func startNodeWith(t *testing.T, name string, endpoints []string, nodes []string, rec *record, tweak func(*Options, *fakeRunner), dial ...grpc.DialOption) *testNode {
	t.Helper()
	rpcs := &rpcCount{}
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 2 * time.Second, Logger: zap.NewNop(), DialOptions: append(rpcs.dialOptions(), dial...)})
	if err != nil {
		t.Fatal(err)
	}
	r := &fakeRunner{node: name, rec: rec, stopTime: testStopTime}
	log := logrus.New()
	logs := &logLines{}
	log.SetOutput(testWriter{t, name, logs})
	o := Options{
		Log: log, Node: name, Nodes: nodes, Failback: true, Prefix: testPrefix(t),
		TTL: testTTL, SlowestStop: testStop, Interval: testInterval, Runner: r,
	}
	for i, g := range testGroups {
		o.Groups = append(o.Groups, placed(g, nodes[i%len(nodes)]))
	}
	if tweak != nil {
		tweak(&o, r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &testNode{t: t, name: name, owner: New(cli, o), runner: r, cli: cli, rpcs: rpcs, cancel: cancel, done: make(chan struct{}), logs: logs}
	go func() { defer close(n.done); _ = n.owner.Run(ctx) }()
	t.Cleanup(func() { n.stop(); cli.Close() })
	return n
}

// testWriter sends a node's log lines to the test's log, and keeps them.
type testWriter struct {
	t     *testing.T
	node  string
	lines *logLines
}

func (w testWriter) Write(b []byte) (int, error) {
	line := strings.TrimSpace(string(b))
	w.t.Logf("%s: %s", w.node, line)
	w.lines.mu.Lock()
	w.lines.lines = append(w.lines.lines, line)
	w.lines.mu.Unlock()
	return len(b), nil
}

// logLines are the lines a node logged.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

// with lists the lines that hold s.
func (l *logLines) with(s string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

// stop stops the node gracefully and waits for it, for testMove at most:
// a node whose stop waits for a group whose stop failed (a test that
// failed before its cleanup) would wait for ever.
func (n *testNode) stop() {
	n.cancel()
	select {
	case <-n.done:
	case <-time.After(testMove):
		n.t.Errorf("%s did not stop within %s", n.name, testMove)
	}
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Time {
	t.Helper()
	end := time.Now().Add(timeout)
	for time.Now().Before(end) {
		if cond() {
			return time.Now()
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("not within %s: %s", timeout, what)
	return time.Time{}
}

func placedAsPreferred(rec *record) func() bool {
	return func() bool {
		r := rec.running()
		return r["g1"] == "n1" && r["g2"] == "n2" && r["g3"] == "n3"
	}
}

func checkNoOverlap(t *testing.T, rec *record) {
	t.Helper()
	for _, o := range overlaps(rec.snapshot()) {
		t.Error(o)
	}
}
