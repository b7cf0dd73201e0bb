package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/wire"
)

// The quiet passive (quiet.go) in the two-node harness of the split-brain
// tests: keepalive 1 s, deadtime 3 s, so S = 10 s and the holder waits
// 30 s for its quiet peer. node1 holds the group (auto_failback off).

// statusesIn counts the statuses n sent in [from, to).
func (n *sbNode) statusesIn(from, to time.Time) int {
	c := 0
	for _, s := range n.statuses {
		if !s.at.Before(from) && s.at.Before(to) {
			c++
		}
	}
	return c
}

// quietSent: some status n sent said hbd_quiet.
func (n *sbNode) quietSent() bool {
	for _, s := range n.statuses {
		if s.quiet != "" {
			return true
		}
	}
	return false
}

// loggedAt is when n first logged a line containing sub (zero: never).
func (n *sbNode) loggedAt(sub string) time.Time {
	for _, l := range n.logs {
		if strings.Contains(l, sub) {
			// "+12.345s LEVEL: ..."
			d, err := time.ParseDuration(strings.TrimPrefix(strings.Fields(l)[0], "+"))
			if err != nil {
				panic(err)
			}
			return t0.Add(d)
		}
	}
	return time.Time{}
}

func peerStatusOf(n *Node, name string) PeerStatus {
	for _, p := range n.Status().Peers {
		if p.Name == name {
			return p
		}
	}
	panic("no peer " + name)
}

func TestQuietPassiveSendsLess(t *testing.T) {
	s := newSBNet(t, nil)
	s.run(25 * time.Second)
	s.wantHolders("node1")
	n1, n2 := s.nodes["node1"], s.nodes["node2"]
	if q := n2.core.Status().Quiet; q != 10*time.Second {
		t.Fatalf("node2 quiet %v, want 10s\n%s", q, strings.Join(n2.logs, "\n"))
	}
	if q := n1.core.Status().Quiet; q != 0 {
		t.Errorf("the holder is quiet (%v)", q)
	}
	ps := peerStatusOf(n1.core, "node2")
	if ps.Quiet != 10*time.Second || ps.Deadtime != 30*time.Second {
		t.Errorf("node1 sees node2 quiet %v, deadtime %v; want 10s, 30s", ps.Quiet, ps.Deadtime)
	}
	if d := ps.DeadAt.Sub(s.now); d <= 0 || d > 30*time.Second {
		t.Errorf("node2 declared dead %v from now, want within 30s", d)
	}
	from := s.now
	s.run(40 * time.Second)
	if c := n2.statusesIn(from, s.now); c < 3 || c > 5 {
		t.Errorf("quiet node2 sent %d statuses in 40 s, want 4 or so", c)
	}
	if c := n1.statusesIn(from, s.now); c < 39 || c > 41 {
		t.Errorf("holder node1 sent %d statuses in 40 s, want 40", c)
	}
	for _, sub := range []string{"is dead", "Late heartbeat", "returning after partition"} {
		if n1.logged(sub) || n2.logged(sub) {
			t.Errorf("logged %q\nnode1:\n%s\nnode2:\n%s", sub, strings.Join(n1.logs, "\n"), strings.Join(n2.logs, "\n"))
		}
	}
	s.wantHolders("node1")
}

// The holder dies while its peer is quiet: the takeover comes a deadtime
// after the holder was last heard, exactly as with quiet_passive off.
func TestQuietHolderDeathTakeover(t *testing.T) {
	took := map[bool]time.Duration{}
	for _, quiet := range []bool{true, false} {
		s := newSBNet(t, func(c *config.Config) { c.NoQuietPassive = !quiet })
		s.run(25 * time.Second)
		n2 := s.nodes["node2"]
		if n2.core.Status().Quiet > 0 != quiet {
			t.Fatalf("quiet_passive %v: node2 quiet %v", quiet, n2.core.Status().Quiet)
		}
		killed := s.now.Add(300 * time.Millisecond)
		s.run(300 * time.Millisecond)
		s.kill("node1")
		s.run(6 * time.Second)
		s.wantHolders("node2")
		took[quiet] = n2.starts[0].Sub(killed)
		if d := took[quiet]; d < 2*time.Second || d > 3*time.Second+100*time.Millisecond {
			t.Errorf("quiet_passive %v: node2 started %v after the kill, want about a deadtime (3s)", quiet, d)
		}
	}
	if d := took[true] - took[false]; d < -5*time.Millisecond || d > 5*time.Millisecond {
		t.Errorf("takeover %v after the kill with quiet_passive on, %v with it off", took[true], took[false])
	}
}

