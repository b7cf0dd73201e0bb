package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/wire"
)

// hostileSetting is setting i of a peer that fills the table: a name of
// nameLen bytes, the longest value and origin the caps take (plus
// valueOver and originOver bytes), a version above anything an operator
// makes.
func hostileSetting(i, nameLen, valueOver, originOver int) Setting {
	name := fmt.Sprintf("IPaddr::%06d", i)
	name += strings.Repeat("n", max(0, nameLen-len(name)))
	return Setting{Kind: SettingMove, Name: name, Value: ">" + strings.Repeat("v", MaxSettingValue-1+valueOver),
		Version: 1<<20 + uint64(i), Origin: strings.Repeat("o", MaxSettingOrigin+originOver)}
}

func hostileList(count, nameLen, valueOver, originOver int) []Setting {
	list := make([]Setting, count)
	for i := range list {
		list[i] = hostileSetting(i, nameLen, valueOver, originOver)
	}
	return list
}

// heldBytes counts the bytes of the strings the table holds, and fails t
// when one of them lies in text (a string kept from a datagram keeps the
// whole of it alive).
func heldBytes(t *testing.T, n *Node, text string) int {
	t.Helper()
	lo := uintptr(unsafe.Pointer(unsafe.StringData(text)))
	hi := lo + uintptr(len(text))
	held := 0
	for _, s := range n.sets.settings {
		for _, str := range []string{s.Kind, s.Name, s.Value, s.Origin} {
			held += len(str)
			if p := uintptr(unsafe.Pointer(unsafe.StringData(str))); len(str) > 0 && p >= lo && p < hi {
				t.Fatalf("a kept string shares the announcement's memory: %.60q", str)
			}
		}
	}
	return held
}

// TestSettingCaps: every cap takes a setting at its length and refuses
// one a byte longer.
func TestSettingCaps(t *testing.T) {
	ok := Setting{Kind: SettingMove, Name: strings.Repeat("k", MaxSettingName), Value: "!" + strings.Repeat("n", config.MaxNodeName),
		Version: 1, Origin: strings.Repeat("o", config.MaxNodeName)}
	for _, tt := range []struct {
		name string
		edit func(s *Setting)
		want string
	}{
		{"every field at its cap", func(*Setting) {}, ""},
		{"name", func(s *Setting) { s.Name += "k" }, "a name of 4097 bytes"},
		{"value", func(s *Setting) { s.Value += "n" }, "a value of 102 bytes"},
		{"origin", func(s *Setting) { s.Origin += "o" }, "an origin of 101 bytes"},
	} {
		s := ok
		tt.edit(&s)
		if got := s.overCap(); !strings.HasPrefix(got, tt.want) || (tt.want == "") != (got == "") {
			t.Errorf("%s: overCap %q, want %q", tt.name, got, tt.want)
		}
		if s.size() != len(s.String())+1 {
			t.Errorf("%s: size %d, want %d", tt.name, s.size(), len(s.String())+1)
		}
	}
}

// TestSettingNameCapAboveEveryKey: a group key as long as
// MaxSettingName fails the load check, so every key that loads, and
// every setting an hbd node makes of one, is within the cap.
func TestSettingNameCapAboveEveryKey(t *testing.T) {
	longest := 0
	for _, l := range []int{MaxSettingName / 2, MaxSettingName*2/3 - 100, MaxSettingName - 8, MaxSettingName} {
		key := "IPaddr::" + strings.Repeat("1", l-len("IPaddr::"))
		c := sbConfig("a", func(c *config.Config) {
			c.Nodes = []string{"a", "b"}
			c.Groups = []config.Group{{Preferred: "a", Resources: []config.Resource{{Spec: key, Name: "IPaddr", Args: []string{key[8:]}}}}}
		})
		if CheckAnnouncement(c) == nil {
			longest = l
		}
	}
	if longest == 0 || longest >= MaxSettingName {
		t.Fatalf("the longest key that loads has %d bytes, want some, under the cap (%d)", longest, MaxSettingName)
	}
}

