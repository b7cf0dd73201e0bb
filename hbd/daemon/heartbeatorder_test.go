package daemon

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/link"
	"github.com/hbdproject/hbd/hbd/testenv"
	"github.com/hbdproject/hbd/hbd/wire"
	"golang.org/x/sys/unix"
)

// What the node sends, whoever in the daemon sends it: one stream of
// seqs with no gap, no reorder and no two sends at once; a message sent
// again is the very message sent first; nothing after shutdone or once
// the loop has returned; and nothing while the loop is stuck.

// sentRecord is one datagram as the links were given it.
type sentRecord struct {
	at  time.Time
	msg *wire.Message
	raw []byte
}

// streamLinks records every datagram in the order the links took it, and
// whether two sends ever overlapped.
type streamLinks struct {
	*fakeLinks
	inFlight atomic.Int32
	overlaps atomic.Int32

	mu  sync.Mutex
	log []sentRecord
}

func (l *streamLinks) Send(b []byte) { l.take(b) }

func (l *streamLinks) SendOn(_ string, b []byte) error { l.take(b); return nil }

func (l *streamLinks) take(b []byte) {
	if l.inFlight.Add(1) > 1 {
		l.overlaps.Add(1)
	}
	defer l.inFlight.Add(-1)
	m, err := l.keys.Decode(b)
	if err != nil {
		panic(fmt.Sprintf("undecodable datagram: %v", err))
	}
	l.fakeLinks.record(b)
	l.mu.Lock()
	l.log = append(l.log, sentRecord{at: time.Now(), msg: m, raw: append([]byte(nil), b...)})
	l.mu.Unlock()
}

func (l *streamLinks) records() []sentRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]sentRecord(nil), l.log...)
}

// lastSeq is the highest seq sent so far (0: none).
func (l *streamLinks) lastSeq() uint64 {
	var hi uint64
	for _, r := range l.records() {
		if s, err := r.msg.HexValue(wire.FSeq); err == nil && s > hi {
			hi = s
		}
	}
	return hi
}

// checkStream checks the recorded stream: every new seq is the last one
// plus one, a seq seen again is a byte-for-byte resend of its first
// message's fields, and nothing follows shutdone.
func checkStream(t *testing.T, recs []sentRecord) (statuses, resends int) {
	t.Helper()
	first := map[uint64]*wire.Message{}
	var hi uint64
	done := -1
	for i, r := range recs {
		if done >= 0 {
			t.Errorf("datagram %d (%s) sent after shutdone (datagram %d)", i, r.msg.Value(wire.FType), done)
			continue
		}
		if r.msg.Value(wire.FType) == wire.TShutdone {
			done = i
		}
		if r.msg.Value(wire.FType) == wire.TStatus {
			statuses++
		}
		if _, ok := r.msg.Bytes(wire.FSeq); !ok {
			continue
		}
		s, err := r.msg.HexValue(wire.FSeq)
		if err != nil {
			t.Errorf("datagram %d: bad seq: %v", i, err)
			continue
		}
		if m0, ok := first[s]; ok {
			resends++
			if got, want := fieldsText(r.msg), fieldsText(m0); got != want {
				t.Errorf("seq %d sent again as\n  %s\nfirst sent as\n  %s", s, got, want)
			}
			continue
		}
		if hi != 0 && s != hi+1 {
			t.Errorf("datagram %d (%s): seq %d after %d", i, r.msg.Value(wire.FType), s, hi)
		}
		first[s] = r.msg
		hi = max(hi, s)
	}
	return statuses, resends
}

func fieldsText(m *wire.Message) string {
	var b strings.Builder
	for _, f := range m.Fields {
		if f.Name == wire.FHbdRoutine { // the mark of a routine datagram: a resend is not one
			continue
		}
		fmt.Fprintf(&b, "%s=%s ", f.Name, f.Value)
	}
	return b.String()
}