// The quiet passive dies: the holder declares it dead deadtime × S /
// keepalive (30 s) after its last status, not before.
func TestQuietPassiveDeath(t *testing.T) {
	s := newSBNet(t, nil)
	s.run(30 * time.Second)
	n1, n2 := s.nodes["node1"], s.nodes["node2"]
	if n2.core.Status().Quiet == 0 {
		t.Fatal("node2 is not quiet")
	}
	s.run(3 * time.Second)
	s.kill("node2")
	last := n2.statuses[len(n2.statuses)-1].at
	s.run(50 * time.Second)
	dead := n1.loggedAt("node node2: is dead")
	if dead.IsZero() {
		t.Fatalf("node1 never declared node2 dead\n%s", strings.Join(n1.logs, "\n"))
	}
	// Heard 2 ms after it was sent; ticks every 5 ms.
	if d := dead.Sub(last); d < 30*time.Second || d > 30*time.Second+20*time.Millisecond {
		t.Errorf("node2 declared dead %v after its last status, want 30s (3 s deadtime × 10)", d)
	}
	s.wantHolders("node1")
}

// Statuses that announce quiet get lost: no death the same losses would
// not cause with quiet_passive off.
func TestQuietAnnouncementLost(t *testing.T) {
	for _, tc := range []struct {
		name string
		lose int // of node2's statuses that say hbd_quiet before it is quiet; -1: all
	}{
		{"first two", 2},
		{"all", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSBNet(t, nil)
			n1, n2 := s.nodes["node1"], s.nodes["node2"]
			lost := 0
			var lastLost time.Time
			s.lose = func(from, _ string, m *wire.Message) bool {
				if from != "node2" || m.Type() != wire.TStatus || m.Value(wire.FHbdQuiet) == "" || n2.logged("Holding no resource group") {
					return false
				}
				if tc.lose >= 0 && lost >= tc.lose {
					return false
				}
				lost++
				lastLost = s.now
				return true
			}
			s.run(90 * time.Second)
			if lost == 0 {
				t.Fatal("nothing lost")
			}
			s.wantHolders("node1")
			if n2.core.Status().Quiet == 0 {
				t.Errorf("node2 is not quiet in the end\n%s", strings.Join(n2.logs, "\n"))
			}
			if st, _, _ := n1.core.PeerView("node2"); st != StateActive {
				t.Errorf("node1 sees node2 %s in the end", st)
			}
			dead := n1.loggedAt("node node2: is dead")
			switch {
			case tc.lose >= 0 && !dead.IsZero():
				t.Errorf("node2 declared dead after %d lost statuses\n%s", lost, strings.Join(n1.logs, "\n"))
			case tc.lose < 0 && dead.IsZero():
				t.Errorf("%d statuses lost in a row (more than a deadtime of them), and node2 was not declared dead", lost)
			case tc.lose < 0:
				// The normal rule: a deadtime after the last status heard,
				// the one before the first lost.
				firstLost := lastLost.Add(-time.Duration(lost-1) * time.Second)
				if d := dead.Sub(firstLost); d < 2*time.Second || d > 2*time.Second+20*time.Millisecond {
					t.Errorf("node2 declared dead %v after its first lost status, want a deadtime after the one before (2s)", d)
				}
			}
		})
	}
}

