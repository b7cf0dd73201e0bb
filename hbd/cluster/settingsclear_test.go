package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/wire"
)

// inForce lists the settings n holds in force (not cleared) of names
// its configuration lacks.
func inForce(n *Node) []string {
	var out []string
	for _, s := range n.Settings() {
		if s.Value != "" && !n.configured(s) {
			out = append(out, s.Kind+" "+s.Name)
		}
	}
	return out
}

// TestSettingsClearJunk: junk a peer announced (settings of names no
// node configures, within the caps) that every node took and passes on
// is removed cluster wide by an operator on any node: one setting by its
// kind and name, or every setting of a name the configuration lacks in
// one change. The clears spread, survive a restart, and are dropped once
// every node has them; the operator's own settings stay.
func TestSettingsClearJunk(t *testing.T) {
	s := newSBNetOf(t, []string{"node1", "node2", "node3"}, nil)
	n1, n2, n3 := s.nodes["node1"], s.nodes["node2"], s.nodes["node3"]
	junk := []Setting{
		{Kind: SettingDisabled, Name: "junk::1", Value: "1", Version: 7, Origin: "node3"},
		{Kind: SettingMove, Name: "junk::2", Value: ">node9", Version: 8, Origin: "node3"},
		{Kind: SettingStandby, Name: "ghost", Value: "1", Version: 9, Origin: "node3"},
		{Kind: SettingDisabled, Name: "junk::\x1b[2J", Value: "1", Version: 10, Origin: "node3"},
	}
	s.alter = func(from string, m *wire.Message) {
		if from == "node3" && m.Type() == wire.TResource {
			m.Set(wire.FHbdSettings, FormatSettings(junk))
		}
	}
	s.run(10 * time.Second)
	s.alter = nil
	s.step(n2, Command{Now: s.now, Kind: CmdGroupDisable, Which: sbKey})
	s.run(5 * time.Second)
	for _, n := range []*sbNode{n1, n2, n3} {
		if got := inForce(n.core); len(got) != len(junk) {
			t.Fatalf("%s holds junk %q before the clears, want all %d", n.name, got, len(junk))
		}
	}

	if err := n1.core.CheckSettingsCommand(Command{Kind: CmdSettingClear, Setting: SettingDisabled, Which: "no-such"}); err == nil || !strings.Contains(err.Error(), "no setting disabled") {
		t.Errorf("a clear of a setting not held: %v", err)
	}
	one := Command{Now: s.now, Kind: CmdSettingClear, Setting: SettingMove, Which: "junk::2"}
	if err := n1.core.CheckSettingsCommand(one); err != nil {
		t.Fatalf("settings clear move junk::2: %v", err)
	}
	s.step(n1, one)
	s.run(5 * time.Second)
	for _, n := range []*sbNode{n1, n2, n3} {
		if got := inForce(n.core); len(got) != len(junk)-1 || strings.Contains(fmt.Sprint(got), "junk::2") {
			t.Errorf("%s holds %q after the clear of move junk::2", n.name, got)
		}
	}

	s.step(n3, Command{Now: s.now, Kind: CmdSettingsClearOthers})
	if !n3.logged(fmt.Sprintf("Operator: %d setting(s) of names this configuration lacks cleared", len(junk)-1)) {
		t.Errorf("node3 did not log its clears in one line:\n%s", strings.Join(n3.logs, "\n"))
	}
	s.run(10 * time.Second)
	s.kill("node1")
	s.run(2 * time.Second)
	s.startNode(n1, nil)
	s.run(15 * time.Second)
	for _, n := range []*sbNode{n1, n2, n3} {
		if got := inForce(n.core); len(got) > 0 {
			t.Errorf("%s still holds junk %q", n.name, got)
		}
		if !n.core.sets.disabled(sbKey) {
			t.Errorf("%s lost the operator's disable", n.name)
		}
		// Every node has every clear: dropped, but the newest setting.
		cleared := 0
		for _, st := range n.core.Settings() {
			if st.Value == "" {
				cleared++
			}
		}
		if cleared > 1 {
			t.Errorf("%s keeps %d cleared settings once every node has them: %q", n.name, cleared, FormatSettings(n.core.Settings()))
		}
	}
	s.wantHolders()
}