// livePeer is node2 as the node hears it at rest: a status every
// keepalive on both links, marked routine (it waits in the routine
// sockets for the node's next wake-up), and on demand a message with
// the next seq or one without (NS_), woken at once. It owns node2's seq.
type livePeer struct {
	r    *loopRig
	keys *wire.Keyring
	gen  uint64

	mu  sync.Mutex
	seq uint64
}

func newLivePeer(r *loopRig, keys *wire.Keyring) *livePeer {
	return &livePeer{r: r, keys: keys, gen: r.gen2}
}

func (p *livePeer) encode(t *testing.T, routine, withSeq bool, kv ...string) []byte {
	t.Helper()
	m := &wire.Message{}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Set(kv[i], kv[i+1])
	}
	m.Set("src", "node2")
	if withSeq {
		p.mu.Lock()
		p.seq++
		m.Set("seq", fmt.Sprintf("%x", p.seq))
		p.mu.Unlock()
	}
	m.Set("hg", fmt.Sprintf("%x", p.gen))
	m.Set("ts", fmt.Sprintf("%x", time.Now().Unix()))
	m.Set("ttl", "3")
	p.mu.Lock()
	keys := p.keys
	p.mu.Unlock()
	var b []byte
	var err error
	if routine {
		b, err = keys.AppendEncodeRoutine(nil, m)
	} else {
		b, err = keys.Encode(m)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// setKeys has the peer sign with keys from now on.
func (p *livePeer) setKeys(keys *wire.Keyring) {
	p.mu.Lock()
	p.keys = keys
	p.mu.Unlock()
}

// status queues one routine status on both links.
func (p *livePeer) status(t *testing.T) {
	b := p.encode(t, true, true, "t", "status", "st", "up", "dt", "12c", "protocol", "1")
	for _, l := range []string{"eth0", "eth1"} {
		p.r.links.queueRoutine(link.Packet{Link: l, From: netip.MustParseAddrPort("192.0.2.3:694"), Data: b, At: time.Now()})
	}
}

// send delivers a message with the next seq at once, on eth0.
func (p *livePeer) send(t *testing.T, kv ...string) {
	p.r.deliver("eth0", p.encode(t, false, true, kv...))
}

// ns delivers a message without seq at once, on eth0.
func (p *livePeer) ns(t *testing.T, kv ...string) {
	p.r.deliver("eth0", p.encode(t, false, false, kv...))
}

// run sends a status every keepalive until stop is closed or the loop
// ends, for a minute at most; done is closed when it returns.
func (p *livePeer) run(t *testing.T, ka time.Duration, stop <-chan struct{}) (done <-chan struct{}) {
	d := make(chan struct{})
	go func() {
		defer close(d)
		end := time.Now().Add(time.Minute)
		for time.Now().Before(end) {
			select {
			case <-stop:
				return
			case <-p.r.done:
				return
			case <-time.After(ka):
			}
			p.status(t)
		}
	}()
	return d
}

// atRest starts a live peer and waits until the node's start bonus is
// over: from then on, nothing new, the node's statuses are routine.
func atRest(t *testing.T, r *loopRig, ka time.Duration, keys *wire.Keyring) (*livePeer, func()) {
	t.Helper()
	p := newLivePeer(r, keys)
	stop := make(chan struct{})
	done := p.run(t, ka, stop)
	var once sync.Once
	end := func() { once.Do(func() { close(stop); <-done }) }
	t.Cleanup(end)
	time.Sleep(time.Until(r.d.start.Add(cluster.StartBonusFor + 300*time.Millisecond)))
	return p, end
}

// streamRig is a loop rig whose sends are recorded by a streamLinks, and
// its log.
func streamRig(t *testing.T, cfg *config.Config, runner *fakeRunner) (*loopRig, *streamLinks, *testenv.LockedBuffer) {
	t.Helper()
	d, links, buf := newTestDaemon(t, cfg, runner)
	sl := &streamLinks{fakeLinks: links}
	d.links = sl
	r := startLoopRig(t, d, links, runner)
	waitFor(t, func() bool { return len(links.sentOf(wire.TStatus)) > 1 }) // booted
	return r, sl, buf
}

// timedConfig is loopConfig with keepalive ka and deadtime dt.
func timedConfig(ka, dt time.Duration) *config.Config {
	cfg := loopConfig("node1", "node2")
	cfg.Keepalive, cfg.Warntime, cfg.Deadtime, cfg.Initdead = ka, dt/2, dt, dt
	return cfg
}

// stopLoop sends SIGTERM and waits for the loop to return; then it
// checks that nothing is sent for ten keepalives more, and returns all
// that was sent.
func stopLoop(t *testing.T, r *loopRig, sl *streamLinks, ka time.Duration) []sentRecord {
	t.Helper()
	r.sigs <- syscall.SIGTERM
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the loop did not end after SIGTERM")
	}
	n := len(sl.records())
	time.Sleep(10 * ka)
	recs := sl.records()
	for _, rc := range recs[n:] {
		t.Errorf("sent after the loop returned: %s", fieldsText(rc.msg))
	}
	if last := recs[len(recs)-1].msg.Value(wire.FType); last != wire.TShutdone {
		t.Errorf("the last datagram is %s, not shutdone", last)
	}
	return recs
}

