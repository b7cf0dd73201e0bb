package cluster

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
)

// Cluster-wide operator settings: a node in standby, a group disabled, a
// group moved to a node or away from one. Any node may change them (hbd
// node standby, hbd group disable ...); they are replicated to every node
// in the announcements (hbd_settings), persisted by every node
// (PersistSettings) and given back to New at its next start, so they hold
// across every restart until an operator changes them again.
//
// Each setting (a kind and a name) carries its own version: a Lamport
// counter (one above the highest version the changing node knows) and the
// changing node's name, which breaks ties. Of two versions of a setting the
// higher wins everywhere, whatever order they arrive in: after a partition
// heals, each setting ends up as its newest change, on both sides. A
// cleared setting (online, enable, clear) is kept as an empty value, so
// that an older set never comes back, until every node has it
// (settingsgc.go). The settings must fit what an announcement has room
// for (settingsroom.go): a command that would make them longer is
// refused. What a peer announces is bounded (settingscap.go), and when
// it fills more than an announcement has room for, the announcement
// carries the settings this node acts on first (announcedSettings).

// Setting kinds.
const (
	// SettingStandby: Name is a node; Value "1": the node is in standby
	// (it may hold no group), "": online.
	SettingStandby = "standby"
	// SettingDisabled: Name is a group key; Value "1": the group is
	// stopped everywhere and started nowhere, "": enabled.
	SettingDisabled = "disabled"
	// SettingMove: Name is a group key; Value ">NODE": the group goes to
	// NODE (whenever NODE may hold it), "!NODE": it may not run on NODE,
	// "": no move (the placement rule as usual).
	SettingMove = "move"
)

// Setting is one cluster-wide operator setting at one version.
type Setting struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Value   string `json:"value,omitempty"`
	Version uint64 `json:"version"`
	Origin  string `json:"origin"` // the node where the operator changed it
}

// String encodes s as hbd_settings carries it and the state file keeps it:
// KIND:VALUE:VERSION:ORIGIN:NAME (VERSION in hex). The name comes last:
// a group key may contain colons; kinds, values and node names do not.
func (s Setting) String() string {
	return s.Kind + ":" + s.Value + ":" + strconv.FormatUint(s.Version, 16) + ":" + s.Origin + ":" + s.Name
}

// ParseSetting decodes one setting written by Setting.String.
func ParseSetting(text string) (Setting, error) {
	f := strings.SplitN(text, ":", 5)
	if len(f) != 5 {
		return Setting{}, fmt.Errorf("setting %q: want KIND:VALUE:VERSION:ORIGIN:NAME", text)
	}
	s := Setting{Kind: f[0], Value: f[1], Origin: f[3], Name: f[4]}
	v, err := strconv.ParseUint(f[2], 16, 64)
	if err != nil {
		return Setting{}, fmt.Errorf("setting %q: version: %w", text, err)
	}
	s.Version = v
	if err := s.check(); err != nil {
		return Setting{}, fmt.Errorf("setting %q: %w", text, err)
	}
	return s, nil
}

func (s Setting) check() error {
	if s.Name == "" || s.Origin == "" || s.Version == 0 {
		return fmt.Errorf("no name, origin or version")
	}
	switch s.Kind {
	case SettingStandby, SettingDisabled:
		if s.Value != "" && s.Value != "1" {
			return fmt.Errorf("%s: value %q is neither 1 nor empty", s.Kind, s.Value)
		}
	case SettingMove:
		if s.Value != "" && (len(s.Value) < 2 || s.Value[0] != '>' && s.Value[0] != '!') {
			return fmt.Errorf("move: value %q is neither >NODE, !NODE nor empty", s.Value)
		}
	default:
		return fmt.Errorf("unknown kind %q", s.Kind)
	}
	return nil
}

// newer: s is a later version of its setting than o (the total order of
// versions: counter, then origin, then value so that even a clash of
// both is decided the same way everywhere).
func (s Setting) newer(o Setting) bool {
	if s.Version != o.Version {
		return s.Version > o.Version
	}
	if s.Origin != o.Origin {
		return s.Origin > o.Origin
	}
	return s.Value > o.Value
}

// FormatSettings encodes a list of settings as one field: `|`-separated.
func FormatSettings(list []Setting) string {
	parts := make([]string, len(list))
	for i, s := range list {
		parts[i] = s.String()
	}
	return strings.Join(parts, "|")
}

