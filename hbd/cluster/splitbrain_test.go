package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/wire"
)

// sbNet is a small two-node harness for the split-brain rules: messages
// arrive 2 ms after they are sent (unless the network is cut), scripts
// take 50 ms, fences wait for the test to answer them.
type sbNet struct {
	t     testing.TB
	now   time.Time
	names []string
	nodes map[string]*sbNode
	cut   bool
	msgs  []sbMsg
	// blocked, when set, drops what from sends to to (a one-way cut).
	blocked func(from, to string) bool
	// lose, when set, drops one message from from to to; alter, when
	// set, changes a copy of every message from from before it goes out.
	lose  func(from, to string, m *wire.Message) bool
	alter func(from string, m *wire.Message)
	// skew, when set, puts each node's clock ahead of the network's by
	// skew[name] (a monotonic clock that leapt).
	skew map[string]time.Duration
	// routine, when set, plays the daemon's routine sockets: a routine
	// message waits there for its receiver's next step, and a Tick for
	// which the receiver's RoutineCanWait says true leaves it waiting
	// (routinedue_test.go).
	routine *sbRoutine
	// standing: the nodes start with Options.Standing, and the net
	// executes their standing status orders (sbNode.st) as the daemon
	// does; record, when set, sees every message a node sends.
	standing bool
	record   func(from string, m *wire.Message, routine bool)
}

type sbNode struct {
	name    string
	core    *Node
	alive   bool
	gen     uint64
	running map[string]bool
	ops     []sbOp
	fences  []string // nodes it asked to fence, in order
	starts  []time.Time
	logs    []string
	// statuses: when it sent each status, and its hbd_quiet ("": none).
	statuses []sbStatus
	// persisted: the settings its core last asked to keep (given back to
	// its next start, as the daemon's state directory does).
	persisted []Setting
	// st executes its standing status orders (sbNet.standing); fired
	// counts its sends.
	st    Standing
	fired int
}

type sbMsg struct {
	at       time.Time
	from, to string
	m        *wire.Message
	routine  bool
}

type sbStatus struct {
	at    time.Time
	quiet string
}

type sbOp struct {
	at   time.Time
	op   Op
	key  string
	stop bool
}

const sbKey = "IPaddr::10.0.0.100"

func sbConfig(this string, edit func(c *config.Config)) *config.Config {
	c := testConfig(this)
	c.AutoFailback = config.FailbackOff
	c.Groups = []config.Group{{Preferred: "node1", Resources: []config.Resource{{Spec: sbKey, Name: "IPaddr", Args: []string{"10.0.0.100"}}}}}
	c.Fence.Retry = time.Second
	if edit != nil {
		edit(c)
	}
	return c
}

func newSBNet(t *testing.T, edit func(c *config.Config)) *sbNet {
	return newSBNetOf(t, []string{"node1", "node2"}, edit)
}

// newSBNetOf is newSBNet with these nodes (ha.cf's node lines).
func newSBNetOf(t testing.TB, names []string, edit func(c *config.Config)) *sbNet {
	return newSBNetWith(t, names, edit, false)
}

// newSBNetWith is newSBNetOf with standing status orders executed
// (sbNet.standing) or not.
func newSBNetWith(t testing.TB, names []string, edit func(c *config.Config), standing bool) *sbNet {
	s := &sbNet{t: t, now: t0, names: names, nodes: map[string]*sbNode{}, standing: standing}
	all := edit
	edit = func(c *config.Config) {
		c.Nodes = names
		if all != nil {
			all(c)
		}
	}
	for i, name := range s.names {
		n := &sbNode{name: name, gen: uint64(0x100 * (i + 1)), running: map[string]bool{}}
		s.nodes[name] = n
		s.startNode(n, edit)
	}
	return s
}

func (s *sbNet) startNode(n *sbNode, edit func(c *config.Config)) {
	n.gen++
	n.alive = true
	n.ops = nil
	n.st = Standing{}
	n.core = New(Options{Config: sbConfig(n.name, edit), UUID: [16]byte{byte(n.gen)}, Generation: n.gen, Now: s.now, Settings: n.persisted, CheckSkips: true, Standing: s.standing})
}

