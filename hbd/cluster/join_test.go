package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/wire"
)

// joinRun drives node1 while node2 is heard (a status every second) but
// never answers reqnodes: node2 does not hear node1.
type joinRun struct {
	t   *testing.T
	n   *Node
	gen uint64 // node2's generation
	seq uint64 // node2's last seq
	// next is node2's next status; zero once it falls silent.
	next time.Time
	// reqAt are the times node1 sent reqnodes; logs its log lines.
	reqAt []time.Time
	logs  []string
}

func hacfConfig(this string, media ...config.Medium) *config.Config {
	c := testConfig(this)
	c.Media[0].Pos = config.Pos{File: "/etc/ha.d/ha.cf", Line: 12}
	c.Media = append(c.Media, media...)
	return c
}

// newJoinRun boots node1 (with c, or hacfConfig's) and has node2 heard
// from +200 ms.
func newJoinRun(t *testing.T, c *config.Config) *joinRun {
	t.Helper()
	if c == nil {
		c = hacfConfig("node1")
	}
	n := New(Options{Config: c, UUID: uuid1, Generation: 0x6b02633b, Now: t0})
	r := &joinRun{t: t, n: n, gen: gen2, next: t0.Add(200 * time.Millisecond)}
	r.step(Tick{Now: t0, Load: testLoad})
	return r
}

// step feeds ev and records what node1 did.
func (r *joinRun) step(ev Event) []Action {
	acts := r.n.Step(ev)
	for _, m := range sends(acts) {
		if m.Value(wire.FType) == wire.TReqNodes {
			if d := m.Value(wire.FDest); d != "node2" {
				r.t.Fatalf("reqnodes to %q", d)
			}
			r.reqAt = append(r.reqAt, eventTime(ev))
		}
	}
	r.logs = append(r.logs, logs(acts)...)
	return acts
}

// peer sends one message of node2 now (the next seq).
func (r *joinRun) peer(at time.Time, kv ...string) []Action {
	r.seq++
	return r.step(Receive{Now: at, Link: "eth0", Msg: peerMsg(r.gen, r.seq, at, kv...)})
}

// until runs time on to end: node1's ticks, node2's statuses.
func (r *joinRun) until(end time.Time) {
	for {
		at := r.n.NextTick()
		status := !r.next.IsZero() && !r.next.After(at)
		if status {
			at = r.next
		}
		if at.After(end) {
			return
		}
		if status {
			r.peer(at, "t", "status", "st", "up", "dt", "bb8", "protocol", "1")
			r.next = r.next.Add(time.Second)
			continue
		}
		r.step(Tick{Now: at})
	}
}

// reqSince counts the reqnodes sent after t.
func (r *joinRun) reqSince(t time.Time) int {
	c := 0
	for _, at := range r.reqAt {
		if at.After(t) {
			c++
		}
	}
	return c
}

// warnings are the no-answer WARN lines.
func (r *joinRun) warnings() []string {
	var w []string
	for _, l := range r.logs {
		if strings.HasPrefix(l, "WARN: No answer (repnodes)") {
			w = append(w, l)
		}
	}
	return w
}

func TestReqnodesBackOff(t *testing.T) {
	r := newJoinRun(t, nil)
	hour := t0.Add(time.Hour)
	r.until(hour)
	if r.n.State() != StateUp {
		t.Fatalf("node1 is %s, want up (no repnodes came)", r.n.State())
	}
	var gaps []string
	for i := 1; i < len(r.reqAt) && i <= 10; i++ {
		gaps = append(gaps, r.reqAt[i].Sub(r.reqAt[i-1]).String())
	}
	if got, want := strings.Join(gaps, " "), "1s 1s 1s 2s 4s 8s 16s 32s 32s 32s"; got != want {
		t.Errorf("intervals between requests %s, want %s", got, want)
	}
	for i := 1; i < len(r.reqAt); i++ {
		if d := r.reqAt[i].Sub(r.reqAt[i-1]); d > ReqnodesRetryMax {
			t.Fatalf("request %d came %v after the one before, more than %v", i, d, ReqnodesRetryMax)
		}
	}
	// An hour at one request per ReqnodesRetryMax, plus the first ones:
	// 3600 at Heartbeat's rate.
	if n, most := len(r.reqAt), int(time.Hour/ReqnodesRetryMax)+2*ReqnodesPatience+8; n > most || n < most/2 {
		t.Errorf("%d reqnodes in an hour, want at most %d (and not much fewer: it keeps asking)", n, most)
	}
	w := r.warnings()
	if len(w) != 1 {
		t.Fatalf("%d no-answer warnings in an hour, want 1: %q", len(w), w)
	}
	for _, want := range []string{"from node2 to 4 node list requests (reqnodes) in 5s:", "/etc/ha.d/ha.cf line 12", "ucast IFACE PEER LOCAL", "authkeys", "stays up", "at most every 32s"} {
		if !strings.Contains(w[0], want) {
			t.Errorf("warning %q does not say %q", w[0], want)
		}
	}
	if strings.Contains(w[0], "its own messages") {
		t.Errorf("warning %q says own messages came back; none did", w[0])
	}
}