// TestPeerSettingsAttack: what a peer holding the authkeys can feed the
// table, in one announcement or one setting an announcement: the table
// stays within its caps (count and bytes, counted as held strings), holds
// no byte of the announcements, persists no more, refuses what is over
// a cap with one WARN line per LogEvery naming the peer, and this node's
// own settings field still fits its room.
func TestPeerSettingsAttack(t *testing.T) {
	maxSize := hostileList(MaxSettings, MaxSettingName, 0, 0)
	for _, tt := range []struct {
		name      string
		batches   [][]Setting
		wantKept  int // -1: as many as the caps take
		wantWarn  string
		wantCount string // in the warning
	}{
		{"1024 maximum-size settings in one announcement", [][]Setting{maxSize}, -1, "Settings from node2: ", "refused (" + errNoRoom},
		{"1024 maximum-size settings, one an announcement", one(maxSize), -1, "Settings from node2: ", "refused (" + errNoRoom},
		{"1200 small settings", [][]Setting{smallList(MaxSettings + 176)}, MaxSettings, "Settings from node2: 176 refused", errNoRoom},
		{"over-long names", [][]Setting{hostileList(50, MaxSettingName+1, 0, 0)}, 0, "Settings from node2: 50 refused", "a name of 4097 bytes"},
		{"over-long values", [][]Setting{hostileList(50, 20, 1, 0)}, 0, "Settings from node2: 50 refused", "a value of 102 bytes"},
		{"over-long origins", [][]Setting{hostileList(50, 20, 0, 1)}, 0, "Settings from node2: 50 refused", "an origin of 101 bytes"},
		{"a name of a datagram", [][]Setting{hostileList(1, wire.MaxDatagram, 0, 0)}, 0, "Settings from node2: 1 refused", "a name of 16384 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := New(Options{Config: sbConfig("node1", nil), UUID: uuid1, Generation: 1, Now: t0})
			p := n.peerByName("node2")
			var warns []string
			var persisted []Setting
			for _, list := range tt.batches {
				text := FormatSettings(list)
				n.out = n.out[:0]
				n.peerSettingsHeard(p, true, text, false)
				for _, l := range logs(n.out) {
					if strings.HasPrefix(l, "WARN: ") {
						warns = append(warns, l)
					}
				}
				if ps := actionsOf[PersistSettings](n.out); len(ps) > 0 {
					persisted = ps[len(ps)-1].Settings
				}
				if held := heldBytes(t, n, text); held > MaxSettingsBytes {
					t.Fatalf("the table holds %d bytes, past its cap (%d)", held, MaxSettingsBytes)
				}
			}
			// What changed within SettingsSaveEvery of the last persist is
			// persisted then.
			n.out = n.out[:0]
			n.Step(Tick{Now: n.now.Add(SettingsSaveEvery), Load: testLoad})
			if ps := actionsOf[PersistSettings](n.out); len(ps) > 0 {
				persisted = ps[len(ps)-1].Settings
			}
			kept := len(n.Settings())
			if kept > MaxSettings || n.sets.bytes > MaxSettingsBytes || (tt.wantKept >= 0 && kept != tt.wantKept) || (tt.wantKept < 0 && kept == 0) {
				t.Errorf("kept %d settings of %d bytes, want %d (at most %d and %d bytes)", kept, n.sets.bytes, tt.wantKept, MaxSettings, MaxSettingsBytes)
			}
			if l := len(FormatSettings(n.Settings())); l+1 != n.sets.bytes && kept > 0 {
				t.Errorf("the table counts %d bytes, its text has %d", n.sets.bytes, l)
			}
			if len(FormatSettings(persisted)) > MaxSettingsBytes || len(persisted) != kept {
				t.Errorf("persisted %d settings, %d bytes; want the %d kept", len(persisted), len(FormatSettings(persisted)), kept)
			}
			for _, s := range n.Settings() {
				if s.overCap() != "" {
					t.Errorf("kept a setting over a cap: %.80s", s.String())
				}
			}
			if len(warns) != 1 || !strings.HasPrefix(warns[0], "WARN: "+tt.wantWarn) || !strings.Contains(warns[0], tt.wantCount) || len(warns[0]) > 2*maxLoggedText+400 {
				t.Errorf("warnings %.600q, want one starting %q, saying %q", warns, tt.wantWarn, tt.wantCount)
			}
			field, partial := n.settingsField()
			if l, room := len(field), n.settingsRoom(); l > room || partial != (n.sets.bytes-1 > room) {
				t.Errorf("hbd_settings of %d bytes (partial %v), room %d", l, partial, room)
			}
			// A minute on, a refusal is said again, with the count since.
			n.now = n.now.Add(LogEvery)
			n.out = n.out[:0]
			n.peerSettingsHeard(p, true, FormatSettings(hostileList(3, MaxSettingName+1, 0, 0)), false)
			if got := strings.Join(logs(n.out), "\n"); !strings.Contains(got, "Settings from node2: ") || !strings.Contains(got, " refused (") {
				t.Errorf("no warning a minute on: %q", got)
			}
		})
	}
}