// sendOut puts n's message m on the net.
func (s *sbNet) sendOut(n *sbNode, m *wire.Message, routine bool) {
	if m.Type() == wire.TStatus {
		n.statuses = append(n.statuses, sbStatus{at: s.now, quiet: m.Value(wire.FHbdQuiet)})
	}
	if s.record != nil {
		s.record(n.name, m, routine)
	}
	if s.alter != nil {
		m = m.Clone()
		s.alter(n.name, m)
	}
	for _, to := range s.names {
		if to != n.name && !s.cut && (s.blocked == nil || !s.blocked(n.name, to)) && (s.lose == nil || !s.lose(n.name, to, m)) {
			s.msgs = append(s.msgs, sbMsg{at: s.now.Add(2 * time.Millisecond), from: n.name, to: to, m: m, routine: routine})
		}
	}
}

func (s *sbNet) step(n *sbNode, ev Event) {
	if s.routine != nil {
		s.routine.before(s, n, ev)
	}
	n.core.Sent(&n.st)
	for _, a := range n.core.Step(ev) {
		switch a := a.(type) {
		case *StandingStatus:
			n.st.Apply(a)
		case *Send:
			s.sendOut(n, a.Msg, a.Routine)
		case Log:
			n.logs = append(n.logs, fmt.Sprintf("+%s %s: %s", fmtSecs(s.now.Sub(t0)), a.Level, a.Msg))
		case StartGroup:
			n.running[a.Group] = true
			n.starts = append(n.starts, s.now)
			n.ops = append(n.ops, sbOp{at: s.now.Add(50 * time.Millisecond), op: OpStart, key: a.Group})
		case StopGroup:
			n.ops = append(n.ops, sbOp{at: s.now.Add(50 * time.Millisecond), op: OpStop, key: a.Group, stop: true})
		case ProbeGroup:
			n.ops = append(n.ops, sbOp{at: s.now.Add(5 * time.Millisecond), op: OpProbe, key: a.Group})
		case Fence:
			n.fences = append(n.fences, a.Node)
		case PersistSettings:
			n.persisted = a.Settings
		}
	}
}

// run advances the virtual time by d in 5 ms steps.
func (s *sbNet) run(d time.Duration) {
	end := s.now.Add(d)
	for s.now.Before(end) {
		s.now = s.now.Add(5 * time.Millisecond)
		var keep []sbMsg
		due := s.msgs
		s.msgs = nil
		for _, m := range due {
			to := s.nodes[m.to]
			if m.at.After(s.now) {
				keep = append(keep, m)
				continue
			}
			if to.alive && !s.cut {
				if s.routine != nil && m.routine {
					s.routine.arrive(m.to, Receive{Now: s.now.Add(s.skew[m.to]), Link: "eth0", Msg: m.m})
					continue
				}
				s.step(to, Receive{Now: s.now.Add(s.skew[m.to]), Link: "eth0", Msg: m.m})
			}
		}
		s.msgs = append(keep, s.msgs...)
		for _, name := range s.names {
			n := s.nodes[name]
			if !n.alive {
				continue
			}
			now := s.now.Add(s.skew[name])
			var later []sbOp
			for _, o := range n.ops {
				if o.at.After(s.now) {
					later = append(later, o)
					continue
				}
				res := ResultOK
				if o.op == OpProbe {
					res = ResultStopped
					if n.running[o.key] {
						res = ResultRunning
					}
				}
				if o.stop {
					n.running[o.key] = false
				}
				s.step(n, OpDone{Now: now, Group: o.key, Op: o.op, Result: res})
			}
			n.ops = later
			if due, on := n.st.Due(); on && !due.After(now) {
				n.fired++
				s.sendOut(n, n.st.Fire(now, testLoad).Clone(), true)
			}
			if nt := n.core.NextTick(); !nt.After(now) {
				s.step(n, Tick{Now: now, Load: testLoad})
			}
		}
	}
}

// runUntilHolds runs the net in 250 ms steps, for at most 50 s, until n
// runs the group.
func (s *sbNet) runUntilHolds(n *sbNode) {
	for range 200 {
		s.run(250 * time.Millisecond)
		if n.running[sbKey] {
			return
		}
	}
}

