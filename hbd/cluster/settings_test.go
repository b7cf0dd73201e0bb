package cluster

import (
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
)

func TestSettingsMergeNewestWins(t *testing.T) {
	mk := func(value string, ver uint64, origin string) Setting {
		return Setting{Kind: SettingMove, Name: "IPaddr::10.0.0.1", Value: value, Version: ver, Origin: origin}
	}
	tests := []struct {
		name   string
		in     []Setting
		result string
	}{
		{"later counter wins", []Setting{mk(">node1", 1, "node2"), mk("", 2, "node1")}, ""},
		{"order does not matter", []Setting{mk("", 2, "node1"), mk(">node1", 1, "node2")}, ""},
		{"same counter: origin breaks the tie", []Setting{mk("!node1", 3, "node2"), mk(">node1", 3, "node1")}, "!node1"},
		{"same counter, tie the other way", []Setting{mk(">node1", 3, "node1"), mk("!node1", 3, "node2")}, "!node1"},
	}
	for _, tt := range tests {
		ss := make(settings)
		for _, s := range tt.in {
			ss.merge(s)
		}
		if got := ss.value(SettingMove, "IPaddr::10.0.0.1"); got != tt.result {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.result)
		}
	}
}

func TestParseSettings(t *testing.T) {
	good := []Setting{
		{Kind: SettingStandby, Name: "node2", Value: "1", Version: 0x10, Origin: "node1"},
		{Kind: SettingMove, Name: "ocf:heartbeat:IPaddr2::ip=10.0.0.5::cidr_netmask=24", Value: "!node1", Version: 2, Origin: "node2"},
	}
	text := FormatSettings(good)
	got, err := ParseSettings(text)
	if err != nil || len(got) != 2 || got[0] != good[0] || got[1] != good[1] {
		t.Fatalf("ParseSettings(%q) = %+v, %v", text, got, err)
	}
	for _, bad := range []string{"standby:1:1:node1", "standby:2:1:node1:node2", "move:node1:1:node1:g", "x:1:1:node1:g", "disabled:1:zz:node1:g", "disabled:1:0:node1:g"} {
		if _, err := ParseSettings(bad); err == nil {
			t.Errorf("ParseSettings(%q) accepted it", bad)
		}
	}
}

// runChecked is s.run in steps, failing the test if two nodes ever run
// the group at once (released before acquired).
func runChecked(s *sbNet, d time.Duration) {
	s.t.Helper()
	for end := s.now.Add(d); s.now.Before(end); {
		s.run(10 * time.Millisecond)
		if hs := s.holders(); len(hs) > 1 {
			s.wantHolders("one node at most")
		}
	}
}

func withFailback(c *config.Config) { c.AutoFailback = config.FailbackOn }

func TestNodeStandbyFromAnotherNode(t *testing.T) {
	s := newSBNet(t, withFailback)
	n1, n2 := s.nodes["node1"], s.nodes["node2"]
	s.run(10 * time.Second)
	s.wantHolders("node1")
	// node2's operator puts node1 in standby: the group goes to node2,
	// released on node1 first.
	s.step(n2, Command{Now: s.now, Kind: CmdNodeStandby, Node: "node1"})
	runChecked(s, 3*time.Second)
	s.wantHolders("node2")
	if !n1.logged("Setting from node2: node node1 in standby") || len(n1.persisted) != 1 {
		t.Fatalf("node1 did not take and keep the setting (kept %v):\n%s", n1.persisted, strings.Join(n1.logs, "\n"))
	}
	// node1 restarts: still in standby, auto_failback does not apply.
	s.kill("node1")
	s.run(time.Second)
	s.startNode(n1, withFailback)
	runChecked(s, 10*time.Second)
	s.wantHolders("node2")
	// Both restart, node2 first and alone: it holds the group; node1 then
	// joins, and remembers its standby without node2 telling it first.
	s.kill("node1")
	s.kill("node2")
	s.run(time.Second)
	s.startNode(n2, withFailback)
	runChecked(s, 15*time.Second) // initdead
	s.wantHolders("node2")
	s.startNode(n1, withFailback)
	runChecked(s, 10*time.Second)
	s.wantHolders("node2")
	// online, from node1 itself: eligible again, auto_failback brings the
	// group back.
	s.step(n1, Command{Now: s.now, Kind: CmdNodeOnline})
	runChecked(s, 5*time.Second)
	s.wantHolders("node1")
}

