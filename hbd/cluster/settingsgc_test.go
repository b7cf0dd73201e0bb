package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/wire"
)

func TestPeerSettingsAcked(t *testing.T) {
	clear5 := Setting{Kind: SettingMove, Name: "g", Version: 5, Origin: "node1"}
	list := func(ss ...Setting) []Setting { return ss }
	set3 := Setting{Kind: SettingMove, Name: "g", Value: ">node2", Version: 3, Origin: "node2"}
	set7 := Setting{Kind: SettingMove, Name: "g", Value: ">node2", Version: 7, Origin: "node2"}
	other := func(v uint64) Setting { return Setting{Kind: SettingDisabled, Name: "h", Version: v, Origin: "node2"} }
	for _, tt := range []struct {
		name  string
		heard bool
		hbd   bool
		list  []Setting
		want  bool
	}{
		{"never heard", false, true, nil, false},
		{"a Heartbeat node keeps no settings", true, false, nil, true},
		{"it has the clear", true, true, list(clear5), true},
		{"it has a newer version", true, true, list(set7), true},
		{"it has the older set", true, true, list(set3, other(9)), false},
		{"it has none, and newer settings", true, true, list(other(5)), true},
		{"it has none, and only older settings", true, true, list(other(4)), false},
		{"it has no settings at all", true, true, nil, false},
	} {
		var ps peerSettings
		if tt.heard {
			ps.record(tt.hbd, tt.list, false)
		}
		if got := ps.acked(clear5); got != tt.want {
			t.Errorf("%s: acked %v, want %v", tt.name, got, tt.want)
		}
	}
}

// churnConfig is sbConfig with nodes and the groups of round r: k groups
// whose keys are new in every round (an operator who renumbers the
// addresses at each reload).
func churnConfig(this string, nodes []string, r, k int) *config.Config {
	return sbConfig(this, func(c *config.Config) {
		c.Nodes = nodes
		c.Groups = nil
		for i := range k {
			ip := fmt.Sprintf("10.%d.%d.%d", 1+r/250, r%250, 1+i)
			c.Groups = append(c.Groups, config.Group{Preferred: "node1", Resources: []config.Resource{{Spec: "IPaddr::" + ip, Name: "IPaddr", Args: []string{ip}}}})
		}
	})
}

// TestSettingsChurnStaysBounded is the attack of a long-lived cluster:
// round after round, a reload gives the groups new keys and the operator
// moves each group and clears the move. Kept for good, the cleared
// settings of the old keys would fill the announcement past a datagram
// (some 40 bytes each, 16384 bytes a datagram: 8 a round for 60 rounds);
// dropped once both nodes have them, they stay a handful, every
// announcement is sent, and both nodes end with the same settings.
func TestSettingsChurnStaysBounded(t *testing.T) {
	const rounds, k = 60, 8
	nodes := []string{"node1", "node2"}
	s := newSBNetOf(t, nodes, func(c *config.Config) { *c = *churnConfig(c.ThisNode, nodes, 0, k) })
	s.run(15 * time.Second)
	longest := 0
	for r := range rounds {
		for _, name := range nodes {
			s.step(s.nodes[name], Reconfigure{Now: s.now, Config: churnConfig(name, nodes, r, k)})
		}
		s.run(time.Second)
		cfg := churnConfig("node1", nodes, r, k)
		for i, g := range cfg.Groups {
			s.step(s.nodes[nodes[i%2]], Command{Now: s.now, Kind: CmdGroupMove, Which: g.Key(), Node: "node2"})
		}
		s.run(time.Second)
		for i, g := range cfg.Groups {
			s.step(s.nodes[nodes[(i+1)%2]], Command{Now: s.now, Kind: CmdGroupClear, Which: g.Key()})
		}
		s.run(time.Second)
		for _, name := range nodes {
			l := len(FormatSettings(s.nodes[name].core.Settings()))
			longest = max(longest, l)
			if room := SettingsRoom(cfg); l > room {
				t.Fatalf("round %d: %s's settings take %d bytes, past their room (%d)", r, name, l, room)
			}
		}
	}
	s.run(5 * time.Second)
	want := FormatSettings(s.nodes["node1"].core.Settings())
	for _, name := range nodes {
		n := s.nodes[name]
		for _, l := range n.logs {
			if strings.Contains(l, "not sent") || strings.Contains(l, "ERROR") {
				t.Errorf("%s: %s", name, l)
			}
		}
		if got := FormatSettings(n.core.Settings()); got != want {
			t.Errorf("%s ends with settings %q, node1 with %q", name, got, want)
		}
		if len(n.core.Settings()) > 1 {
			t.Errorf("%s keeps %d settings, want the newest only: %q", name, len(n.core.Settings()), FormatSettings(n.core.Settings()))
		}
	}
	if longest > 2*k*60 {
		t.Errorf("the settings took up to %d bytes", longest)
	}
}