func TestReqnodesWarningOnceAtTheFifthRequest(t *testing.T) {
	r := newJoinRun(t, nil)
	// Requests at +0.2, 1.2, 2.2, 3.2 s: no warning yet.
	r.until(t0.Add(5100 * time.Millisecond))
	if w := r.warnings(); len(r.reqAt) != ReqnodesPatience || len(w) != 0 {
		t.Fatalf("by +5.1 s: %d requests, warnings %q; want %d and none", len(r.reqAt), w, ReqnodesPatience)
	}
	r.until(t0.Add(5200 * time.Millisecond))
	if w := r.warnings(); len(r.reqAt) != ReqnodesPatience+1 || len(w) != 1 {
		t.Fatalf("at +5.2 s: %d requests, warnings %q; want %d and one", len(r.reqAt), w, ReqnodesPatience+1)
	}
}

func TestReqnodesWarningNamesOwnMessagesOnUcast(t *testing.T) {
	own := func(at time.Time) Receive {
		m := &wire.Message{}
		m.Set("t", "status")
		m.Set("st", "up")
		m.Set("src", "node1")
		return Receive{Now: at, Link: "eth0", Msg: m}
	}
	for _, tc := range []struct {
		name  string
		extra []config.Medium
		want  bool
	}{
		{"ucast only", nil, true},
		{"ucast and bcast", []config.Medium{{Kind: config.Bcast, Iface: "eth0", Port: 694}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newJoinRun(t, hacfConfig("node1", tc.extra...))
			r.until(t0.Add(2 * time.Second))
			r.step(own(t0.Add(2100 * time.Millisecond)))
			r.until(t0.Add(10 * time.Second))
			w := r.warnings()
			if len(w) != 1 {
				t.Fatalf("warnings %q, want one", w)
			}
			says := strings.Contains(w[0], "This node hears its own messages on eth0: what it sends to node2's address comes back to it.")
			if says != tc.want {
				t.Errorf("warning %q: says own messages came back: %v, want %v", w[0], says, tc.want)
			}
		})
	}
}

func TestLateRepnodesEndsRequests(t *testing.T) {
	r := newJoinRun(t, nil)
	r.until(t0.Add(10 * time.Minute))
	asked := len(r.reqAt)
	at := t0.Add(10*time.Minute + 500*time.Millisecond)
	acts := r.peer(at, "dest", "node1", "t", "repnodes", "nodelist", "node1 node2 ", "delnodelist", " ")
	got := logs(acts)
	want := fmt.Sprintf("info: Node list (repnodes) from node2 after %d request(s): joining", asked)
	if len(got) < 2 || got[0] != want || got[1] != "info: Comm_now_up(): updating status to active" {
		t.Fatalf("at the repnodes: %q, want %q then Comm_now_up", got, want)
	}
	r.until(t0.Add(70 * time.Minute))
	if n := r.reqSince(at); n != 0 {
		t.Errorf("%d reqnodes after the repnodes", n)
	}
	if r.n.State() != StateActive {
		t.Errorf("node1 is %s, want active", r.n.State())
	}
	if w := r.warnings(); len(w) != 1 {
		t.Errorf("warnings %q, want the one before the repnodes", w)
	}
}

// Whatever may have fixed the path (the peer restarted, this node's
// configuration reloaded, the peer acknowledges this node's messages)
// makes the next request go at once, from the start of the schedule.
func TestReqnodesAskedAgainAtOnce(t *testing.T) {
	// Requests 32 s apart by now, the last at +97.2 s; node2's last
	// status at +100.2 s.
	backedOff := t0.Add(100*time.Second + 500*time.Millisecond)
	for _, tc := range []struct {
		name string
		do   func(r *joinRun, at time.Time)
	}{
		{"peer restart", func(r *joinRun, at time.Time) {
			r.gen, r.seq = gen2+1, 0
			r.peer(at, "t", "status", "st", "init", "dt", "bb8", "protocol", "1")
		}},
		{"reload", func(r *joinRun, at time.Time) {
			r.step(Reconfigure{Now: at, Config: hacfConfig("node1")})
		}},
		{"acknowledged", func(r *joinRun, at time.Time) {
			r.step(Receive{Now: at, Link: "eth0", Msg: peerMsg(r.gen, 0, at, "t", wire.TAck, "dest", "node1", "ackseq", fmt.Sprintf("%x", r.n.seq))})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newJoinRun(t, nil)
			r.until(backedOff)
			at := backedOff.Add(300 * time.Millisecond)
			if r.n.NextTick().Before(at) || r.reqSince(backedOff.Add(-ReqnodesRetryMax+time.Second)) != 1 {
				t.Fatalf("not backed off at +100.5 s: %d requests, the last at +%v", len(r.reqAt), r.reqAt[len(r.reqAt)-1].Sub(t0))
			}
			before := len(r.reqAt)
			tc.do(r, at)
			if len(r.reqAt) != before+1 || !r.reqAt[before].Equal(at) {
				t.Fatalf("no request at once: %d before, requests %v", before, r.reqAt[before:])
			}
			r.until(at.Add(3500 * time.Millisecond))
			if n := r.reqSince(at); n != ReqnodesPatience-1 {
				t.Errorf("%d requests in the 3.5 s after, want %d (every second)", n, ReqnodesPatience-1)
			}
			if w := r.warnings(); len(w) != 1 {
				t.Errorf("warnings %q, want the first one only", w)
			}
		})
	}
}