// Anything that gives the quiet node work wakes it at once.
func TestQuietWakes(t *testing.T) {
	for _, tc := range []struct {
		name string
		on   string
		cmd  Command
	}{
		{"hb_standby on the holder", "node1", Command{Kind: CmdStandby}},
		{"node standby of the holder", "node1", Command{Kind: CmdNodeStandby}},
		{"group move to the quiet node", "node1", Command{Kind: CmdGroupMove, Which: sbKey, Node: "node2"}},
		{"hb_takeover on the quiet node", "node2", Command{Kind: CmdTakeover}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSBNet(t, nil)
			s.run(25 * time.Second)
			n2 := s.nodes["node2"]
			if n2.core.Status().Quiet == 0 {
				t.Fatal("node2 is not quiet")
			}
			at := s.now
			cmd := tc.cmd
			cmd.Now = at
			s.step(s.nodes[tc.on], cmd)
			s.run(2 * time.Second)
			s.wantHolders("node2")
			if d := n2.starts[0].Sub(at); d > 200*time.Millisecond {
				t.Errorf("node2 started %v after the command, want at once", d)
			}
			if c := n2.statusesIn(at, at.Add(20*time.Millisecond)); c == 0 {
				t.Error("node2 sent no status at once")
			}
			if c := n2.statusesIn(at, s.now); c < 2 {
				t.Errorf("node2 sent %d statuses in 2 s after the command, want one a keepalive", c)
			}
			for _, st := range n2.statuses {
				if !st.at.Before(at.Add(20*time.Millisecond)) && st.quiet != "" {
					t.Errorf("node2 still says hbd_quiet=%s at +%s", st.quiet, fmtSecs(st.at.Sub(t0)))
					break
				}
			}
		})
	}
}

func TestQuietNever(t *testing.T) {
	stripHbd := func(from string, m *wire.Message) {
		if from != "node1" {
			return
		}
		var keep []wire.Field
		for _, f := range m.Fields {
			if !strings.HasPrefix(f.Name, "hbd_") {
				keep = append(keep, f)
			}
		}
		m.Fields = keep
	}
	for _, tc := range []struct {
		name  string
		nodes []string
		edit  func(c *config.Config)
		alter func(from string, m *wire.Message)
		// noHolder: nobody holds the group in the end: the
		// harness's Heartbeat peer, which is an hbd core that does not
		// hear its own consent (node2 holds nothing either way).
		noHolder bool
	}{
		{name: "Heartbeat peer", alter: stripHbd, noHolder: true},
		{name: "hbd peer without it", alter: func(from string, m *wire.Message) {
			if from == "node1" {
				m.Del(wire.FHbdQuietMax)
			}
		}},
		{name: "three nodes", nodes: []string{"node1", "node2", "node3"}, edit: func(c *config.Config) { c.Quorum = config.QuorumOff }},
		{name: "quorum on", edit: func(c *config.Config) { c.Quorum = config.QuorumOn }},
		{name: "quiet_passive off here", edit: func(c *config.Config) { c.NoQuietPassive = c.ThisNode == "node2" }},
		{name: "quiet_passive off on the holder", edit: func(c *config.Config) { c.NoQuietPassive = c.ThisNode == "node1" }},
		{name: "fencing", edit: withFence},
		{name: "deadtime 30s", edit: func(c *config.Config) {
			c.Keepalive, c.Warntime, c.Deadtime, c.Initdead = 2*time.Second, 10*time.Second, 30*time.Second, 60*time.Second
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nodes := tc.nodes
			if nodes == nil {
				nodes = []string{"node1", "node2"}
			}
			s := newSBNetOf(t, nodes, tc.edit)
			s.alter = tc.alter
			s.run(150 * time.Second)
			if !tc.noHolder {
				s.wantHolders("node1")
			}
			for _, name := range nodes {
				if n := s.nodes[name]; n.quietSent() || n.core.Status().Quiet > 0 {
					t.Errorf("%s went quiet\n%s", name, strings.Join(n.logs, "\n"))
				}
			}
			ka := s.nodes["node2"].core.keepalive
			if c, want := s.nodes["node2"].statusesIn(t0.Add(100*time.Second), t0.Add(140*time.Second)), int(40*time.Second/ka); c < want-1 {
				t.Errorf("node2 sent %d statuses in 40 s, want %d", c, want)
			}
		})
	}
}