// TestSeqStreamWhileBusy: at keepalive 10 ms, at rest beside a live peer
// (the node's statuses routine), while the peer asks for the node list
// (a reply with a seq, sent by a Step), acknowledges the node's seqs and
// asks for recent seqs again, the node's datagrams form one stream:
// consecutive seqs in the order sent, no two sends at once, every resend
// the message first sent, nothing after shutdone and nothing once the
// loop has returned. The core never finds an ack or a request for a seq
// beyond the last it knows of.
func TestSeqStreamWhileBusy(t *testing.T) {
	const ka = 10 * time.Millisecond
	r, sl, buf := streamRig(t, timedConfig(ka, 400*time.Millisecond), &fakeRunner{})
	p, _ := atRest(t, r, ka, r.d.keys)
	end := time.Now().Add(1500 * time.Millisecond)
	for i := 0; time.Now().Before(end); i++ {
		switch i % 9 {
		case 1:
			p.send(t, "t", "reqnodes", "dest", "node1")
		case 4:
			if s := sl.lastSeq(); s > 8 { // behind: the seqs asked for again below are not acknowledged
				p.ns(t, "t", wire.TAck, "dest", "node1", "ackseq", strconv.FormatUint(s-8, 16))
			}
		case 7:
			if s := sl.lastSeq(); s > 3 {
				p.ns(t, "t", wire.TRexmit, "dest", "node1",
					"firstseq", strconv.FormatUint(s-3, 10), "lastseq", strconv.FormatUint(s, 10))
			}
		}
		time.Sleep(ka * 3 / 2)
	}
	recs := stopLoop(t, r, sl, ka)
	st, re := checkStream(t, recs)
	if st < 300 {
		t.Errorf("only %d statuses in 7 s at keepalive %v", st, ka)
	}
	if re == 0 || len(sl.sentOf(wire.TRepNodes)) == 0 {
		t.Errorf("%d resends, %d repnodes: the test did not exercise what it checks", re, len(sl.sentOf(wire.TRepNodes)))
	}
	if o := sl.overlaps.Load(); o > 0 {
		t.Errorf("%d sends overlapped another send", o)
	}
	for _, bad := range []string{"corrupted ackseq", "is max.", "Cannot rexmit"} {
		if strings.Contains(buf.String(), bad) {
			t.Errorf("the core found a seq beyond its own or lost: %q in the log", bad)
		}
	}
}