// TestSettingsRefusedOncePerLogEvery: a peer's refused settings and
// malformed fields are said in one WARN line per LogEvery at most, and
// the settings refused while the lines were held back are counted in
// the next one.
func TestSettingsRefusedOncePerLogEvery(t *testing.T) {
	over := func(count int) string { return FormatSettings(hostileList(count, MaxSettingName+1, 0, 0)) }
	const malformed = "disabled:1:zz:node2:x"
	steps := []struct {
		after time.Duration
		text  string
		want  string // the WARN line's start after "Settings from node2", "" for none
	}{
		{0, over(2), ": 2 refused ("},
		{time.Second, over(3), ""},
		{time.Second, malformed, ""},
		{LogEvery, over(1), ": 4 refused ("},
		{time.Second, malformed, ""},
		{LogEvery, malformed, " ignored: "},
		{0, over(1), ""},
		{LogEvery - time.Nanosecond, over(2), ""},
		{time.Nanosecond, over(1), ": 4 refused ("},
	}
	n := New(Options{Config: sbConfig("node1", nil), UUID: uuid1, Generation: 1, Now: t0})
	p := n.peerByName("node2")
	for i, st := range steps {
		n.now = n.now.Add(st.after)
		n.out = n.out[:0]
		n.peerSettingsHeard(p, true, st.text, false)
		var warns []string
		for _, l := range logs(n.out) {
			if strings.HasPrefix(l, "WARN: ") {
				warns = append(warns, l)
			}
		}
		switch {
		case st.want == "" && len(warns) != 0:
			t.Errorf("step %d: %.200q, want no warning", i, warns)
		case st.want != "" && (len(warns) != 1 || !strings.HasPrefix(warns[0], "WARN: Settings from node2"+st.want)):
			t.Errorf("step %d: %.200q, want one warning starting %q", i, warns, "Settings from node2"+st.want)
		}
	}
}

// TestAdmitCountsEvictions: admit says how many settings of names not
// configured it dropped to make room for one of a configured name, also
// when there is still no room for it then, and the capper reading a
// state file counts each of them.
func TestAdmitCountsEvictions(t *testing.T) {
	// fill is count settings of 64 bytes each, versions from 1 up, the
	// first `others` of names not configured ("o" ones).
	fill := func(count, others int) []Setting {
		list := make([]Setting, count)
		for i := range list {
			prefix := "c"
			if i < others {
				prefix = "o"
			}
			list[i] = Setting{Kind: SettingDisabled, Name: fmt.Sprintf("%s%06d", prefix, i), Value: "1", Version: uint64(i + 1), Origin: "node2"}
			list[i].Name += strings.Repeat("n", 64-list[i].size())
		}
		return list
	}
	configured := func(s Setting) bool { return !strings.HasPrefix(s.Name, "o") }
	small := Setting{Kind: SettingDisabled, Name: "c-new", Value: "1", Version: 1 << 20, Origin: "node1"}
	long := Setting{Kind: SettingDisabled, Name: strings.Repeat("c", MaxSettingName), Value: "1", Version: 1 << 20, Origin: "node1"}
	byteFull := MaxSettingsBytes / 64
	for _, tt := range []struct {
		name        string
		held        []Setting
		s           Setting
		wantTaken   bool
		wantEvicted int
		wantWhy     string
	}{
		{"room", fill(10, 10), small, true, 0, ""},
		{"count full", fill(MaxSettings, MaxSettings), small, true, 1, ""},
		{"bytes full", fill(byteFull, byteFull), long, true, (long.size() + 63) / 64, ""},
		{"bytes full, two others", fill(byteFull, 2), long, false, 2, errNoRoom},
		{"not configured", fill(MaxSettings, MaxSettings), Setting{Kind: SettingDisabled, Name: "o-new", Value: "1", Version: 1 << 20, Origin: "node1"}, false, 0, errNoRoom},
		{"over a cap", fill(MaxSettings, MaxSettings), hostileSetting(0, MaxSettingName+1, 0, 0), false, 0, "a name of 4097 bytes (at most 4096)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tab := newSettingsTable()
			for _, h := range tt.held {
				tab.put(h)
			}
			before := len(tab.settings)
			taken, evicted, why := tab.admit(tt.s, configured)
			if taken != tt.wantTaken || evicted != tt.wantEvicted || why != tt.wantWhy {
				t.Errorf("admit = %v, %d, %q; want %v, %d, %q", taken, evicted, why, tt.wantTaken, tt.wantEvicted, tt.wantWhy)
			}
			if gone := before - len(tab.settings); taken && gone != evicted-1 || !taken && gone != evicted {
				t.Errorf("%d settings gone from the table, admit says %d dropped (taken %v)", gone, evicted, taken)
			}
			if len(tab.settings) > MaxSettings || tab.bytes > MaxSettingsBytes {
				t.Errorf("the table holds %d settings of %d bytes, past its caps", len(tab.settings), tab.bytes)
			}
			sc := &SettingsCapper{t: newSettingsTable(), configured: configured}
			for _, h := range tt.held {
				sc.Add(h)
			}
			refused := sc.Refused
			sc.Add(tt.s)
			want := tt.wantEvicted
			if !tt.wantTaken {
				want++
			}
			if got := sc.Refused - refused; got != want {
				t.Errorf("the capper counts %d refused or dropped, want %d: %q", got, want, sc.Examples)
			}
		})
	}
}

// smallList is count settings of some 40 bytes each.
func smallList(count int) []Setting {
	list := make([]Setting, count)
	for i := range list {
		list[i] = Setting{Kind: SettingDisabled, Name: fmt.Sprintf("IPaddr::%06d", i), Value: "1", Version: uint64(i + 1), Origin: "node2"}
	}
	return list
}

// one makes each setting an announcement of its own.
func one(list []Setting) [][]Setting {
	out := make([][]Setting, len(list))
	for i, s := range list {
		out[i] = []Setting{s}
	}
	return out
}

