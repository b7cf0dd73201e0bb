package cluster

import (
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/wire"
)

// The caps of the settings table. Any node that holds the authkeys may
// announce settings, and every node keeps, persists and announces again
// what it takes: a broken or hostile peer could otherwise fill the table
// with a thousand settings of a datagram each. A setting over a cap is
// refused (logged at most once per LogEvery per peer) and never kept,
// announced or persisted; the table as a whole is bounded in count
// (MaxSettings) and bytes (MaxSettingsBytes). A setting of a name
// configured here (a node, a group) takes the place of the oldest
// setting of a name not configured here when the table is full: what a
// peer fills it with cannot keep out a setting this node acts on.
const (
	// MaxSettingName bounds a setting's name: a node name (at most
	// config.MaxNodeName bytes) or a group key. A configuration with a
	// group key of a fifth of a datagram fails the load check
	// (CheckAnnouncement: the worst-case announcement lists every key
	// five times), so no hbd node can make a setting of a longer key; a
	// quarter of a datagram leaves room above the longest that loads.
	MaxSettingName = wire.MaxDatagram / 4
	// MaxSettingValue bounds a setting's value: "", "1", ">NODE" or
	// "!NODE".
	MaxSettingValue = 1 + config.MaxNodeName
	// MaxSettingOrigin bounds a setting's origin: a node name.
	MaxSettingOrigin = config.MaxNodeName
	// MaxSettingsBytes bounds the bytes the table's settings take in
	// hbd_settings (and in the state file: Setting.String and a
	// separator each). The settings one node makes fit one
	// announcement (SettingsRoom, less than a datagram); the sides of a
	// partition that each filled theirs may together hold more: four
	// datagrams is room for four sides. An operator's clear, always
	// taken (settingFits), may go past it by its own length.
	MaxSettingsBytes = 4 * wire.MaxDatagram
	// MaxSettingVersionStep bounds how far above the highest version
	// known here (before the announcement that brings it; or what more
	// than half of the peers agree on, agreedTop) a peer's setting's
	// version may be, and MaxSettingVersion bounds it
	// whatever is known (and a state file's: this node wrote it, after
	// the same admission). A version counts the operator's
	// changes, one at a time: no operator reaches either. Without them
	// one setting at the last version there is (of a name nobody
	// configures, kept and passed on by every node) would leave no
	// newer version to any operator's change, anywhere, for good; a
	// peer can now climb at most MaxSettingVersionStep an announcement,
	// 2^30 of them to MaxSettingVersion.
	MaxSettingVersionStep = 1 << 32
	MaxSettingVersion     = 1 << 62
	// MaxAgreedVersion bounds how high what the peers agree on
	// (agreedTop) may raise the base of the step: above it, the climb
	// is MaxSettingVersionStep an announcement again, 2^29 of them to
	// MaxSettingVersion, whoever agrees.
	MaxAgreedVersion = MaxSettingVersion / 2
)

// versionOver says why s's version is refused when the highest version
// known is top ("" when it is not).
func (s Setting) versionOver(top uint64) string {
	limit := uint64(MaxSettingVersion)
	if top < MaxSettingVersion-MaxSettingVersionStep {
		limit = top + MaxSettingVersionStep
	}
	if s.Version <= limit {
		return ""
	}
	return fmt.Sprintf("a version of %x, more than %x (%x above the highest known here, %x at most)", s.Version, limit, uint64(MaxSettingVersionStep), uint64(MaxSettingVersion))
}

// size is the bytes s takes in hbd_settings, with its separator (in the
// state file: with its newline).
func (s Setting) size() int {
	hex := max(1, (bits.Len64(s.Version)+3)/4)
	return len(s.Kind) + len(s.Value) + hex + len(s.Origin) + len(s.Name) + 5
}

