package etcdown

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// etcdCluster is a three-member etcd cluster in this process, on loopback
// ports, in a temporary directory; its members can be stopped and started
// again with their data.
type etcdCluster struct {
	t       *testing.T
	dir     string
	cports  []int
	pports  []int
	members []*embed.Etcd
	// tls: the members serve clients and peers only over TLS with these
	// files, and require a client certificate; nil: plain http.
	tls *testPKI
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startCluster(t *testing.T) *etcdCluster {
	t.Helper()
	return startClusterTLS(t, nil)
}

// startClusterTLS starts a cluster serving only TLS with pki's files
// (nil: plain http).
func startClusterTLS(t *testing.T, pki *testPKI) *etcdCluster {
	t.Helper()
	c := &etcdCluster{t: t, members: make([]*embed.Etcd, 3), tls: pki}
	t.Cleanup(c.stopAll)
	// A free port may be taken by another process before a member binds
	// it: try again with new ports.
	for try := 1; ; try++ {
		c.dir, c.cports, c.pports = t.TempDir(), nil, nil
		for range 3 {
			c.cports = append(c.cports, freePort(t))
			c.pports = append(c.pports, freePort(t))
		}
		err := c.start("new")
		if err == nil {
			return c
		}
		c.stopAll()
		if try == 3 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
	}
}

func (c *etcdCluster) url(port int) url.URL {
	scheme := "http"
	if c.tls != nil {
		scheme = "https"
	}
	return url.URL{Scheme: scheme, Host: fmt.Sprintf("127.0.0.1:%d", port)}
}

// endpoints are the members' client URLs.
func (c *etcdCluster) endpoints() []string {
	var out []string
	for _, p := range c.cports {
		u := c.url(p)
		out = append(out, u.String())
	}
	return out
}

func (c *etcdCluster) config(i int, state string) *embed.Config {
	cfg := embed.NewConfig()
	cfg.Name = fmt.Sprintf("m%d", i)
	cfg.Dir = filepath.Join(c.dir, cfg.Name)
	cu, pu := c.url(c.cports[i]), c.url(c.pports[i])
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
	var initial []string
	for j, p := range c.pports {
		u := c.url(p)
		initial = append(initial, fmt.Sprintf("m%d=%s", j, u.String()))
	}
	cfg.InitialCluster = strings.Join(initial, ",")
	cfg.InitialClusterToken = "hbd-test"
	cfg.ClusterState = state
	cfg.TickMs, cfg.ElectionMs = 50, 250
	cfg.UnsafeNoFsync = true
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	if p := c.tls; p != nil {
		info := transport.TLSInfo{CertFile: p.serverCert, KeyFile: p.serverKey, TrustedCAFile: p.caCert, ClientCertAuth: true}
		cfg.ClientTLSInfo, cfg.PeerTLSInfo = info, info
	}
	return cfg
}

// startAll starts every member (state "new" the first time, "existing"
// after stopAll) and waits until they serve.
func (c *etcdCluster) startAll(state string) {
	c.t.Helper()
	if err := c.start(state); err != nil {
		c.t.Fatal(err)
	}
}

func (c *etcdCluster) start(state string) error {
	for i := range c.members {
		e, err := embed.StartEtcd(c.config(i, state))
		if err != nil {
			return fmt.Errorf("start etcd member %d: %w", i, err)
		}
		c.members[i] = e
	}
	for i, e := range c.members {
		select {
		case <-e.Server.ReadyNotify():
		case <-time.After(20 * time.Second):
			return fmt.Errorf("etcd member %d not ready", i)
		}
	}
	return nil
}

// leader is the index of the member that leads.
func (c *etcdCluster) leader() int {
	for i, e := range c.members {
		if e != nil && e.Server.Leader() == e.Server.MemberID() {
			return i
		}
	}
	c.t.Fatal("no etcd member leads")
	return -1
}

func (c *etcdCluster) stop(i int) {
	if e := c.members[i]; e != nil {
		e.Close()
		c.members[i] = nil
	}
}

func (c *etcdCluster) stopAll() {
	for i := range c.members {
		c.stop(i)
	}
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

// record is the shared log of every node's starts and stops.
type record struct {
	mu     sync.Mutex
	events []event
}

func (r *record) add(e event) {
	r.mu.Lock()
	r.events = append(r.events, e)
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
	// starting: the starts under way; peak: the most at once.
	starting, peak int
}

var errStartFails = errors.New("the start fails on this node")

func (f *fakeRunner) Start(_ context.Context, g string, token int64) error {
	f.mu.Lock()
	if f.attempts == nil {
		f.attempts = map[string][]time.Time{}
	}
	f.attempts[g] = append(f.attempts[g], time.Now())
	f.starting++
	f.peak = max(f.peak, f.starting)
	f.mu.Unlock()
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

func (f *fakeRunner) Stop(_ context.Context, g string, _ int64) error {
	time.Sleep(f.stopTime)
	f.mu.Lock()
	defer f.mu.Unlock()
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

// Test timings: etcd grants whole seconds.
const (
	testTTL      = 2 * time.Second
	testStop     = 300 * time.Millisecond
	testInterval = 200 * time.Millisecond
	testStopTime = 100 * time.Millisecond
)

// testNode is one hbd node running the ownership loop.
type testNode struct {
	name   string
	owner  *Owner
	runner *fakeRunner
	cli    *clientv3.Client
	rpcs   *rpcCount
	cancel context.CancelFunc
	done   chan struct{}
}

var testGroups = []string{"g1", "g2", "g3"}

func startNode(t *testing.T, name string, endpoints []string, nodes []string, rec *record) *testNode {
	t.Helper()
	return startNodeWith(t, name, endpoints, nodes, rec, nil)
}

// startNodeWith starts a node whose options and runner tweak changes
// first (nil: none).
func startNodeWith(t *testing.T, name string, endpoints []string, nodes []string, rec *record, tweak func(*Options, *fakeRunner)) *testNode {
	t.Helper()
	rpcs := &rpcCount{}
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 2 * time.Second, Logger: zap.NewNop(), DialOptions: rpcs.dialOptions()})
	if err != nil {
		t.Fatal(err)
	}
	r := &fakeRunner{node: name, rec: rec, stopTime: testStopTime}
	log := logrus.New()
	log.SetOutput(testWriter{t, name})
	o := Options{
		Log: log, Node: name, Nodes: nodes, Failback: true, Prefix: "/hbd/",
		TTL: testTTL, SlowestStop: testStop, Interval: testInterval, Runner: r,
	}
	for i, g := range testGroups {
		o.Groups = append(o.Groups, placed(g, nodes[i%len(nodes)]))
	}
	if tweak != nil {
		tweak(&o, r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &testNode{name: name, owner: New(cli, o), runner: r, cli: cli, rpcs: rpcs, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(n.done); _ = n.owner.Run(ctx) }()
	t.Cleanup(func() { n.stop(); cli.Close() })
	return n
}

// testWriter sends a node's log lines to the test's log.
type testWriter struct {
	t    *testing.T
	node string
}

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Logf("%s: %s", w.node, strings.TrimSpace(string(b)))
	return len(b), nil
}

// stop stops the node gracefully and waits for it.
func (n *testNode) stop() {
	n.cancel()
	<-n.done
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