func TestStandbyNodeAloneHoldsNothing(t *testing.T) {
	s := newSBNet(t, nil)
	n2 := s.nodes["node2"]
	s.run(10 * time.Second)
	s.wantHolders("node1")
	s.kill("node1")
	s.run(10 * time.Second)
	s.wantHolders("node2")
	s.step(n2, Command{Now: s.now, Kind: CmdNodeStandby})
	s.run(time.Second)
	s.wantHolders()
	if !n2.logged("Releasing resource group " + sbKey + ": this node is in standby") {
		t.Errorf("no release line:\n%s", strings.Join(n2.logs, "\n"))
	}
	// It restarts alone: nobody tells it; it remembers.
	s.kill("node2")
	s.startNode(n2, nil)
	s.run(15 * time.Second)
	s.wantHolders()
	s.step(n2, Command{Now: s.now, Kind: CmdNodeOnline, Node: "node2"})
	s.run(time.Second)
	s.wantHolders("node2")
}

func TestGroupDisableAcrossRestarts(t *testing.T) {
	s := newSBNet(t, nil)
	n1, n2 := s.nodes["node1"], s.nodes["node2"]
	s.run(10 * time.Second)
	s.wantHolders("node1")
	s.step(n2, Command{Now: s.now, Kind: CmdGroupDisable, Which: sbKey})
	s.run(time.Second)
	s.wantHolders()
	for _, n := range []*sbNode{n1, n2} {
		s.kill(n.name)
	}
	s.run(time.Second)
	s.startNode(n1, nil)
	s.run(15 * time.Second) // initdead
	s.startNode(n2, nil)
	s.run(10 * time.Second)
	s.wantHolders()
	s.step(n1, Command{Now: s.now, Kind: CmdGroupEnable, Which: sbKey})
	runChecked(s, 3*time.Second)
	s.wantHolders("node1")
	// Moved to node2 until cleared; a move away from node2 sends it back.
	s.step(n1, Command{Now: s.now, Kind: CmdGroupMove, Which: sbKey, Node: "node2"})
	runChecked(s, 3*time.Second)
	s.wantHolders("node2")
	s.step(n1, Command{Now: s.now, Kind: CmdGroupMove, Which: sbKey})
	runChecked(s, 3*time.Second)
	s.wantHolders("node1")
	if st := n2.core.Status(); st.Groups[0].MovedAway != "node2" {
		t.Errorf("node2's status: moved away from %q, want node2", st.Groups[0].MovedAway)
	}
}

func TestOperatorFenced(t *testing.T) {
	s := newSBNet(t, func(c *config.Config) { withSafe(c) })
	n2 := s.nodes["node2"]
	s.run(15 * time.Second)
	s.wantHolders("node1")
	s.kill("node1")
	s.run(6 * time.Second)
	s.wantHolders()
	if got := n2.core.AwaitingFence(); len(got) != 1 || got[0] != "node1" {
		t.Fatalf("AwaitingFence = %v, want [node1]", got)
	}
	s.step(n2, Command{Now: s.now, Kind: CmdNodeFenced, Node: "node1"})
	s.run(3 * time.Second)
	s.wantHolders("node2")
	if !n2.logged("on the operator's word") {
		t.Errorf("the takeover is not logged as the operator's decision:\n%s", strings.Join(n2.logs, "\n"))
	}
}