// TestStuckLoopStopsHeartbeats: at rest beside a live peer, a loop stuck
// outside any Step (here in a reload, opening a configuration file that
// never gives its content, as a hung file system does) sends no
// heartbeat a deadtime on: the peer declares the node dead and takes
// over, as it would if the process had died.
func TestStuckLoopStopsHeartbeats(t *testing.T) {
	const ka, dt = 10 * time.Millisecond, 300 * time.Millisecond
	r, sl, _ := streamRig(t, timedConfig(ka, dt), &fakeRunner{})
	atRest(t, r, ka, r.d.keys)
	fifo := filepath.Join(r.d.opts.ConfigDir, "ha.cf")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	stuckAt := time.Now()
	r.sigs <- syscall.SIGHUP // reload: opens ha.cf, which blocks until a writer comes
	time.Sleep(3 * dt)
	var late int
	var lastAt time.Time
	for _, rc := range sl.records() {
		if rc.msg.Value(wire.FType) == wire.TStatus && rc.at.After(stuckAt.Add(dt)) {
			late++
			lastAt = rc.at
		}
	}
	// Unstick the loop: a writer that closes at once gives an empty ha.cf.
	if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
		_ = w.Close()
	}
	if late > 0 {
		t.Errorf("%d heartbeats sent more than a deadtime (%v) after the loop got stuck, the last %v after",
			late, dt, lastAt.Sub(stuckAt).Round(time.Millisecond))
	}
	if resp := r.call(ctl.Request{Cmd: "status"}); !resp.OK {
		t.Errorf("status after the reload: %+v", resp)
	}
}

// fileRig is a loop rig whose configuration comes from files in its
// configuration directory (ha.cf, authkeys, no groups), so a SIGHUP
// reloads them; its sends are decoded with dec.
func fileRig(t *testing.T, authkeys string, dec *wire.Keyring) (*loopRig, *streamLinks, *testenv.LockedBuffer) {
	t.Helper()
	dir := t.TempDir()
	writeConf(t, dir, authkeys)
	lo := config.LoadOptions{Node: "node1", Interfaces: func() ([]string, error) { return []string{"eth0", "eth1"}, nil }}
	cfg, diags := LoadConfig(dir, lo)
	if cfg == nil {
		t.Fatalf("config: %v", diags)
	}
	runner := &fakeRunner{}
	d, links, buf := newTestDaemonIn(t, cfg, runner, dir)
	d.opts.Load = lo
	links.keys = dec
	sl := &streamLinks{fakeLinks: links}
	d.links = sl
	r := startLoopRig(t, d, links, runner)
	waitFor(t, func() bool { return len(links.sentOf(wire.TStatus)) > 1 }) // booted
	return r, sl, buf
}