// ParseSettings decodes FormatSettings' text; the first malformed entry is
// an error.
func ParseSettings(text string) ([]Setting, error) {
	var out []Setting
	for _, part := range strings.Split(text, "|") {
		if part == "" {
			continue
		}
		s, err := ParseSetting(part)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

type settingKey struct{ kind, name string }

// settings is this node's copy of the cluster-wide settings.
type settings map[settingKey]Setting

// list returns the settings sorted by kind and name (a stable encoding).
func (ss settings) list() []Setting {
	out := make([]Setting, 0, len(ss))
	for _, s := range ss {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// maxVersion is the highest version of any setting known here.
func (ss settings) maxVersion() uint64 {
	var v uint64
	for _, s := range ss {
		v = max(v, s.Version)
	}
	return v
}

// merge takes s when it is newer than the version held; it reports
// whether it did.
func (ss settings) merge(s Setting) bool {
	k := settingKey{s.Kind, s.Name}
	if cur, ok := ss[k]; ok && !s.newer(cur) {
		return false
	}
	ss[k] = s
	return true
}

func (ss settings) value(kind, name string) string { return ss[settingKey{kind, name}].Value }

// nodeStandby: node is in standby.
func (ss settings) nodeStandby(node string) bool { return ss.value(SettingStandby, node) == "1" }

// disabled: the group is disabled.
func (ss settings) disabled(key string) bool { return ss.value(SettingDisabled, key) == "1" }

// move returns the group's move: to a node, or away from one.
func (ss settings) move(key string) (to, away string) {
	return ParseMove(ss.value(SettingMove, key))
}

// ParseMove reads a SettingMove value: ">NODE" is a move to NODE, "!NODE"
// away from it, anything else no move.
func ParseMove(v string) (to, away string) {
	switch {
	case strings.HasPrefix(v, ">"):
		return v[1:], ""
	case strings.HasPrefix(v, "!"):
		return "", v[1:]
	}
	return "", ""
}

// describe says in words what s asks for (log lines).
func (s Setting) describe() string {
	switch s.Kind {
	case SettingStandby:
		if s.Value == "1" {
			return "node " + s.Name + " in standby"
		}
		return "node " + s.Name + " online"
	case SettingDisabled:
		if s.Value == "1" {
			return "resource group " + s.Name + " disabled"
		}
		return "resource group " + s.Name + " enabled"
	case SettingMove:
		switch to, away := ParseMove(s.Value); {
		case to != "":
			return "resource group " + s.Name + " moved to " + to
		case away != "":
			return "resource group " + s.Name + " moved away from " + away
		}
		return "resource group " + s.Name + " move cleared"
	}
	return s.String()
}

// Settings returns this node's copy of the cluster-wide settings, sorted
// by kind and name.
func (n *Node) Settings() []Setting { return n.sets.list() }

// loadSettings takes the settings persisted by an earlier run (New),
// of configuration c; malformed ones, and those the caps refuse, are
// skipped (the daemon reads the file with ParseSettings, which refuses
// malformed ones, and CapSettings, which says what the caps refuse).
func (n *Node) loadSettings(c *config.Config, list []Setting) {
	sc := NewSettingsCapper(c)
	for _, s := range list {
		sc.Add(n.own(s))
	}
	n.sets = sc.t
	n.setsTextOK = false
	n.setsSaved = n.sets.list()
}

// changeSetting takes s, an operator's change made on this node
// (nextSetting): its names are configured here and its room was checked
// (settingFits), so the caps take it, evicting settings of names not
// configured here if need be; it is kept even past them (a clear, always
// taken, when settings of configured names fill the table).
func (n *Node) changeSetting(s Setting) {
	if taken, _, _ := n.sets.admit(s, n.configured); !taken {
		n.sets.put(s)
	}
	n.logf(LevelInfo, "Operator: %s (setting version %d).", s.describe(), s.Version)
	n.pruneSettings() // the newest setting held before may go now
	n.recheck()
	n.persistSettings() // the operator's word goes out at once
}

// MaxSettings bounds the cluster-wide settings a node keeps. Settings
// are kept for names this node's configuration may not have (a peer
// reloaded first), so a peer's announcements could otherwise grow the
// table, and the state file, without end.
const MaxSettings = 1024

// SettingsSaveEvery bounds how often the settings a peer changes are
// persisted: each time is a write of the state file and two fsyncs on
// the daemon's loop, and a peer (hostile, broken, looping) may change
// them with every announcement it sends.
const SettingsSaveEvery = time.Second

// settingsChanged: the rule reads the settings at once; the daemon keeps
// them, and the peers hear of them (the signature includes them), at
// once if SettingsSaveEvery has passed since they were last persisted,
// otherwise then (reconcile), and at a graceful stop. What a node
// announces is what it persisted (settingsgc.go): the announcements
// carry the settings last persisted (setsSaved).
func (n *Node) settingsChanged() {
	n.recheck()
	n.setsDirty = true
	if !n.now.Before(n.setsSaveAt) {
		n.persistSettings()
	}
}

// persistSettings has the daemon keep the settings, and makes them what
// the announcements carry.
func (n *Node) persistSettings() {
	n.setsSaved = n.sets.list()
	n.setsDirty, n.setsTextOK = false, false
	n.setsSaveAt = n.now.Add(SettingsSaveEvery)
	n.out = append(n.out, PersistSettings{Settings: n.setsSaved})
}

// settingsField is the hbd_settings field of this node's announcements
// ("" when no setting was ever made: the field is left out), and whether
// it leaves some settings out (announcedSettings). It is kept until the
// settings or the configuration change: the signature asks for it at
// every reconcile.
func (n *Node) settingsField() (string, bool) {
	if !n.setsTextOK || n.setsTextCfg != n.cfg {
		n.setsText, n.setsPartial = n.announcedSettings()
		n.setsTextOK, n.setsTextCfg = true, n.cfg
	}
	return n.setsText, n.setsPartial
}

// mustNotHold says why this node may not hold g under the settings, ""
// when it may.
func (n *Node) mustNotHold(g *group) string {
	switch _, away := n.sets.move(g.key); {
	case n.sets.disabled(g.key):
		return "it is disabled"
	case n.sets.nodeStandby(n.name):
		return "this node is in standby"
	case away == n.name:
		return "it was moved away from this node"
	}
	return ""
}