// TestClearReachesCutOffPeer: node3, cut off, still holds a move that
// node1 clears meanwhile. node1 and node2 keep the clear (not the newest
// setting any more) for as long as node3 has not taken it; once the
// partition heals node3 takes it, and then every node drops it.
func TestClearReachesCutOffPeer(t *testing.T) {
	nodes := []string{"node1", "node2", "node3"}
	s := newSBNetOf(t, nodes, nil)
	n1, n2, n3 := s.nodes["node1"], s.nodes["node2"], s.nodes["node3"]
	s.run(15 * time.Second)
	s.step(n1, Command{Now: s.now, Kind: CmdGroupMove, Which: sbKey, Node: "node2"})
	s.run(3 * time.Second)
	s.wantHolders("node2")
	moved := func(n *sbNode) string { return n.core.sets.value(SettingMove, sbKey) }
	if got := moved(n3); got != ">node2" {
		t.Fatalf("node3 did not take the move: %q", got)
	}
	s.blocked = func(from, to string) bool { return from == "node3" || to == "node3" }
	s.run(10 * time.Second)
	s.step(n1, Command{Now: s.now, Kind: CmdGroupClear, Which: sbKey})
	s.step(n2, Command{Now: s.now, Kind: CmdNodeStandby, Node: "node3"})
	s.step(n2, Command{Now: s.now, Kind: CmdNodeOnline, Node: "node3"}) // the newest setting now
	s.run(20 * time.Second)
	for _, n := range []*sbNode{n1, n2} {
		cur, ok := n.core.sets.settings[settingKey{SettingMove, sbKey}]
		if !ok || cur.Value != "" {
			t.Fatalf("%s dropped the clear while node3 is cut off (%v): %q", n.name, ok, FormatSettings(n.core.Settings()))
		}
		if waiting, _ := n.core.unacked(); strings.Join(waiting, " ") != "node3" {
			t.Errorf("%s waits for %v, want node3", n.name, waiting)
		}
	}
	if got := moved(n3); got != ">node2" {
		t.Fatalf("node3 heard the clear through the cut: %q", got)
	}
	s.blocked = nil
	s.run(20 * time.Second)
	for _, n := range []*sbNode{n1, n2, n3} {
		if _, ok := n.core.sets.settings[settingKey{SettingMove, sbKey}]; ok {
			t.Errorf("%s still keeps the move after the heal: %q", n.name, FormatSettings(n.core.Settings()))
		}
		if got := FormatSettings(n.core.Settings()); got != FormatSettings(n1.core.Settings()) || len(n.core.Settings()) != 1 {
			t.Errorf("%s ends with %q, node1 with %q", n.name, got, FormatSettings(n1.core.Settings()))
		}
	}
	if !n3.logged("Setting from node1: resource group "+sbKey+" move cleared") && !n3.logged("Setting from node2: resource group "+sbKey+" move cleared") {
		t.Errorf("node3 did not take the clear:\n%s", strings.Join(n3.logs, "\n"))
	}
}

// roomConfig is a two-node configuration of k groups with 30-byte keys.
func roomConfig(k int) *config.Config {
	c := testConfig("node1")
	for i := range k {
		key := fmt.Sprintf("rec::%025d", i)
		c.Groups = append(c.Groups, config.Group{Preferred: "node1", Resources: []config.Resource{{Spec: key, Name: "rec"}}})
	}
	return c
}