// killAndTake kills victim's machine and runs the net until taker runs
// the group: how long that took, and whether it did within 50 s.
func (s *sbNet) killAndTake(victim string, taker *sbNode) (time.Duration, bool) {
	s.kill(victim)
	killed := s.now
	s.runUntilHolds(taker)
	return s.now.Sub(killed), taker.running[sbKey]
}

// kill is kill -9 of a node's machine: its scripts die with it.
func (s *sbNet) kill(name string) {
	n := s.nodes[name]
	n.alive = false
	n.running = map[string]bool{}
}

func (s *sbNet) holders() []string {
	var hs []string
	for _, name := range s.names {
		if n := s.nodes[name]; n.alive && n.running[sbKey] {
			hs = append(hs, name)
		}
	}
	return hs
}

func (s *sbNet) wantHolders(want ...string) {
	s.t.Helper()
	if got := strings.Join(s.holders(), " "); got != strings.Join(want, " ") {
		s.t.Fatalf("holders at +%s: [%s], want [%s]\nnode1:\n%s\nnode2:\n%s", fmtSecs(s.now.Sub(t0)), got, strings.Join(want, " "),
			strings.Join(s.nodes["node1"].logs, "\n"), strings.Join(s.nodes["node2"].logs, "\n"))
	}
}

