package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/wire"
)

// withGroups is c with n groups preferred by pref, each keyed by a
// resource spec of keyLen bytes, one per haresources line from line 3.
func withGroups(c *config.Config, n, keyLen int, pref string) *config.Config {
	c.Groups = nil
	for i := range n {
		key := fmt.Sprintf("rec::%0*d", keyLen-5, i)
		c.Groups = append(c.Groups, config.Group{Preferred: pref, Resources: []config.Resource{{Spec: key, Name: "rec"}},
			Pos: config.Pos{File: "/etc/ha.d/haresources", Line: 3 + i}})
	}
	return c
}

// firstGroups is a copy of c with its first k groups.
func firstGroups(c *config.Config, k int) *config.Config {
	cc := *c
	cc.Groups = c.Groups[:k]
	return &cc
}

// longestKeys are keyrings of the longest signature of each kind (a
// two-digit index): SignedLen is exact for them.
func longestKeys(t *testing.T) []*wire.Keyring {
	t.Helper()
	var out []*wire.Keyring
	for _, k := range []wire.Key{{Index: 15, Method: wire.MethodSHA256, Secret: "s"}, {Index: 10, Method: wire.MethodBLAKE2b, Secret: "s"}} {
		kr, err := wire.NewKeyring(k.Index, []wire.Key{k})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, kr)
	}
	return out
}

// worstEncodes says whether every worst-case announcement of c encodes
// with every longest key.
func worstEncodes(t *testing.T, c *config.Config) bool {
	t.Helper()
	for _, kr := range longestKeys(t) {
		for _, m := range worstNode(c).worstAnnouncements(strings.Repeat("x", SettingsReserve)) {
			if _, err := kr.Encode(m); err != nil {
				return false
			}
		}
	}
	return true
}

// TestCheckAnnouncementEdge: of a haresources with too many groups, the
// first M (as many as fit) load and M+1 are refused, naming the line of
// group M+1 and both counts; M is what really encodes: the worst-case
// announcements of M groups encode with the longest signatures, those of
// M+1 do not.
func TestCheckAnnouncementEdge(t *testing.T) {
	for _, tt := range []struct {
		name     string
		nodes    []string
		keyLen   int
		min, max int // M, roughly: each key is in 5 lists
	}{
		{"30-byte keys, two nodes", []string{"node1", "node2"}, 30, 75, 100},
		{"30-byte keys, a long node name", []string{"node1", "node2", "a-node-of-a-much-longer-name.example.com"}, 30, 60, 90},
		{"12-byte keys", []string{"node1", "node2"}, 12, 180, 260},
		{"200-byte keys", []string{"node1", "node2"}, 200, 12, 17},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig("node1")
			c.Nodes = tt.nodes
			withGroups(c, 400, tt.keyLen, "node1")
			m, size := AnnouncementFit(c)
			if size <= wire.MaxDatagram || m < tt.min || m > tt.max {
				t.Fatalf("%d groups fit (want %d..%d), %d bytes with all 400", m, tt.min, tt.max, size)
			}
			fits := firstGroups(c, m)
			if d := CheckAnnouncement(fits); d != nil {
				t.Errorf("%d groups refused: %v", m, d)
			}
			if !worstEncodes(t, fits) {
				t.Errorf("the worst case of %d groups does not encode", m)
			}
			over := firstGroups(c, m+1)
			d := CheckAnnouncement(over)
			if len(d) != 1 || d[0].Severity != config.SevError || d[0].Pos != c.Groups[m].Pos ||
				!strings.Contains(d[0].Msg, fmt.Sprintf("%d groups; at most %d fit", m+1, m)) {
				t.Errorf("%d groups: %v, want an error at %s", m+1, d, c.Groups[m].Pos)
			}
			if worstEncodes(t, over) {
				t.Errorf("the worst case of %d groups encodes: the check refuses what fits", m+1)
			}
		})
	}
}

// TestCheckAnnouncementNoGroups: nothing to check without groups, and a
// few groups fit.
func TestCheckAnnouncementNoGroups(t *testing.T) {
	c := testConfig("node1")
	if d := CheckAnnouncement(c); d != nil {
		t.Errorf("no groups: %v", d)
	}
	if d := CheckAnnouncement(withGroups(c, 3, 30, "node2")); d != nil {
		t.Errorf("3 groups: %v", d)
	}
}