// A quiet interval is honoured only between one and QuietFactor of this
// node's keepalives (1 s here); anything else is ignored, once logged.
func TestQuietIntervalBounds(t *testing.T) {
	for _, tc := range []struct {
		value    string // hbd_quiet, hex ms
		quiet    time.Duration
		deadtime time.Duration
	}{
		{"2710", 10 * time.Second, 30 * time.Second},
		{"7d0", 2 * time.Second, 6 * time.Second},
		{"3e9", 1001 * time.Millisecond, 3003 * time.Millisecond},
		{"3e8", 0, 3 * time.Second}, // one keepalive: not quiet
		{"2711", 0, 3 * time.Second},
		{"f4240", 0, 3 * time.Second},
		{"ffffffffffffffff", 0, 3 * time.Second},
		{"0", 0, 3 * time.Second},
		{"zz", 0, 3 * time.Second},
		{"", 0, 3 * time.Second},
	} {
		n := joined(t)
		announceHolding(n, 4, 1, "")
		at := t0.Add(time.Second)
		acts := n.Step(Receive{Now: at, Link: "eth0", Msg: peerMsg(gen2, 5, at, "t", "status", "st", "up", "dt", "bb8", "protocol", "1", wire.FHbdQuiet, tc.value)})
		ps := peerStatusOf(n, "node2")
		if ps.Quiet != tc.quiet || ps.Deadtime != tc.deadtime || !ps.DeadAt.Equal(at.Add(tc.deadtime)) {
			t.Errorf("hbd_quiet=%s: quiet %v, deadtime %v, dead at +%v; want %v, %v", tc.value, ps.Quiet, ps.Deadtime, ps.DeadAt.Sub(at), tc.quiet, tc.deadtime)
		}
		warned := strings.Contains(strings.Join(logs(acts), "\n"), "ignored, so it is declared dead after 3000 ms")
		if warned != (tc.quiet == 0) {
			t.Errorf("hbd_quiet=%s: warned %v\n%s", tc.value, warned, strings.Join(logs(acts), "\n"))
		}
		// Once a minute at most.
		at = at.Add(time.Second)
		acts = n.Step(Receive{Now: at, Link: "eth0", Msg: peerMsg(gen2, 6, at, "t", "status", "st", "up", "dt", "bb8", "protocol", "1", wire.FHbdQuiet, tc.value)})
		if strings.Contains(strings.Join(logs(acts), "\n"), "ignored") {
			t.Errorf("hbd_quiet=%s: warned again within a minute", tc.value)
		}
		// Not dead before its deadline, dead at it.
		if l := logs(advanceTo(n, at.Add(tc.deadtime-time.Millisecond))); strings.Contains(strings.Join(l, "\n"), "is dead") {
			t.Errorf("hbd_quiet=%s: dead before %v", tc.value, tc.deadtime)
		}
		if l := logs(advanceTo(n, at.Add(tc.deadtime))); !strings.Contains(strings.Join(l, "\n"), "node node2: is dead") {
			t.Errorf("hbd_quiet=%s: not dead after %v: %q", tc.value, tc.deadtime, l)
		}
	}
}

// announceHolding has node2 announce (seq, as its announcement number
// epoch) that it holds the groups in held ("a|b|"; "" for none), as an
// hbd node does.
func announceHolding(n *Node, seq, epoch uint64, held string) {
	at := t0.Add(500 * time.Millisecond)
	n.Step(Receive{Now: at, Link: "eth0", Msg: peerMsg(gen2, seq, at, "t", "resource", "rsc_hold", "none", "rtype", "full", "isstable", "1",
		"hbd_held", held, "hbd_want", "", "hbd_epoch", fmt.Sprint(epoch))})
}