func (n *sbNode) logged(sub string) bool {
	for _, l := range n.logs {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

func withFence(c *config.Config) { c.Fence.Command = []string{"/usr/local/sbin/fence-peer"} }

func TestFenceBeforeTakeover(t *testing.T) {
	s := newSBNet(t, withFence)
	s.run(15 * time.Second)
	s.wantHolders("node1")
	n2 := s.nodes["node2"]
	s.kill("node1")
	s.run(5 * time.Second) // deadtime 3s
	if len(n2.fences) != 1 || n2.fences[0] != "node1" {
		t.Fatalf("fences asked = %v, want [node1]", n2.fences)
	}
	s.wantHolders() // waits for the fence
	s.step(n2, FenceDone{Now: s.now, Node: "node1", OK: false, Detail: "exit status 1"})
	if !n2.logged("Fencing node1 failed (attempt 1: exit status 1): retrying in 1000 ms") {
		t.Errorf("no failure line:\n%s", strings.Join(n2.logs, "\n"))
	}
	s.run(500 * time.Millisecond)
	if len(n2.fences) != 1 {
		t.Fatalf("retried before fence_retry: %v", n2.fences)
	}
	s.run(time.Second)
	if len(n2.fences) != 2 {
		t.Fatalf("fences asked = %v, want a retry", n2.fences)
	}
	s.run(3 * time.Second)
	s.wantHolders() // still nothing while the retry is in flight
	okAt := s.now
	s.step(n2, FenceDone{Now: s.now, Node: "node1", OK: true, Detail: "exit status 0"})
	s.run(time.Second)
	s.wantHolders("node2")
	if len(n2.starts) != 1 || n2.starts[0].Before(okAt) {
		t.Errorf("starts %v, want one after the fence at %v", n2.starts, okAt)
	}
}

// TestFenceReplacesQuorumWait: three nodes have quorum, so a majority
// node waits two deadtimes after a peer's death before it starts that
// peer's groups (quorum.go), unless it fences the peer first: then the
// group starts as soon as the fence succeeded.
func TestFenceReplacesQuorumWait(t *testing.T) {
	const deadtime = 3 * time.Second // testConfig's
	tests := []struct {
		name  string
		edit  func(c *config.Config)
		fence bool
		// the start after the kill: no sooner than, and no later than
		earliest, latest time.Duration
	}{
		{"quorum alone", nil, false, 3*deadtime - time.Second, 3*deadtime + time.Second},
		{"fencing", withFence, true, deadtime, deadtime + 2*time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSBNetOf(t, []string{"node1", "node2", "node3"}, tt.edit)
			s.run(15 * time.Second)
			s.wantHolders("node1")
			n2 := s.nodes["node2"]
			killed := s.now
			s.kill("node1")
			s.run(deadtime + time.Second)
			if tt.fence {
				if len(n2.fences) != 1 || n2.fences[0] != "node1" {
					t.Fatalf("fences asked = %v, want [node1]", n2.fences)
				}
				s.step(n2, FenceDone{Now: s.now, Node: "node1", OK: true, Detail: "exit status 0"})
			}
			s.run(3 * deadtime)
			s.wantHolders("node2")
			if len(n2.starts) != 1 {
				t.Fatalf("node2 started %d times, want once", len(n2.starts))
			}
			if d := n2.starts[0].Sub(killed); d < tt.earliest || d > tt.latest {
				t.Errorf("node2 started %s after the kill, want %s to %s\n%s", d, tt.earliest, tt.latest, strings.Join(n2.logs, "\n"))
			}
		})
	}
}

func TestFenceNotAfterGracefulStop(t *testing.T) {
	s := newSBNet(t, withFence)
	s.run(15 * time.Second)
	s.wantHolders("node1")
	s.step(s.nodes["node1"], Stop{Now: s.now})
	s.run(2 * time.Second)
	s.wantHolders("node2")
	if f := s.nodes["node2"].fences; len(f) != 0 {
		t.Errorf("fenced %v after a graceful stop", f)
	}
}

func TestFenceDroppedWhenHeardAgain(t *testing.T) {
	s := newSBNet(t, withFence)
	s.run(15 * time.Second)
	s.cut = true
	s.run(4 * time.Second)
	n1, n2 := s.nodes["node1"], s.nodes["node2"]
	if len(n2.fences) != 1 || len(n1.fences) != 1 {
		t.Fatalf("fences: node1 %v node2 %v, want each the other", n1.fences, n2.fences)
	}
	s.wantHolders("node1") // node2 waits for its fence
	s.cut = false
	s.run(3 * time.Second)
	if !n2.logged("node1 is heard again: it is no longer fenced") {
		t.Errorf("node2 did not drop the fence:\n%s", strings.Join(n2.logs, "\n"))
	}
	s.step(n2, FenceDone{Now: s.now, Node: "node1", OK: false, Detail: "timeout"})
	s.run(3 * time.Second)
	if len(n2.fences) != 1 {
		t.Errorf("a fence no longer needed was retried: %v", n2.fences)
	}
	s.wantHolders("node1")
}

func withPing(c *config.Config) {
	c.Ping = []config.PingGroup{{Name: "gw"}}
}

func TestPingWorseGivesGroupsAway(t *testing.T) {
	s := newSBNet(t, withPing)
	n1, n2 := s.nodes["node1"], s.nodes["node2"]
	s.step(n1, PingStatus{Now: s.now, Reachable: 1, Total: 1})
	s.step(n2, PingStatus{Now: s.now, Reachable: 1, Total: 1})
	s.run(15 * time.Second)
	s.wantHolders("node1")
	s.step(n1, PingStatus{Now: s.now, Reachable: 0, Total: 1})
	s.run(2 * time.Second)
	s.wantHolders("node2")
	if !n2.logged("Ping nodes of node1: 0 of 1 reachable") {
		t.Errorf("node2 did not see node1's ping state:\n%s", strings.Join(n2.logs, "\n"))
	}
	// Equal again: nothing moves (auto_failback off).
	s.step(n1, PingStatus{Now: s.now, Reachable: 1, Total: 1})
	s.run(3 * time.Second)
	s.wantHolders("node2")
}

func TestPingTakeover(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprintf("ping_takeover=%v", on), func(t *testing.T) {
			s := newSBNet(t, func(c *config.Config) { withPing(c); c.PingTakeover = on })
			n1, n2 := s.nodes["node1"], s.nodes["node2"]
			s.step(n1, PingStatus{Now: s.now, Reachable: 1, Total: 1})
			s.step(n2, PingStatus{Now: s.now, Reachable: 1, Total: 1})
			s.run(15 * time.Second)
			s.wantHolders("node1")
			// Both lose the gateway (equal: nothing moves), then node1 dies.
			s.step(n1, PingStatus{Now: s.now, Reachable: 0, Total: 1})
			s.step(n2, PingStatus{Now: s.now, Reachable: 0, Total: 1})
			s.run(time.Second)
			s.wantHolders("node1")
			s.kill("node1")
			s.run(5 * time.Second)
			if on {
				s.wantHolders("node2")
				return
			}
			s.wantHolders()
			if !n2.logged("this node reaches none of its ping nodes and node1 is silent (ping_takeover off)") {
				t.Errorf("no reason logged:\n%s", strings.Join(n2.logs, "\n"))
			}
			s.step(n2, PingStatus{Now: s.now, Reachable: 1, Total: 1})
			s.run(time.Second)
			s.wantHolders("node2")
		})
	}
}