func writeConf(t *testing.T, dir, authkeys string) {
	t.Helper()
	files := map[string]string{
		config.HaCfFile: "auto_failback on\nrealtime off\nkeepalive 10ms\nwarntime 150ms\ndeadtime 300ms\ninitdead 300ms\nudpport 694\n" +
			"ucast eth0 192.0.2.2\nucast eth1 198.51.100.2\nnode node1\nnode node2\ncrm off\n",
		config.AuthkeysFile:    authkeys,
		config.HaresourcesFile: "",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReloadedKeySignsEveryHeartbeat: at rest beside a live peer, once a
// reload has replaced the authkeys key (a rotation: the peers now know
// only the new one), every datagram the node sends is signed with the
// new key; a heartbeat signed with the old one is refused by the peers,
// which declare the node dead.
func TestReloadedKeySignsEveryHeartbeat(t *testing.T) {
	const oldKeys = "auth 1\n1 sha1 the-first-secret-long-enough\n"
	const newKeys = "auth 2\n2 sha1 the-second-secret-long-enough\n"
	k1 := wire.Key{Index: 1, Method: "sha1", Secret: "the-first-secret-long-enough"}
	k2 := wire.Key{Index: 2, Method: "sha1", Secret: "the-second-secret-long-enough"}
	both, err := wire.NewKeyring(1, []wire.Key{k1, k2})
	if err != nil {
		t.Fatal(err)
	}
	newRing, err := wire.NewKeyring(2, []wire.Key{k2})
	if err != nil {
		t.Fatal(err)
	}
	r, sl, buf := fileRig(t, oldKeys, both)
	// The peer signs with the old key, and with the new one once the
	// node has it.
	oldRing, err := wire.NewKeyring(1, []wire.Key{k1})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := atRest(t, r, 10*time.Millisecond, oldRing)
	writeConf(t, r.d.opts.ConfigDir, newKeys)
	r.sigs <- syscall.SIGHUP
	waitFor(t, func() bool { return strings.Contains(buf.String(), "Configuration reloaded from") })
	p.setKeys(newRing)
	from := len(sl.records())
	time.Sleep(100 * time.Millisecond)
	recs := sl.records()[from:]
	if len(recs) < 5 {
		t.Fatalf("only %d datagrams in 100 ms after the reload", len(recs))
	}
	bad := 0
	for _, rc := range recs {
		if _, err := newRing.Decode(rc.raw); err != nil {
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of the %d datagrams sent after the reload are not signed with the new key", bad, len(recs))
	}
}

// statusesAfter is the statuses recorded after from.
func (l *streamLinks) statusesAfter(from time.Time) []sentRecord {
	var out []sentRecord
	for _, rc := range l.records() {
		if rc.at.After(from) && rc.msg.Value(wire.FType) == wire.TStatus {
			out = append(out, rc)
		}
	}
	return out
}

// TestHeartbeatsCarryTheLoad: the ld field follows the load average
// (read every loadEvery) while the node is at rest beside a live peer:
// a new load is in the statuses within loadEvery and a second.
func TestHeartbeatsCarryTheLoad(t *testing.T) {
	const ka, dt = 10 * time.Millisecond, 300 * time.Millisecond
	path := filepath.Join(t.TempDir(), "loadavg")
	if err := os.WriteFile(path, []byte("0.11 0.22 0.33 1/100 4242\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runner := &fakeRunner{}
	d, links, _ := newTestDaemon(t, timedConfig(ka, dt), runner)
	d.load.file = newProcFile(path, 128)
	sl := &streamLinks{fakeLinks: links}
	d.links = sl
	r := startLoopRig(t, d, links, runner)
	atRest(t, r, ka, d.keys)
	const next = "7.77 0.22 0.33 1/100 4242"
	if err := os.WriteFile(path, []byte(next+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	changed := time.Now()
	time.Sleep(loadEvery + time.Second)
	sts := sl.statusesAfter(changed.Add(loadEvery + 500*time.Millisecond))
	if len(sts) == 0 {
		t.Fatalf("no status in the last 500 ms")
	}
	for _, rc := range sts {
		if got := rc.msg.Value(wire.FLoad); got != next {
			t.Fatalf("a status %v after the load changed carries ld=%q, want %q", rc.at.Sub(changed).Round(time.Millisecond), got, next)
		}
	}
}

// TestStartBonusLeavesTheHeartbeats: the dt the statuses announce
// carries StartDeadtimeBonus for StartBonusFor after the start, as
// Heartbeat's do, and the plain deadtime after it.
func TestStartBonusLeavesTheHeartbeats(t *testing.T) {
	const ka, dt = 10 * time.Millisecond, 300 * time.Millisecond
	r, sl, _ := streamRig(t, timedConfig(ka, dt), &fakeRunner{})
	start := r.d.start
	atRest(t, r, ka, r.d.keys)
	time.Sleep(300 * time.Millisecond)
	sts := sl.statusesAfter(start.Add(cluster.StartBonusFor + 400*time.Millisecond))
	if len(sts) < 5 {
		t.Fatalf("only %d statuses in the last 200 ms", len(sts))
	}
	want := strconv.FormatInt(dt.Milliseconds(), 16)
	for _, rc := range sts {
		if got := rc.msg.Value(wire.FDeadtime); got != want {
			t.Fatalf("a status %v after the start announces dt=%s, want %s (the bonus is over)", rc.at.Sub(start).Round(time.Millisecond), got, want)
		}
	}
}

// TestReloadedKeepaliveSetsTheRate: at rest beside a live peer, a
// reload of the keepalive changes how often the statuses leave, both
// ways.
func TestReloadedKeepaliveSetsTheRate(t *testing.T) {
	const keys = "auth 1\n1 sha1 the-first-secret-long-enough\n"
	ring, err := wire.NewKeyring(1, []wire.Key{{Index: 1, Method: "sha1", Secret: "the-first-secret-long-enough"}})
	if err != nil {
		t.Fatal(err)
	}
	r, sl, buf := fileRig(t, keys, ring)
	atRest(t, r, 10*time.Millisecond, ring)
	hacf := filepath.Join(r.d.opts.ConfigDir, config.HaCfFile)
	reload := func(from, to string, n int) time.Time {
		t.Helper()
		b, err := os.ReadFile(hacf)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(hacf, []byte(strings.Replace(string(b), from, to, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		r.sigs <- syscall.SIGHUP
		waitFor(t, func() bool { return strings.Count(buf.String(), "Configuration reloaded from") == n })
		return time.Now()
	}
	const window = 600 * time.Millisecond
	at := reload("keepalive 10ms", "keepalive 60ms", 1)
	time.Sleep(window + 100*time.Millisecond)
	// At 60 ms: 10 in the window; at 10 ms, 60.
	if n := len(sl.statusesAfter(at.Add(100 * time.Millisecond))); n > 20 || n < 5 {
		t.Errorf("%d statuses in %v at keepalive 60 ms", n, window)
	}
	at = reload("keepalive 60ms", "keepalive 10ms", 2)
	time.Sleep(window + 100*time.Millisecond)
	if n := len(sl.statusesAfter(at.Add(100 * time.Millisecond))); n < 30 {
		t.Errorf("%d statuses in %v at keepalive 10 ms", n, window)
	}
}

// TestSlowStopStream: a graceful stop whose release takes many
// keepalives, at rest beside a live peer: the statuses go on every
// keepalive while the group is released, the stream stays one, and
// shutdone is the last datagram, with nothing once the loop has
// returned.
func TestSlowStopStream(t *testing.T) {
	const ka, dt = 10 * time.Millisecond, 300 * time.Millisecond
	cfg := timedConfig(ka, dt)
	web := config.Group{Preferred: "node1", Resources: []config.Resource{{Spec: "webserver", Name: "webserver", Script: config.Script{Kind: config.ScriptFile, Path: "/bin/true"}}}}
	cfg.Groups = []config.Group{web}
	var stopping atomic.Int64
	runner := &fakeRunner{before: func(call string) {
		if call == "stop webserver" {
			stopping.Store(time.Now().UnixNano())
			time.Sleep(dt)
		}
	}}
	r, sl, _ := streamRig(t, cfg, runner)
	// Alone until initdead, node1 takes the group; then the peer comes.
	waitFor(t, func() bool { return runner.count("start webserver") == 1 })
	atRest(t, r, ka, r.d.keys)
	recs := stopLoop(t, r, sl, ka)
	checkStream(t, recs)
	if stopping.Load() == 0 {
		t.Fatal("the group was not stopped")
	}
	if sts := sl.statusesAfter(time.Unix(0, stopping.Load())); len(sts) < int(dt/ka)/3 {
		t.Errorf("%d statuses during a release of %v at keepalive %v", len(sts), dt, ka)
	}
}

// pairRecorder records what node1 of a pair sends, dropped or not, in
// the order of its sends; drop, when set, drops some of them.
type pairRecorder struct {
	mu   sync.Mutex
	recs []sentRecord
	drop func(m *wire.Message) bool
}

func (pr *pairRecorder) install(p *pairRig) {
	p.net.mu.Lock()
	defer p.net.mu.Unlock()
	p.net.filter = func(from string, _ bool, m *wire.Message) verdict {
		if from != "node1" {
			return deliverIt
		}
		pr.mu.Lock()
		defer pr.mu.Unlock()
		pr.recs = append(pr.recs, sentRecord{at: time.Now(), msg: m.Clone()})
		if pr.drop != nil && pr.drop(m) {
			return dropIt
		}
		return deliverIt
	}
}

func (pr *pairRecorder) records() []sentRecord {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return append([]sentRecord(nil), pr.recs...)
}

// restingPair is a pair whose node1 holds the group beside node2 quiet,
// past node1's start bonus: where node1's statuses are routine.
func restingPair(t *testing.T, ka, dt time.Duration) (*pairRig, *pairRecorder) {
	t.Helper()
	p := newPair(t, ka, dt)
	pr := &pairRecorder{}
	pr.install(p)
	p.waitQuiet(15 * time.Second)
	time.Sleep(time.Until(p.ends[0].d.start.Add(cluster.StartBonusFor + 300*time.Millisecond)))
	p.waitQuiet(5 * time.Second)
	return p, pr
}

// TestPairStuckHolderDeclaredDead: the holder's loop stuck outside any
// Step (a reload opening a file that never gives its content) beside a
// quiet peer: it sends no status a deadtime on, and the peer declares it
// dead, as it would if the holder had died.
func TestPairStuckHolderDeclaredDead(t *testing.T) {
	const ka, dt = 20 * time.Millisecond, 300 * time.Millisecond
	p, pr := restingPair(t, ka, dt)
	fifo := filepath.Join(p.ends[0].d.opts.ConfigDir, config.HaCfFile)
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	stuckAt := time.Now()
	p.rigs[0].sigs <- syscall.SIGHUP
	deadline := time.Now().Add(10 * dt)
	for time.Now().Before(deadline) && !strings.Contains(p.ends[1].logs.String(), "node node1: is dead") {
		time.Sleep(10 * time.Millisecond)
	}
	declared := strings.Contains(p.ends[1].logs.String(), "node node1: is dead")
	if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
		_ = w.Close()
	}
	var late int
	for _, rc := range pr.records() {
		if rc.msg.Value(wire.FType) == wire.TStatus && rc.at.After(stuckAt.Add(dt)) && rc.at.Before(deadline) {
			late++
		}
	}
	if late > 0 {
		t.Errorf("node1 sent %d statuses more than a deadtime after its loop got stuck", late)
	}
	if !declared {
		t.Errorf("node2 did not declare node1 dead within %v of node1's loop getting stuck\nnode2:\n%s", 10*dt, p.ends[1].logs)
	}
}

// TestPairOrderSeqsResent: beside a quiet peer, node1's statuses now and
// then lost on the way: node2 asks for them again and node1 resends each
// as it was first sent, from its history; the stream node1 sends stays
// one, nothing is lost for good and no request finds a seq unknown.
func TestPairOrderSeqsResent(t *testing.T) {
	const ka, dt = 20 * time.Millisecond, 300 * time.Millisecond
	p, pr := restingPair(t, ka, dt)
	var n atomic.Int64
	pr.mu.Lock()
	pr.drop = func(m *wire.Message) bool {
		// Every 40th status sent for the first time, not a resend.
		return m.Value(wire.FType) == wire.TStatus && n.Add(1)%40 == 0
	}
	pr.mu.Unlock()
	time.Sleep(3 * time.Second)
	pr.mu.Lock()
	pr.drop = nil
	pr.mu.Unlock()
	time.Sleep(RexmitSettle)
	recs := pr.records()
	_, re := checkStream(t, recs)
	if re == 0 {
		t.Errorf("no resend: the test did not exercise what it checks")
	}
	for i, who := range []string{"node1", "node2"} {
		for _, bad := range []string{"Cannot rexmit", "Irretrievably lost", "is max.", "corrupted ackseq", "is dead", " dead."} {
			if strings.Contains(p.ends[i].logs.String(), bad) {
				t.Errorf("%s logged %q", who, bad)
			}
		}
	}
}

// RexmitSettle is how long the last requests for lost seqs take to be
// answered (cluster.RexmitInterval and some).
const RexmitSettle = cluster.RexmitInterval + 500*time.Millisecond

// newPairWith is newPair with before run on each daemon before its loop
// starts.
func newPairWith(t *testing.T, ka, dt time.Duration, before func(i int, d *Daemon)) *pairRig {
	t.Helper()
	p := &pairRig{t: t, net: &pairNet{}, start: time.Now()}
	for i, name := range []string{"node1", "node2"} {
		d, _, logs := newTestDaemon(t, pairConfig(name, ka, dt), &fakeRunner{})
		d.id = Identity{Generation: uint64(10 + i)}
		if err := d.newCore(); err != nil {
			t.Fatal(err)
		}
		addr := map[string]string{"node1": "192.0.2.2:694", "node2": "192.0.2.3:694"}[name]
		e := &pairEnd{net: p.net, name: name, addr: netip.MustParseAddrPort(addr), keys: d.keys, d: d, logs: logs}
		d.links = e
		p.ends[i] = e
		before(i, d)
	}
	p.ends[0].peer, p.ends[1].peer = p.ends[1], p.ends[0]
	for i, e := range p.ends {
		p.rigs[i] = startLoopRig(t, e.d, nil, nil)
		if i == 0 {
			time.Sleep(dt / 4)
		}
	}
	return p
}

// TestPairStatusesLeaveRealtime runs in a root child: with a real-time
// priority asked for, node1's statuses at rest beside its quiet peer are
// sent from threads running SCHED_RR, whoever sends them.
func TestPairStatusesLeaveRealtime(t *testing.T) {
	if !inRootChild(t) {
		return
	}
	const ka, dt = 10 * time.Millisecond, 150 * time.Millisecond
	p := newPairWith(t, ka, dt, func(_ int, d *Daemon) {
		d.rt.init(func(int32, error) {})
		d.rt.want = 1
	})
	p.waitQuiet(15 * time.Second)
	time.Sleep(time.Until(p.ends[0].d.start.Add(cluster.StartBonusFor + 300*time.Millisecond)))
	p.waitQuiet(5 * time.Second)
	var mu sync.Mutex
	policies := map[uint32]int{}
	p.net.mu.Lock()
	p.net.filter = func(from string, _ bool, m *wire.Message) verdict {
		if from == "node1" && m.Value(wire.FType) == wire.TStatus {
			attr, err := unix.SchedGetAttr(0, 0)
			mu.Lock()
			if err != nil {
				policies[^uint32(0)]++
			} else {
				policies[attr.Policy]++
			}
			mu.Unlock()
		}
		return deliverIt
	}
	p.net.mu.Unlock()
	time.Sleep(2 * time.Second)
	mu.Lock()
	defer mu.Unlock()
	total, rr := 0, policies[unix.SCHED_RR]
	for _, n := range policies {
		total += n
	}
	if total < 100 {
		t.Fatalf("%d statuses in 2 s at keepalive %v", total, ka)
	}
	if rr != total {
		t.Errorf("%d of node1's %d statuses sent from threads not SCHED_RR (policies %v)", total-rr, total, policies)
	}
}

// lastSeq is the highest seq node1 sent so far.
func (pr *pairRecorder) lastSeq() uint64 {
	var hi uint64
	for _, rc := range pr.records() {
		if s, err := rc.msg.HexValue(wire.FSeq); err == nil && s > hi {
			hi = s
		}
	}
	return hi
}

// TestPairStatusSeqIsTheLastSent: `hbd status` on the holder at rest
// beside its quiet peer shows as its seq the last one it sent, whoever
// in the daemon sent it.
func TestPairStatusSeqIsTheLastSent(t *testing.T) {
	const ka, dt = 20 * time.Millisecond, 300 * time.Millisecond
	p, pr := restingPair(t, ka, dt)
	for i := 0; i < 20; i++ {
		time.Sleep(37 * time.Millisecond)
		before := pr.lastSeq()
		st := p.status(0)
		after := pr.lastSeq()
		if st.Seq < before || st.Seq > after {
			t.Fatalf("status %d: seq %d, while the last seq sent was %d before the request and %d after it", i, st.Seq, before, after)
		}
	}
}