// A peer's hbd_quiet is believed only while its latest announcement
// lists no group held there, configured here or not: not before its
// first announcement, not from a holder, and no more once an
// announcement says it holds one; again once one says it holds nothing.
func TestQuietClaimNeedsNoHoldings(t *testing.T) {
	status := func(n *Node, seq uint64, at time.Time) []Action {
		return n.Step(Receive{Now: at, Link: "eth0", Msg: peerMsg(gen2, seq, at, "t", "status", "st", "active", "dt", "bb8", "protocol", "1", wire.FHbdQuiet, "2710")})
	}
	for _, tc := range []struct {
		name   string
		anns   []string // node2's announcements' hbd_held, in order (nil: none)
		quiet  time.Duration
		warned bool
	}{
		{name: "no announcement yet", quiet: 0},
		{name: "holds nothing", anns: []string{""}, quiet: 10 * time.Second},
		{name: "holds a group", anns: []string{"web|"}, quiet: 0, warned: true},
		{name: "holds a group this node does not have", anns: []string{"other|"}, quiet: 0, warned: true},
		{name: "held, then released", anns: []string{"web|", ""}, quiet: 10 * time.Second},
		{name: "released, then held", anns: []string{"", "web|"}, quiet: 0, warned: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := joined(t)
			seq := uint64(4)
			for i, held := range tc.anns {
				announceHolding(n, seq, uint64(i+1), held)
				seq++
			}
			at := t0.Add(time.Second)
			acts := status(n, seq, at)
			ps := peerStatusOf(n, "node2")
			if ps.Quiet != tc.quiet {
				t.Errorf("quiet %v, want %v", ps.Quiet, tc.quiet)
			}
			warned := strings.Contains(strings.Join(logs(acts), "\n"), "while its latest announcement lists groups it holds")
			if warned != tc.warned {
				t.Errorf("warned %v, want %v: %q", warned, tc.warned, logs(acts))
			}
			dt := 3 * time.Second
			if tc.quiet != 0 {
				dt = 30 * time.Second
			}
			if l := logs(advanceTo(n, at.Add(dt-time.Millisecond))); strings.Contains(strings.Join(l, "\n"), "is dead") {
				t.Errorf("dead before %v", dt)
			}
			if l := logs(advanceTo(n, at.Add(dt))); !strings.Contains(strings.Join(l, "\n"), "node node2: is dead") {
				t.Errorf("not dead %v after its last status: %q", dt, l)
			}
		})
	}
}

func TestScaleBy(t *testing.T) {
	for _, tc := range []struct{ d, num, den, want time.Duration }{
		{3 * time.Second, 10 * time.Second, time.Second, 30 * time.Second},
		{40 * time.Millisecond, 100 * time.Millisecond, 10 * time.Millisecond, 400 * time.Millisecond},
		{time.Hour, 10 * time.Hour, time.Hour, 10 * time.Hour},
		{1<<63 - 1, 2, 1, 1<<63 - 1},
	} {
		if got := scaleBy(tc.d, tc.num, tc.den); got != tc.want {
			t.Errorf("scaleBy(%v, %v, %v) = %v, want %v", tc.d, tc.num, tc.den, got, tc.want)
		}
	}
}

// An operator moves the group to the quiet node after it died, before the
// holder noticed: nothing answers the handoff, and the group stays on the
// holder, running, until the death is noticed; then the rule decides as
// it would have at once without quiet (node standby: nobody else may hold
// it, so it stops).
func TestQuietMoveToDeadPassive(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cmd      Command
		thenHeld bool
	}{
		{"hb_standby", Command{Kind: CmdStandby}, true},
		{"node standby", Command{Kind: CmdNodeStandby}, false},
		{"group move", Command{Kind: CmdGroupMove, Which: sbKey, Node: "node2"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSBNet(t, nil)
			s.run(30 * time.Second)
			n1 := s.nodes["node1"]
			if s.nodes["node2"].core.Status().Quiet == 0 {
				t.Fatal("node2 is not quiet")
			}
			s.kill("node2")
			s.run(time.Second)
			cmd := tc.cmd
			cmd.Now = s.now
			s.step(n1, cmd)
			for range 80 {
				s.run(500 * time.Millisecond)
				if n1.logged("node node2: is dead") {
					break
				}
				s.wantHolders("node1")
				if g, _ := n1.core.Group(sbKey); g.State != GroupRunning {
					t.Fatalf("+%s: the group is %s on node1", fmtSecs(s.now.Sub(t0)), g.State)
				}
			}
			if n1.loggedAt("node node2: is dead").IsZero() {
				t.Fatalf("node2's death was not noticed in 40 s\n%s", strings.Join(n1.logs, "\n"))
			}
			s.run(5 * time.Second)
			if tc.thenHeld {
				s.wantHolders("node1")
			} else {
				s.wantHolders()
			}
		})
	}
}