// TestConfiguredSettingEvictsPeerFill: a table a peer filled keeps out
// no setting of a name configured here: a peer's and the operator's
// change take the place of the oldest settings of other names, and the
// newest of those stays (the floor of the next version).
func TestConfiguredSettingEvictsPeerFill(t *testing.T) {
	n := New(Options{Config: sbConfig("node1", nil), UUID: uuid1, Generation: 1, Now: t0})
	n.Step(Tick{Now: t0, Load: testLoad})
	p := n.peerByName("node2")
	n.peerSettingsHeard(p, true, FormatSettings(hostileList(MaxSettings, MaxSettingName, 0, 0)), false)
	full := len(n.Settings())
	top, _ := n.sets.newest()
	n.peerSettingsHeard(p, true, "disabled:1:5:node2:"+sbKey, false)
	if !n.sets.disabled(sbKey) {
		t.Fatalf("a peer's setting of a configured group is refused by a full table")
	}
	if err := n.CheckSettingsCommand(Command{Kind: CmdNodeStandby, Node: "node2"}); err != nil {
		t.Fatalf("the operator's command is refused for a peer's settings: %v", err)
	}
	n.Step(Command{Now: t0, Kind: CmdNodeStandby, Node: "node2"})
	if !n.sets.nodeStandby("node2") || n.sets.bytes > MaxSettingsBytes || len(n.Settings()) > MaxSettings || len(n.Settings()) < full {
		t.Errorf("standby node2 %v, table of %d settings, %d bytes (was %d settings)", n.sets.nodeStandby("node2"), len(n.Settings()), n.sets.bytes, full)
	}
	if _, ok := n.sets.settings[top]; !ok {
		t.Errorf("the newest setting was evicted")
	}
	field, partial := n.settingsField()
	if !partial || !strings.Contains(field, "disabled:1:5:node2:"+sbKey) || !strings.Contains(field, "standby:1:") {
		t.Errorf("the announced settings (partial %v) do not carry the configured ones first: %.200q", partial, field)
	}
}

// TestPartialSettingsAckNothing: a cleared setting a peer did not list
// in a partial announcement is not acknowledged by it, however new its
// other settings.
func TestPartialSettingsAckNothing(t *testing.T) {
	clear5 := Setting{Kind: SettingMove, Name: "g", Version: 5, Origin: "node1"}
	newer := []Setting{{Kind: SettingDisabled, Name: "h", Version: 9, Origin: "node2"}}
	for _, partial := range []bool{false, true} {
		var ps peerSettings
		ps.record(true, newer, partial)
		if got := ps.acked(clear5); got == partial {
			t.Errorf("partial %v: acked %v", partial, got)
		}
	}
}

// TestOwnAnnouncementSurvivesHostilePeer: node3 holds the authkeys and
// announces the largest table it can, again and again; node1 and node2
// keep a bounded table, every announcement node1 makes fits one
// datagram, node2 hears that node1 holds the group, and an operator's
// setting made on node2 still reaches node1 and takes effect there.
func TestOwnAnnouncementSurvivesHostilePeer(t *testing.T) {
	s := newSBNetOf(t, []string{"node1", "node2", "node3"}, nil)
	n1, n2 := s.nodes["node1"], s.nodes["node2"]
	// Its table is newer in every round: each one it announces again.
	round, announced := 0, 0
	s.alter = func(from string, m *wire.Message) {
		if from != "node3" || m.Type() != wire.TResource {
			return
		}
		announced++
		list := hostileList(MaxSettings, MaxSettingName, 0, 0)
		for i := range list {
			list[i].Version += uint64(round) << 20
		}
		m.Set(wire.FHbdSettings, FormatSettings(list))
	}
	var tooLong int
	lose := func(from, _ string, m *wire.Message) bool {
		if from == "node1" && m.Type() == wire.TResource && wire.SignedLen(m) > wire.MaxDatagram {
			tooLong++
		}
		return false
	}
	s.lose = lose
	s.run(20 * time.Second)
	s.wantHolders("node1")
	// node3 announces again whenever it is asked; a restart of node2
	// asks every node.
	round++
	s.kill("node2")
	s.run(5 * time.Second)
	s.startNode(n2, nil)
	s.run(15 * time.Second)
	s.wantHolders("node1")
	if announced < 2 {
		t.Fatalf("node3 announced %d times", announced)
	}
	for _, n := range []*sbNode{n1, n2} {
		if b := n.core.sets.bytes; b > MaxSettingsBytes || len(n.core.Settings()) > MaxSettings || len(FormatSettings(n.persisted)) > MaxSettingsBytes {
			t.Errorf("%s keeps %d settings, %d bytes, persisted %d bytes", n.name, len(n.core.Settings()), b, len(FormatSettings(n.persisted)))
		}
	}
	if tooLong > 0 || n1.logged("Resource announcement not sent") {
		t.Fatalf("node1 made %d announcements too long to send", tooLong)
	}
	if st := n2.core.Status(); st.Groups[0].Holder != "node1" {
		t.Errorf("node2 reads the group's holder as %q, want node1", st.Groups[0].Holder)
	}
	s.step(n2, Command{Now: s.now, Kind: CmdGroupDisable, Which: sbKey})
	s.run(3 * time.Second)
	s.wantHolders()
	if !n1.core.sets.disabled(sbKey) {
		t.Errorf("node2's disable did not reach node1")
	}
}