func withSafe(c *config.Config) {
	c.Profile = config.ProfileSafe
	c.SafeStartDelay = 2 * time.Second
}

func TestSafeProfileDelayAfterFence(t *testing.T) {
	s := newSBNet(t, func(c *config.Config) { withFence(c); withSafe(c) })
	s.run(15 * time.Second)
	n2 := s.nodes["node2"]
	s.kill("node1")
	s.run(4 * time.Second)
	okAt := s.now
	s.step(n2, FenceDone{Now: s.now, Node: "node1", OK: true})
	s.run(1900 * time.Millisecond)
	s.wantHolders()
	s.run(200 * time.Millisecond)
	s.wantHolders("node2")
	if d := n2.starts[0].Sub(okAt); d < 2*time.Second {
		t.Errorf("started %v after the fence, want safe_start_delay 2s", d)
	}
}

func TestSafeProfileWithoutFencing(t *testing.T) {
	s := newSBNet(t, func(c *config.Config) { withPing(c); withSafe(c) })
	n1, n2 := s.nodes["node1"], s.nodes["node2"]
	s.step(n1, PingStatus{Now: s.now, Reachable: 1, Total: 1})
	s.step(n2, PingStatus{Now: s.now, Reachable: 1, Total: 1})
	s.run(15 * time.Second)
	s.wantHolders("node1")
	// node1 dies while it still reaches the gateway: no evidence, no
	// fencing method: nobody takes over.
	s.kill("node1")
	s.run(6 * time.Second)
	s.wantHolders()
	if !n2.logged("profile safe: node1 went silent and no fence_command or fence_aws is configured") {
		t.Errorf("no CRIT line:\n%s", strings.Join(n2.logs, "\n"))
	}
	if len(n2.fences) != 0 {
		t.Errorf("fenced without a method: %v", n2.fences)
	}
	// node1 comes back: it is heard again, and the rule places the group.
	s.startNode(n1, func(c *config.Config) { withPing(c); withSafe(c) })
	s.step(n1, PingStatus{Now: s.now, Reachable: 1, Total: 1})
	s.run(20 * time.Second)
	if len(s.holders()) != 1 {
		s.wantHolders("one node")
	}
}

func TestSafeProfilePingEvidence(t *testing.T) {
	s := newSBNet(t, func(c *config.Config) { withPing(c); withSafe(c) })
	n1, n2 := s.nodes["node1"], s.nodes["node2"]
	s.step(n1, PingStatus{Now: s.now, Reachable: 1, Total: 1})
	s.step(n2, PingStatus{Now: s.now, Reachable: 1, Total: 1})
	s.run(15 * time.Second)
	s.wantHolders("node1")
	// node1 loses the gateway: it gives the group to node2 (ipfail), then
	// it goes silent. Its side is the isolated one: no CRIT, no wait.
	s.step(n1, PingStatus{Now: s.now, Reachable: 0, Total: 1})
	s.run(3 * time.Second)
	s.wantHolders("node2")
	s.kill("node1")
	s.run(5 * time.Second)
	s.wantHolders("node2")
	if !n2.logged("its side is the isolated one; taking over without fencing") {
		t.Errorf("no evidence line:\n%s", strings.Join(n2.logs, "\n"))
	}
	if n2.logged("no fence_command or fence_aws is configured") {
		t.Errorf("evidence ignored:\n%s", strings.Join(n2.logs, "\n"))
	}
}