// TestWorstAnnouncementBoundsTakeover: a node that starts every group of
// a configuration at the limit, runs them and stops gracefully sends
// every announcement, none longer than the worst case counted.
func TestWorstAnnouncementBoundsTakeover(t *testing.T) {
	c := withGroups(testConfig("node1"), 400, 30, "node1")
	m, _ := AnnouncementFit(c)
	c = firstGroups(c, m)
	_, worst := AnnouncementFit(c)
	h, acts := joinWithHeartbeatConfig(t, c)
	n := h.n
	for _, g := range c.Groups {
		acts = append(acts, n.Step(OpDone{Now: h.now, Group: g.Key(), Op: OpStart, Result: ResultOK})...)
	}
	acts = append(acts, n.Step(Stop{Now: h.now})...)
	for i := len(c.Groups) - 1; i >= 0; i-- {
		acts = append(acts, n.Step(OpDone{Now: h.now, Group: c.Groups[i].Key(), Op: OpStop, Result: ResultOK})...)
	}
	if !hasAction(acts, Exit{}) {
		t.Fatalf("no exit")
	}
	announced := 0
	for _, msg := range sends(acts) {
		if msg.Value(wire.FType) != wire.TResource {
			continue
		}
		announced++
		if l := wire.SignedLen(msg); l > worst {
			t.Errorf("an announcement of %d bytes, longer than the worst case counted (%d)", l, worst)
		}
	}
	if announced < 3 {
		t.Errorf("%d announcements sent", announced)
	}
	for _, l := range logs(acts) {
		if strings.Contains(l, "not sent") {
			t.Errorf("log: %s", l)
		}
	}
}

// TestAnnouncementTooLongNotSent: a node whose announcement does not fit
// a datagram (here: every group starting at once, past what the load
// check allows) sends none (it would not leave the daemon), says so once
// and then at most once a minute, uses no seq for it (the peer sees no
// gap), starts no more groups while it cannot say so, and sends the
// announcement once it fits again (the starts done).
func TestAnnouncementTooLongNotSent(t *testing.T) {
	c := withGroups(testConfig("node1"), 150, 40, "node1")
	if CheckAnnouncement(c) == nil {
		t.Fatal("the configuration passes the load check")
	}
	h, acts := joinWithHeartbeatConfig(t, c)
	n := h.n
	last := c.Groups[len(c.Groups)-1].Key()
	starts := len(actionsOf[StartGroup](acts))
	if starts != len(c.Groups) {
		t.Fatalf("%d groups started, want %d", starts, len(c.Groups))
	}
	var sent []*wire.Message // copies: the node reuses its messages
	keep := func(acts []Action) []Action {
		for _, m := range sends(acts) {
			sent = append(sent, m.Clone())
		}
		return acts
	}
	keep(acts)
	notSent := func(acts []Action) int {
		k := 0
		for _, l := range logs(acts) {
			if strings.HasPrefix(l, "ERROR: Resource announcement not sent") {
				k++
			}
		}
		return k
	}
	if k := notSent(acts); k != 1 {
		t.Errorf("%d lines say the announcement was not sent, want 1: %q", k, logs(acts))
	}

	// A start fails and is cleaned up: the group may start here again,
	// but not while the peer cannot hear that it does.
	acts = keep(n.Step(OpDone{Now: h.now, Group: last, Op: OpStart, Result: ResultFailed, Detail: "exit 1"}))
	acts = append(acts, keep(n.Step(Command{Now: h.now, Kind: CmdCleanup, Which: last}))...)
	// The peer stays up; the node keeps trying.
	alive := func(from, to time.Duration) []Action {
		var acts []Action
		for d := from; d <= to; d += time.Second {
			h.at(d)
			acts = append(acts, keep(advanceTo(n, h.now))...)
			acts = append(acts, keep(h.send("t", "status", "st", "active", "dt", "1388", "protocol", "1"))...)
		}
		return acts
	}
	acts = append(acts, alive(time.Second, 55*time.Second)...)
	if hasAction(acts, StartGroup{Group: last}) {
		t.Errorf("%s started again while the announcement could not be sent", last)
	}
	if k := notSent(acts); k != 0 {
		t.Errorf("%d more lines within a minute: %q", k, logs(acts))
	}
	acts = alive(56*time.Second, 75*time.Second)
	if k := notSent(acts); k != 1 || hasAction(acts, StartGroup{Group: last}) {
		t.Errorf("%d lines a minute later, want 1; started again %v", k, hasAction(acts, StartGroup{Group: last}))
	}

	// The starts end: the announcement fits, is sent, and the group
	// cleaned up starts.
	acts = nil
	for _, g := range c.Groups[:len(c.Groups)-1] {
		acts = append(acts, keep(n.Step(OpDone{Now: h.now, Group: g.Key(), Op: OpStart, Result: ResultOK}))...)
	}
	acts = append(acts, alive(76*time.Second, 78*time.Second)...)
	if !hasAction(acts, StartGroup{Group: last}) {
		t.Errorf("%s not started once the announcement went out", last)
	}
	said := false
	for _, l := range logs(acts) {
		said = said || strings.HasPrefix(l, "info: Resource announcement sent (") && strings.HasSuffix(l, " ms")
	}
	if !said {
		t.Errorf("no line says the announcement went out: %q", logs(acts))
	}

	// Nothing sent was too long, and the seqs have no gap.
	var seq uint64
	for _, m := range sent {
		if l := wire.SignedLen(m); l > wire.MaxDatagram {
			t.Errorf("a %s message of %d bytes was sent", m.Value(wire.FType), l)
		}
		s, err := m.HexValue(wire.FSeq)
		if err != nil {
			continue // NS_ messages have no seq
		}
		if seq != 0 && s != seq+1 {
			t.Errorf("seq %d after %d", s, seq)
		}
		seq = s
	}
}