// TestUnreachableVersionsRefused: a peer's setting at a version no
// operator reaches (the last there is, over MaxSettingVersion, more than
// MaxSettingVersionStep above the highest known before its
// announcement, also by climbing within one announcement; or, where the
// peer is the majority, above MaxAgreedVersion by more) is refused,
// and the operator's commands go on; one at the step is taken. A table
// at MaxSettingVersion all the same refuses the command with why.
func TestUnreachableVersionsRefused(t *testing.T) {
	const top = 0x10
	three := []string{"node1", "node2", "node3"} // node2 alone is no majority
	two := []string{"node1", "node2"}            // node2 is: agreedTop, up to MaxAgreedVersion
	for _, tt := range []struct {
		nodes []string
		text  string
		kept  int
	}{
		{three, "disabled:1:ffffffffffffffff:node2:junk::not-a-group", 1},
		{three, fmt.Sprintf("disabled:1:%x:node2:junk", uint64(MaxSettingVersion)+1), 1},
		{three, fmt.Sprintf("disabled:1:%x:node2:junk", top+MaxSettingVersionStep+1), 1},
		{three, fmt.Sprintf("disabled:1:%x:node2:junk", top+MaxSettingVersionStep), 2},
		{three, fmt.Sprintf("disabled:1:%x:node2:a|disabled:1:%x:node2:b", top+MaxSettingVersionStep, top+2*MaxSettingVersionStep), 2},
		{two, "disabled:1:ffffffffffffffff:node2:junk::not-a-group", 1},
		{two, fmt.Sprintf("disabled:1:%x:node2:junk", uint64(MaxSettingVersion)), 1},
		{two, fmt.Sprintf("disabled:1:%x:node2:junk", uint64(MaxAgreedVersion+MaxSettingVersionStep+1)), 1},
		{two, fmt.Sprintf("disabled:1:%x:node2:junk", uint64(MaxAgreedVersion+MaxSettingVersionStep)), 2},
	} {
		n := New(Options{Config: sbConfig("node1", func(c *config.Config) { c.Nodes = tt.nodes }), UUID: uuid1, Generation: 1, Now: t0,
			Settings: []Setting{{Kind: SettingDisabled, Name: "old", Value: "1", Version: top, Origin: "node2"}}})
		n.Step(Tick{Now: t0, Load: testLoad})
		n.peerSettingsHeard(n.peerByName("node2"), true, tt.text, false)
		if got := len(n.Settings()); got != tt.kept {
			t.Errorf("%d nodes, %s: kept %d settings, want %d: %q", len(tt.nodes), tt.text, got, tt.kept, FormatSettings(n.Settings()))
		}
		for _, cmd := range []Command{{Now: t0, Kind: CmdNodeStandby, Node: "node2"}, {Now: t0, Kind: CmdGroupDisable, Which: sbKey}} {
			if err := n.CheckSettingsCommand(cmd); err != nil {
				t.Errorf("%s: %v refused: %v", tt.text, cmd.Kind, err)
			}
		}
	}
	n := New(Options{Config: sbConfig("node1", nil), UUID: uuid1, Generation: 1, Now: t0})
	n.Step(Tick{Now: t0, Load: testLoad})
	n.sets.put(Setting{Kind: SettingDisabled, Name: "junk", Value: "1", Version: MaxSettingVersion, Origin: "node2"})
	cmd := Command{Now: t0, Kind: CmdNodeStandby, Node: "node2"}
	if err := n.CheckSettingsCommand(cmd); err == nil || !strings.Contains(err.Error(), "the highest any node takes") {
		t.Fatalf("CheckSettingsCommand at the cap: %v, want a refusal", err)
	}
	n.Step(cmd)
	if n.sets.nodeStandby("node2") {
		t.Errorf("the change was taken")
	}
}

// TestUnknownNodeNamesBounded: messages from many unknown nodes of
// datagram-long names keep at most MaxUnknownNodes names of at most
// maxLoggedText bytes each.
func TestUnknownNodeNamesBounded(t *testing.T) {
	n := joined(t)
	for i := range 2 * MaxUnknownNodes {
		m := peerMsg(gen2, 4, t0, "t", "status", "st", "up")
		m.Set(wire.FSrc, fmt.Sprintf("%04d", i)+strings.Repeat("x", wire.MaxDatagram))
		n.Step(Receive{Now: t0.Add(time.Second), Link: "eth0", Msg: m})
	}
	held := 0
	for k := range n.unknown {
		held += len(k)
	}
	if len(n.unknown) > MaxUnknownNodes || held > MaxUnknownNodes*maxLoggedText {
		t.Errorf("%d unknown names of %d bytes kept", len(n.unknown), held)
	}
}