func TestQuietInterval(t *testing.T) {
	for _, tc := range []struct {
		name                string
		keepalive, deadtime time.Duration
		edit                func(c *config.Config)
		want                time.Duration
		why                 string
	}{
		{"10ms/40ms", 10 * time.Millisecond, 40 * time.Millisecond, nil, 100 * time.Millisecond, ""},
		{"1s/3s", time.Second, 3 * time.Second, nil, 10 * time.Second, ""},
		{"1s/5s", time.Second, 5 * time.Second, nil, 6 * time.Second, ""},
		{"1s/10s", time.Second, 10 * time.Second, nil, 3 * time.Second, ""},
		{"1s/15s", time.Second, 15 * time.Second, nil, 2 * time.Second, ""},
		{"1s/16s", time.Second, 16 * time.Second, nil, 0, "deadtime above 15s"},
		{"2s/30s", 2 * time.Second, 30 * time.Second, nil, 0, "deadtime above 15s"},
		{"100ms/2s", 100 * time.Millisecond, 2 * time.Second, nil, 0, "deadtime above 16 keepalives"},
		{"100ms/1.6s", 100 * time.Millisecond, 1600 * time.Millisecond, nil, time.Second, ""},
		{"off", time.Second, 3 * time.Second, func(c *config.Config) { c.NoQuietPassive = true }, 0, "quiet_passive off"},
		{"three", time.Second, 3 * time.Second, func(c *config.Config) { c.Nodes = append(c.Nodes, "node3") }, 0, "not a pair of nodes"},
		{"quorum", time.Second, 3 * time.Second, func(c *config.Config) { c.Quorum = config.QuorumOn }, 0, "quorum on"},
		{"fence", time.Second, 3 * time.Second, withFence, 0, "fencing or profile safe"},
		{"safe", time.Second, 3 * time.Second, func(c *config.Config) { c.Profile = config.ProfileSafe }, 0, "fencing or profile safe"},
	} {
		c := testConfig("node1")
		c.Keepalive, c.Deadtime = tc.keepalive, tc.deadtime
		if tc.edit != nil {
			tc.edit(c)
		}
		got, why := QuietInterval(c)
		if got != tc.want || why != tc.why {
			t.Errorf("%s: %v (%q), want %v (%q)", tc.name, got, why, tc.want, tc.why)
		}
	}
}

// announceOf is what a node in annsize.go's worst state announces now:
// the message sent, or nil.
func announceOf(c *config.Config) *wire.Message {
	n := worstNode(c)
	n.beginStep()
	n.announce("")
	for _, a := range n.out {
		if s, ok := a.(*Send); ok && s.Msg.Type() == wire.TResource {
			return s.Msg
		}
	}
	return nil
}

// TestQuietMaxGoesFirst: an announcement that would not fit one datagram
// with hbd_quietmax goes out without it (the peer then stays at the
// normal rate); one that fits with it keeps it.
func TestQuietMaxGoesFirst(t *testing.T) {
	k := 1
	for ; announceOf(withGroups(testConfig("node1"), k+1, 30, "node1")) != nil; k++ {
		if k > 1000 {
			t.Fatal("no announcement too long")
		}
	}
	base := withGroups(testConfig("node1"), k, 30, "node1")
	fell := 0
	for l := 6; l < 200; l++ {
		c := *base
		c.Groups = append(append([]config.Group(nil), base.Groups...), config.Group{Preferred: "node1",
			Resources: []config.Resource{{Spec: "rec::" + strings.Repeat("y", l-5), Name: "rec"}}})
		m := announceOf(&c)
		if m == nil {
			continue
		}
		if _, ok := m.Get(wire.FHbdQuietMax); ok {
			continue
		}
		fell++
		with := m.Clone()
		with.SetMillis(wire.FHbdQuietMax, 10*time.Second)
		if wire.SignedLen(with) <= wire.MaxDatagram {
			t.Errorf("key length %d: hbd_quietmax left out of an announcement that fits with it (%d bytes)", l, wire.SignedLen(with))
		}
	}
	if fell == 0 {
		t.Error("no announcement went out without hbd_quietmax: the edge was not reached")
	}
}