func TestReqnodesAckRestartsScheduleAtMostOncePerMax(t *testing.T) {
	r := newJoinRun(t, nil)
	r.until(t0.Add(100 * time.Second))
	acked := 0
	ack := func(at time.Time) {
		acked++
		r.step(Receive{Now: at, Link: "eth0", Msg: peerMsg(r.gen, 0, at, "t", wire.TAck, "dest", "node1", "ackseq", fmt.Sprintf("%x", r.n.seq))})
	}
	// node2 acknowledges every 500 ms for ten minutes (a replayed ack, or
	// a peer that hears this node but drops its requests).
	start := t0.Add(100*time.Second + 300*time.Millisecond)
	for at := start; at.Before(start.Add(10 * time.Minute)); at = at.Add(500 * time.Millisecond) {
		r.until(at)
		ack(at)
	}
	// At most one restart (ReqnodesPatience requests at 1 s, then the
	// back-off) per ReqnodesRetryMax.
	most := (int(10*time.Minute/ReqnodesRetryMax) + 1) * (2*ReqnodesPatience + 1)
	if n := r.reqSince(start.Add(-time.Millisecond)); n > most {
		t.Errorf("%d requests in ten minutes of %d acks, want at most %d", n, acked, most)
	}
}

func TestPeerDeadWhileBackedOffJoinsAtOnce(t *testing.T) {
	r := newJoinRun(t, nil)
	r.until(t0.Add(100 * time.Second))
	r.next = time.Time{} // node2 falls silent
	last := t0.Add(99*time.Second + 200*time.Millisecond)
	r.until(last.Add(3 * time.Second))
	if r.n.State() != StateActive {
		t.Fatalf("node1 is %s a deadtime after node2's last status, want active", r.n.State())
	}
	i := strings.Index(strings.Join(r.logs, "\n"), "WARN: node node2: is dead\n")
	j := strings.Index(strings.Join(r.logs, "\n"), "info: Comm_now_up(): updating status to active")
	if i < 0 || j < i {
		t.Errorf("logs %q: want node2 dead, then comm up", r.logs)
	}
}

func TestReqnodesInterval(t *testing.T) {
	for sent, want := range map[int]time.Duration{
		1: time.Second, 2: time.Second, 3: time.Second,
		4: 2 * time.Second, 5: 4 * time.Second, 6: 8 * time.Second, 7: 16 * time.Second,
		8: 32 * time.Second, 9: 32 * time.Second, 1000: 32 * time.Second,
	} {
		if got := reqnodesInterval(sent); got != want {
			t.Errorf("after %d requests wait %v, want %v", sent, got, want)
		}
	}
}

func TestMediaWhere(t *testing.T) {
	at := func(file string, line int) config.Medium {
		return config.Medium{Pos: config.Pos{File: file, Line: line}}
	}
	for _, tc := range []struct {
		media []config.Medium
		want  string
	}{
		{nil, "ha.cf"},
		{[]config.Medium{at("", 0)}, "ha.cf"},
		{[]config.Medium{at("/etc/ha.d/ha.cf", 0)}, "/etc/ha.d/ha.cf"},
		{[]config.Medium{at("/etc/ha.d/ha.cf", 12)}, "/etc/ha.d/ha.cf line 12"},
		{[]config.Medium{at("/etc/ha.d/ha.cf", 12), at("/etc/ha.d/ha.cf", 12), at("/etc/ha.d/ha.cf", 14)}, "/etc/ha.d/ha.cf lines 12, 14"},
	} {
		if got := mediaWhere(tc.media); got != tc.want {
			t.Errorf("mediaWhere(%v) = %q, want %q", tc.media, got, tc.want)
		}
	}
}