// FuzzPeerSettings: whatever a peer's hbd_settings holds, the table
// stays within its caps, counts its bytes right, and the field this
// node announces fits its room.
func FuzzPeerSettings(f *testing.F) {
	f.Add("disabled:1:5:node2:"+sbKey+"|standby:1:6:node2:node1", false)
	f.Add("move:>node2:7:node2:"+strings.Repeat("k", MaxSettingName+1), true)
	f.Add("move::ffffffffffffffff:node2:g|move:!x:1:"+strings.Repeat("o", 101)+":h", false)
	f.Fuzz(func(t *testing.T, text string, partial bool) {
		n := New(Options{Config: sbConfig("node1", nil), UUID: uuid1, Generation: 1, Now: t0})
		p := n.peerByName("node2")
		// The text, then two copies of it under other origins.
		for i := range 3 {
			n.peerSettingsHeard(p, true, text, partial)
			text = strings.ReplaceAll(text, ":node2:", fmt.Sprintf(":node2:%d", i))
		}
		// What is announced is what was saved, at most once a
		// SettingsSaveEvery: save all three now.
		n.persistSettings()
		sum := 0
		for _, s := range n.sets.settings {
			if s.overCap() != "" || s.check() != nil {
				t.Fatalf("kept %.100q", s.String())
			}
			sum += s.size()
		}
		if sum != n.sets.bytes || sum > MaxSettingsBytes || len(n.sets.settings) > MaxSettings {
			t.Fatalf("%d settings of %d bytes, counted %d", len(n.sets.settings), sum, n.sets.bytes)
		}
		if field, _ := n.settingsField(); len(field) > n.settingsRoom() {
			t.Fatalf("hbd_settings of %d bytes, room %d", len(field), n.settingsRoom())
		}
	})
}

// TestPeerSettingWithSpaceRefused: a peer's setting whose name, value or
// origin holds white space (a field carries any byte but its netstring's
// end) is refused: it would write lines of the peer's choosing into the
// state file, and no legitimate one has any (haresources splits at every
// white space rune). Other bytes are a group key's (a Latin-1 path, a
// control character): taken.
func TestPeerSettingWithSpaceRefused(t *testing.T) {
	for _, tt := range []struct {
		text string
		kept bool
	}{
		{"disabled:1:5:node2:junk x", false}, {"disabled:1:5:node2:junk\tx", false}, {"disabled:1:5:node2:junk\u00a0x", false},
		{"disabled:1:5:node2:junk\u0085x", false}, {"disabled:1:5:node2:junk\rx", false},
		{"disabled:1:5:node2:junk\nstandby:1:6:node1:node1", false},
		{"move:>no de:5:node2:g", false}, {"disabled:1:5:no\tde2:g", false},
		{"disabled:1:5:node2:Filesystem::/srv/donn\xe9es", true}, {"disabled:1:5:node2:junk\x01x", true},
	} {
		n := New(Options{Config: sbConfig("node1", nil), UUID: uuid1, Generation: 1, Now: t0})
		n.Step(Tick{Now: t0, Load: testLoad})
		n.out = nil
		n.peerSettingsHeard(n.peerByName("node2"), true, tt.text, false)
		if kept := len(n.Settings()) == 1; kept != tt.kept || len(actionsOf[PersistSettings](n.out)) != len(n.Settings()) {
			t.Errorf("%q: kept %q, want kept %v", tt.text, FormatSettings(n.Settings()), tt.kept)
		}
		warn := strings.Join(logs(n.out), "\n")
		if !tt.kept && (!strings.Contains(warn, "WARN: Settings from node2: 1 refused (a ") || strings.ContainsAny(warn, "\t\r") || strings.Count(warn, "\n") != 0) {
			t.Errorf("%q: warning %q", tt.text, warn)
		}
	}
}

// TestNonUTF8GroupKeySettings: haresources takes a group key that is
// not UTF-8 (a Latin-1 path): an operator's disable of it reaches the
// peer and survives the state file.
func TestNonUTF8GroupKeySettings(t *testing.T) {
	const key = "Filesystem::/dev/sdb1::/srv/donn\xe9es::ext4"
	s := newSBNet(t, func(c *config.Config) {
		c.Groups[0].Resources = []config.Resource{{Spec: key, Name: "Filesystem", Args: []string{"/dev/sdb1", "/srv/donn\xe9es", "ext4"}}}
	})
	s.run(15 * time.Second)
	n1, n2 := s.nodes["node1"], s.nodes["node2"]
	s.step(n1, Command{Now: s.now, Kind: CmdGroupDisable, Which: key})
	s.run(3 * time.Second)
	if !n1.core.sets.disabled(key) || !n2.core.sets.disabled(key) {
		t.Fatalf("node1's disable of group %q: node1 %v, node2 %v", key, n1.core.sets.disabled(key), n2.core.sets.disabled(key))
	}
	sc := NewSettingsCapper(n1.core.cfg)
	for _, st := range n1.core.Settings() {
		sc.Add(st)
	}
	if len(sc.Settings()) != len(n1.core.Settings()) {
		t.Errorf("the state file's reading drops the disable: %v", sc.Examples)
	}
}