// TestSettingsCommandRefusedPastRoom: at the most groups the load check
// lets in, the settings have their reserve; with node2 never heard (the
// cleared settings wait for it), the operator disables and enables group
// after group until a command would not fit. That command is refused
// (CheckSettingsCommand first, as the daemon asks, then Step): the error
// names the limit, nothing is persisted or sent, the settings stay as
// they were. A clear is still taken, and the settings never outgrow their
// room.
func TestSettingsCommandRefusedPastRoom(t *testing.T) {
	c := roomConfig(400)
	fit, _ := AnnouncementFit(c)
	c.Groups = c.Groups[:fit]
	room := SettingsRoom(c)
	if room < SettingsReserve || room > SettingsReserve+200 {
		t.Fatalf("room %d with %d groups, want the reserve (%d) and less than a group more", room, fit, SettingsReserve)
	}
	if w := worstNode(c); w.worstAnnouncementLen(strings.Repeat("x", room)) > wire.MaxDatagram ||
		w.worstAnnouncementLen(strings.Repeat("x", room+1)) <= wire.MaxDatagram {
		t.Errorf("room %d: the worst case with as many bytes of settings does not fit, or one more does", room)
	}
	n := New(Options{Config: c, UUID: uuid1, Generation: 1, Now: t0})
	n.Step(Tick{Now: t0, Load: testLoad})
	kept := c.Groups[0].Key()
	n.Step(Command{Now: t0, Kind: CmdGroupDisable, Which: kept})
	var refused error
	var at Command
	for i := 1; i < len(c.Groups) && refused == nil; i++ {
		for _, kind := range []CommandKind{CmdGroupDisable, CmdGroupEnable} {
			cmd := Command{Now: t0, Kind: kind, Which: c.Groups[i].Key()}
			if refused = n.CheckSettingsCommand(cmd); refused != nil {
				at = cmd
				break
			}
			n.Step(cmd)
			if l := len(FormatSettings(n.Settings())); l > room {
				t.Fatalf("settings of %d bytes, past the room of %d", l, room)
			}
		}
	}
	if refused == nil {
		t.Fatalf("every command fit: %d bytes of settings", len(FormatSettings(n.Settings())))
	}
	for _, want := range []string{"refused", fmt.Sprintf("more than the %d bytes", room), fmt.Sprintf("at least %d", SettingsReserve), "waiting for: node2"} {
		if !strings.Contains(refused.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, refused)
		}
	}
	before := FormatSettings(n.Settings())
	acts := n.Step(at)
	if len(actionsOf[PersistSettings](acts)) != 0 || len(sends(acts)) != 0 {
		t.Errorf("a refused command persisted or sent: %q", render(acts))
	}
	if got := FormatSettings(n.Settings()); got != before {
		t.Errorf("a refused command changed the settings:\n%s\n%s", before, got)
	}
	if !has(logs(acts), "ERROR: Operator: "+Setting{Kind: SettingDisabled, Name: at.Which, Value: "1"}.describe()+" "+refused.Error()) {
		t.Errorf("the refusal is not logged as the error says it: %q", logs(acts))
	}
	// The group disabled first is enabled again: a clear is always taken.
	clear := Command{Now: t0, Kind: CmdGroupEnable, Which: kept}
	if err := n.CheckSettingsCommand(clear); err != nil {
		t.Errorf("a clear refused: %v", err)
	}
	n.Step(clear)
	if n.sets.disabled(kept) {
		t.Errorf("%s still disabled", kept)
	}
}