// overCap says which of a setting's caps s is over, "" when none: its
// lengths, and white space. No legitimate name, value or origin holds
// any (a group key is a haresources word, which strings.Fields splits at
// every white space rune; a node name is a host name), and the state
// file keeps a setting a line: one with a newline would write lines of a
// peer's choosing there. Other bytes are a group key's as haresources
// spells it (any, UTF-8 or not).
func (s Setting) overCap() string {
	switch {
	case len(s.Name) > MaxSettingName:
		return fmt.Sprintf("a name of %d bytes (at most %d)", len(s.Name), MaxSettingName)
	case len(s.Value) > MaxSettingValue:
		return fmt.Sprintf("a value of %d bytes (at most %d)", len(s.Value), MaxSettingValue)
	case len(s.Origin) > MaxSettingOrigin:
		return fmt.Sprintf("an origin of %d bytes (at most %d)", len(s.Origin), MaxSettingOrigin)
	}
	for _, f := range []struct{ what, v string }{{"name", s.Name}, {"value", s.Value}, {"origin", s.Origin}} {
		if why := badText(f.v); why != "" {
			return "a " + f.what + " " + why
		}
	}
	return ""
}

// badText says what makes v no name, value or origin of a setting:
// white space, where strings.Fields would split it ("" when none).
func badText(v string) string {
	if i := strings.IndexFunc(v, unicode.IsSpace); i >= 0 {
		r, _ := utf8.DecodeRuneInString(v[i:])
		return fmt.Sprintf("holding white space (%U at byte %d)", r, i)
	}
	return ""
}

// settingsTable is the settings with the bytes they take (size).
type settingsTable struct {
	settings
	bytes int
}

func newSettingsTable() settingsTable { return settingsTable{settings: make(settings)} }

// put stores s in place of the version held.
func (t *settingsTable) put(s Setting) {
	k := settingKey{s.Kind, s.Name}
	if cur, ok := t.settings[k]; ok {
		t.bytes -= cur.size()
	}
	t.settings[k] = s
	t.bytes += s.size()
}

// del drops the setting of k.
func (t *settingsTable) del(k settingKey) {
	if cur, ok := t.settings[k]; ok {
		t.bytes -= cur.size()
		delete(t.settings, k)
	}
}

// errNoRoom is why admit refuses a setting for the table's caps.
var errNoRoom = fmt.Sprintf("no room: the table keeps at most %d settings and %d bytes", MaxSettings, MaxSettingsBytes)

// admit takes s when it is newer than the version held, within the
// caps: it reports whether it took s, how many settings it dropped to
// make room, and why not when a cap refused it ("" when s is simply not
// newer). A setting of a configured name (configured) takes the place
// of the oldest settings of names not configured here, the newest
// setting held aside (its version is the floor of the next one made
// here, settingsgc.go); those dropped stay dropped even when there is
// still no room for s.
func (t *settingsTable) admit(s Setting, configured func(Setting) bool) (taken bool, evicted int, why string) {
	if w := s.overCap(); w != "" {
		return false, 0, w
	}
	k := settingKey{s.Kind, s.Name}
	grow, count := s.size(), 1
	if cur, ok := t.settings[k]; ok {
		if !s.newer(cur) {
			return false, 0, ""
		}
		grow, count = grow-cur.size(), 0
	}
	for len(t.settings)+count > MaxSettings || t.bytes+grow > MaxSettingsBytes {
		if !configured(s) || !t.evictOther(configured) {
			return false, evicted, errNoRoom
		}
		evicted++
	}
	t.put(s)
	return true, evicted, ""
}

// evictOther drops the oldest setting of a name not configured here but
// the newest setting held; it reports whether there was one.
func (t *settingsTable) evictOther(configured func(Setting) bool) bool {
	top, _ := t.newest()
	var victim Setting
	found := false
	for k, s := range t.settings {
		if k != top && !configured(s) && (!found || victim.newer(s)) {
			victim, found = s, true
		}
	}
	if found {
		t.del(settingKey{victim.Kind, victim.Name})
	}
	return found
}