// TestVersionStepSurvivesRestart: a peer's setting within the allowed
// climb is taken, the operator's next change is one above it, and both
// come back from the state file at the next start.
func TestVersionStepSurvivesRestart(t *testing.T) {
	cfg := sbConfig("node1", nil)
	n := New(Options{Config: cfg, UUID: uuid1, Generation: 1, Now: t0})
	n.Step(Tick{Now: t0, Load: testLoad})
	n.peerSettingsHeard(n.peerByName("node2"), true, fmt.Sprintf("disabled:1:%x:node2:junk::x", uint64(MaxSettingVersionStep)), false)
	n.Step(Command{Now: t0, Kind: CmdNodeStandby, Node: "node2"})
	if !n.sets.nodeStandby("node2") {
		t.Fatalf("the operator's standby was not taken")
	}
	sc := NewSettingsCapper(cfg)
	for _, s := range n.Settings() {
		sc.Add(s)
	}
	if sc.Refused > 0 {
		t.Errorf("reading back the state file drops %d setting(s): %v", sc.Refused, sc.Examples)
	}
	m := New(Options{Config: cfg, UUID: uuid1, Generation: 2, Now: t0, Settings: sc.Settings()})
	if !m.sets.nodeStandby("node2") || len(m.Settings()) != 2 {
		t.Errorf("after a restart: %q", FormatSettings(m.Settings()))
	}
}

// TestPeerSettingsVolumeBounded: a peer that announces, again and again,
// junk settings each time newer (names nobody configures, within every
// cap) gets at most settingsTakenLogged lines a LogEvery, and this node
// persists its table at most once per SettingsSaveEvery (a write and two
// fsyncs each), announcing only what it persisted; the last change is
// persisted once the interval is over.
func TestPeerSettingsVolumeBounded(t *testing.T) {
	n := New(Options{Config: sbConfig("node1", nil), UUID: uuid1, Generation: 1, Now: t0})
	n.Step(Tick{Now: t0, Load: testLoad})
	p := n.peerByName("node2")
	const rounds, each, every = 1000, 20, 50 * time.Millisecond // 50 s in all
	lines, persists := 0, 0
	var last []Setting
	for r := range rounds {
		now := t0.Add(time.Duration(r) * every)
		acts := advanceTo(n, now)
		n.now = now
		n.out = n.out[:0]
		list := make([]Setting, each)
		for i := range list {
			list[i] = Setting{Kind: SettingDisabled, Name: fmt.Sprintf("junk::%d", i), Value: "1", Version: uint64(r*each + i + 1), Origin: "node2"}
		}
		n.peerSettingsHeard(p, true, FormatSettings(list), false)
		for _, a := range append(acts, n.out...) {
			switch a := a.(type) {
			case Log:
				if strings.Contains(a.Msg, "Setting") {
					lines++
				}
			case PersistSettings:
				persists++
				last = a.Settings
			}
		}
		if field, _ := n.settingsField(); field != FormatSettings(last) {
			t.Fatalf("round %d: announces %.80q, persisted %.80q", r, field, FormatSettings(last))
		}
	}
	if lines > 2*settingsTakenLogged || persists > int(time.Duration(rounds)*every/SettingsSaveEvery)+1 {
		t.Errorf("%d announcements in 50 s: %d log lines, %d PersistSettings", rounds, lines, persists)
	}
	acts := advanceTo(n, n.now.Add(SettingsSaveEvery))
	if ps := actionsOf[PersistSettings](acts); len(ps) != 1 || FormatSettings(ps[0].Settings) != FormatSettings(n.Settings()) {
		t.Errorf("the last change is not persisted: %q", render(acts))
	}
}