// TestSettingsPrunedAfterPeerRemoval: a reload that removes the peer
// waited for drops the cleared settings only it held back; the newest setting stays either way, and the next
// change's version is above every one dropped.
func TestSettingsPrunedAfterPeerRemoval(t *testing.T) {
	c := roomConfig(3)
	n := New(Options{Config: c, UUID: uuid1, Generation: 1, Now: t0})
	n.Step(Tick{Now: t0, Load: testLoad})
	for _, g := range c.Groups {
		n.Step(Command{Now: t0, Kind: CmdGroupDisable, Which: g.Key()})
		n.Step(Command{Now: t0, Kind: CmdGroupEnable, Which: g.Key()})
	}
	if got := len(n.Settings()); got != 3 {
		t.Fatalf("%d settings kept while node2 was never heard, want 3: %q", got, FormatSettings(n.Settings()))
	}
	top := n.sets.maxVersion()
	alone := *c
	alone.Nodes = []string{"node1"}
	acts := n.Step(Reconfigure{Now: t0, Config: &alone})
	if got := FormatSettings(n.Settings()); len(n.Settings()) != 1 || !strings.Contains(got, fmt.Sprintf(":%x:", top)) {
		t.Errorf("after node2's removal: %q, want the newest (version %d) only", got, top)
	}
	// Persisted at most once per SettingsSaveEvery: the operator's
	// commands were persisted at t0.
	if len(actionsOf[PersistSettings](acts)) != 0 || n.NextTick().After(t0.Add(SettingsSaveEvery)) {
		t.Errorf("the drop is persisted at once, or not planned: %q, next tick %v", render(acts), n.NextTick().Sub(t0))
	}
	acts = advanceTo(n, t0.Add(SettingsSaveEvery))
	if ps := actionsOf[PersistSettings](acts); len(ps) != 1 || len(ps[0].Settings) != 1 {
		t.Errorf("the drop is not persisted: %q", render(acts))
	}
	n.Step(Command{Now: t0, Kind: CmdGroupDisable, Which: c.Groups[0].Key()})
	if v := n.sets.settings[settingKey{SettingDisabled, c.Groups[0].Key()}].Version; v != top+1 {
		t.Errorf("the next change has version %d, want %d", v, top+1)
	}
}

// TestClearDroppedNotTakenBack: node1 drops a cleared setting once node2
// carries it and node3 carries none but a newer one; node2's next
// announcement, still carrying it, does not bring it back (no change, no
// log, nothing persisted). While node3 announces the older set, the
// clear stays.
func TestClearDroppedNotTakenBack(t *testing.T) {
	c := testConfig("node1")
	c.Nodes = []string{"node1", "node2", "node3"}
	n := New(Options{Config: c, UUID: uuid1, Generation: 1, Now: t0, Settings: []Setting{
		{Kind: SettingMove, Name: "g", Version: 5, Origin: "node2"},
		{Kind: SettingDisabled, Name: "h", Value: "1", Version: 6, Origin: "node2"},
	}})
	p2, p3 := n.peerByName("node2"), n.peerByName("node3")
	older := "move:>node3:3:node3:g|disabled:1:6:node2:h"
	heard := func(p *peer, text string) []Action {
		n.out = n.out[:0]
		n.peerSettingsHeard(p, true, text, false)
		return n.out
	}
	heard(p2, "move::5:node2:g|disabled:1:6:node2:h")
	if acts := heard(p3, older); len(acts) != 0 || len(n.Settings()) != 2 {
		t.Fatalf("node3 holds the older set, yet: %q, %q", render(acts), FormatSettings(n.Settings()))
	}
	acts := heard(p3, "disabled:1:6:node2:h")
	if got := FormatSettings(n.Settings()); got != "disabled:1:6:node2:h" || len(actionsOf[PersistSettings](acts)) != 1 {
		t.Fatalf("after node3's acknowledgement: %q, %q", got, render(acts))
	}
	if acts := heard(p2, "move::5:node2:g|disabled:1:6:node2:h"); len(acts) != 0 || len(n.Settings()) != 1 {
		t.Errorf("node2's copy of the dropped clear was taken back: %q, %q", render(acts), FormatSettings(n.Settings()))
	}
	// A clear newer than every setting held is the newest: taken, kept.
	if heard(p2, "move::7:node2:g|disabled:1:6:node2:h"); FormatSettings(n.Settings()) != "disabled:1:6:node2:h|move::7:node2:g" {
		t.Errorf("the newest clear is not kept: %q", FormatSettings(n.Settings()))
	}
}