// ConfiguredIn is whether c configures the name of a setting: a node
// (standby), a group (disabled, move).
func ConfiguredIn(c *config.Config) func(Setting) bool {
	keys := make(map[string]bool, len(c.Groups))
	for _, g := range c.Groups {
		keys[g.Key()] = true
	}
	return func(s Setting) bool {
		if s.Kind == SettingStandby {
			return slices.Contains(c.Nodes, s.Name)
		}
		return keys[s.Name]
	}
}

// configured: the configuration in force names s's node or group.
func (n *Node) configured(s Setting) bool {
	if s.Kind == SettingStandby {
		return slices.Contains(n.cfg.Nodes, s.Name)
	}
	return n.groupByKey(s.Name) != nil
}

// SettingsCapper keeps what a node of a configuration keeps of settings
// given one at a time (a state file, read line by line): within the
// caps, configured names first (as the node takes a peer's), in memory
// bounded by the caps whatever it is given. It counts what it refuses
// and keeps the first few, with why, to say so.
type SettingsCapper struct {
	t          settingsTable
	configured func(Setting) bool
	// Refused counts the settings refused (malformed, over a cap, no
	// room) or dropped for a later one of a configured name; Examples
	// are the first few of them, clipped, with why.
	Refused  int
	Examples []string
}

// cappedExamples bounds SettingsCapper.Examples.
const cappedExamples = 3

// NewSettingsCapper returns an empty capper for a node of c.
func NewSettingsCapper(c *config.Config) *SettingsCapper {
	return &SettingsCapper{t: newSettingsTable(), configured: ConfiguredIn(c)}
}

// Add takes s, or counts it refused.
func (sc *SettingsCapper) Add(s Setting) {
	if err := s.check(); err != nil {
		sc.Refuse(strconv.Quote(s.String()), err.Error())
		return
	}
	if why := s.versionOver(MaxSettingVersion); why != "" {
		sc.Refuse(strconv.Quote(s.String()), why)
		return
	}
	_, evicted, why := sc.t.admit(s, sc.configured)
	if why != "" {
		sc.Refuse(strconv.Quote(s.String()), why)
	}
	for range evicted {
		sc.Refuse("a setting of a name not configured here", "dropped for "+s.String())
	}
}

// Refuse counts what, refused for why.
func (sc *SettingsCapper) Refuse(what, why string) {
	if sc.Refused++; len(sc.Examples) < cappedExamples {
		sc.Examples = append(sc.Examples, clipped(what)+": "+clipped(why))
	}
}

// Settings are the settings kept, sorted by kind and name.
func (sc *SettingsCapper) Settings() []Setting { return sc.t.list() }

// own is s with strings of its own: the kind one of the constants, a
// configured name or origin the configuration's string, anything else
// a copy, so that a setting kept from a datagram or a file keeps
// nothing else of it alive.
func (n *Node) own(s Setting) Setting {
	// A known word becomes the constant of the same text, so that no
	// string of the peer's datagram is kept; anything else is a copy.
	switch s.Kind {
	case SettingStandby:
		s.Kind = SettingStandby
	case SettingDisabled:
		s.Kind = SettingDisabled
	case SettingMove:
		s.Kind = SettingMove
	default:
		s.Kind = strings.Clone(s.Kind)
	}
	s.Name = n.ownName(s.Name)
	s.Origin = n.ownName(s.Origin)
	if s.Value != "" && s.Value != "1" {
		s.Value = strings.Clone(s.Value)
	} else if s.Value == "1" {
		s.Value = "1"
	}
	return s
}

// ownName is name as the configuration spells it (a node, a group
// key), or a copy.
func (n *Node) ownName(name string) string {
	if n.cfg != nil {
		if i := slices.Index(n.cfg.Nodes, name); i >= 0 {
			return n.cfg.Nodes[i]
		}
	}
	if g := n.groupByKey(name); g != nil {
		return g.key
	}
	return strings.Clone(name)
}