// TestFreshNodeLearnsAgreedVersions: a node that knows no setting (new,
// reinstalled, its state file removed), or one that was down while the
// cluster's versions climbed, learns the cluster's settings whatever
// their versions (up to MaxAgreedVersion) once more than half of the
// peers that may know settings announced them, from the lowest of their
// highest versions, also after it took the low ones from the first peer
// heard: a hostile peer's junk above that by more than
// MaxSettingVersionStep stays refused, and a hostile peer alone among
// others is not enough.
func TestFreshNodeLearnsAgreedVersions(t *testing.T) {
	high := uint64(1<<32 + 5)
	honest := FormatSettings([]Setting{
		{Kind: SettingStandby, Name: "node2", Value: "1", Version: high, Origin: "node2"},
		{Kind: SettingDisabled, Name: sbKey, Value: "1", Version: high + 2, Origin: "node2"},
	})
	junk := func(v uint64) string { return fmt.Sprintf("disabled:1:%x:node3:junk", v) }
	type say struct{ peer, text string }
	for _, tt := range []struct {
		name  string
		nodes []string
		known []Setting // node1's table at its start
		says  []say
		learn bool // node2's standby and the group's disable taken
		junk  bool // the junk setting taken
		late  bool // the says come once the peers not heard are declared dead
	}{
		{"two nodes: the one peer", []string{"node1", "node2"}, nil,
			[]say{{"node2", honest}}, true, false, false},
		{"three nodes: one peer of two", []string{"node1", "node2", "node3"}, nil,
			[]say{{"node2", honest}, {"node2", honest}}, false, false, false},
		{"three nodes: both peers", []string{"node1", "node2", "node3"}, nil,
			[]say{{"node2", honest}, {"node3", honest}}, true, false, false},
		{"three nodes: a hostile peer's junk above the other's", []string{"node1", "node2", "node3"}, nil,
			[]say{{"node3", junk(MaxSettingVersion)}, {"node2", honest}, {"node3", junk(MaxSettingVersion)}, {"node3", junk(high + MaxSettingVersionStep + 3)}}, true, false, false},
		{"three nodes: junk within the step of the lowest is a setting like another", []string{"node1", "node2", "node3"}, nil,
			[]say{{"node3", honest + "|" + junk(high+2)}, {"node2", honest}, {"node3", honest + "|" + junk(high+2)}}, true, true, false},
		{"three nodes: a hostile peer alone, the other silent", []string{"node1", "node2", "node3"}, nil,
			[]say{{"node3", junk(1 << 50)}, {"node3", junk(1 << 50)}, {"node3", junk(1 << 50)}}, false, false, false},
		{"three nodes: another fresh node neither agrees nor blocks", []string{"node1", "node2", "node3"}, nil,
			[]say{{"node3", ""}, {"node2", honest}}, true, false, false},
		{"two nodes: over MaxSettingVersion, refused all the same", []string{"node1", "node2"}, nil,
			[]say{{"node2", junk(MaxSettingVersion + 1)}}, false, false, false},
		{"three nodes: the other peer down since the start", []string{"node1", "node2", "node3"}, nil,
			[]say{{"node2", honest}}, true, false, true},
		// What a fresh node risks: the live peers are all it has to go by
		// (it would start groups on their word too); the junk stays here
		// (a node that knows a setting refuses it from this one).
		{"three nodes: a hostile peer alone, the other down since the start", []string{"node1", "node2", "node3"}, nil,
			[]say{{"node3", junk(1 << 50)}}, false, true, true},
		{"four nodes: two of three peers agree, the third down", []string{"node1", "node2", "node3", "node4"}, nil,
			[]say{{"node3", honest}, {"node2", honest}}, true, false, true},
		{"a node that knows a setting, back from down time through a climb", []string{"node1", "node2", "node3"},
			[]Setting{{Kind: SettingMove, Name: sbKey, Value: "", Version: 3, Origin: "node1"}},
			[]say{{"node2", honest}, {"node3", honest}}, true, false, false},
		{"a node that knows a setting, one peer of two", []string{"node1", "node2", "node3"},
			[]Setting{{Kind: SettingMove, Name: sbKey, Value: "", Version: 3, Origin: "node1"}},
			[]say{{"node2", honest}, {"node2", honest}}, false, false, false},
		{"mixed versions: the low ones first, the high ones once both peers announce", []string{"node1", "node2", "node3"}, nil,
			[]say{{"node2", honest + "|standby::5:node3:node3"}, {"node3", honest + "|standby::5:node3:node3"}}, true, false, false},
		{"two nodes: agreement stops at MaxAgreedVersion", []string{"node1", "node2"}, nil,
			[]say{{"node2", junk(MaxSettingVersion)}}, false, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := sbConfig("node1", func(c *config.Config) { c.Nodes = tt.nodes })
			n := New(Options{Config: cfg, UUID: uuid1, Generation: 1, Now: t0, Settings: tt.known})
			n.Step(Tick{Now: t0, Load: testLoad})
			if tt.late {
				later := t0.Add(2*cfg.Initdead + cfg.Deadtime)
				for at := t0; !at.After(later); at = at.Add(cfg.Keepalive) {
					n.Step(Tick{Now: at, Load: testLoad})
				}
				for _, p := range n.peers {
					if p.state != StateDead {
						t.Fatalf("%s is %q at %v, want dead", p.name, p.state, later)
					}
				}
			}
			for _, s := range tt.says {
				n.peerSettingsHeard(n.peerByName(s.peer), true, s.text, false)
			}
			if got := n.sets.nodeStandby("node2") && n.sets.disabled(sbKey); got != tt.learn {
				t.Errorf("node2 in standby and the group disabled: %v, want %v; table %q", got, tt.learn, FormatSettings(n.Settings()))
			}
			if got := n.sets.disabled("junk"); got != tt.junk {
				t.Errorf("junk taken: %v, want %v; table %q", got, tt.junk, FormatSettings(n.Settings()))
			}
		})
	}
}
