package cluster

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/wire"
)

// The room of the settings in an announcement (the package doc,
// Resource groups, "The settings must fit"): the load check keeps SettingsReserve bytes for them, and a
// command that would make them longer than SettingsRoom is refused.

// SettingsReserve is the room, in bytes of hbd_settings, that the load
// check keeps for the operator's settings in the worst-case announcement:
// some 40 settings of groups with 30-byte keys.
const SettingsReserve = 2048

// SettingsRoom is the most bytes hbd_settings may take in the
// announcements of a node of c: what a datagram leaves beside the worst
// case of everything else (CheckAnnouncement). It is at least
// SettingsReserve when c passes CheckAnnouncement; 0 when not even an
// empty field fits. c must be a valid configuration (config.Load's).
func SettingsRoom(c *config.Config) int {
	// A message's signed length is the sum of its fields': the worst case
	// without hbd_settings, plus what the field adds.
	base := worstNode(c).worstAnnouncementLen("")
	filler := strings.Repeat("x", wire.MaxDatagram)
	var empty wire.Message
	fits := func(l int) bool {
		var m wire.Message
		m.Set(wire.FHbdSettings, filler[:l])
		return base+wire.SignedLen(&m)-wire.SignedLen(&empty) <= wire.MaxDatagram
	}
	if !fits(1) {
		return 0
	}
	// The length grows with the field's: the first that does not fit.
	return sort.Search(wire.MaxDatagram, func(l int) bool { return !fits(l + 1) })
}

// settingsRoom is SettingsRoom of the configuration in force.
func (n *Node) settingsRoom() int {
	if !n.setsRoomOK {
		n.setsRoom, n.setsRoomOK = SettingsRoom(n.cfg), true
	}
	return n.setsRoom
}

// settingOf is the setting (kind, name, value) a settings command asks
// for, or why it cannot be made (an unknown node or group, a move of a
// group nobody holds). The daemon has checked the names; the core checks
// them again, as a command may race a reload.
func (n *Node) settingOf(c Command) (kind, name, value string, err error) {
	switch c.Kind {
	case CmdNodeStandby, CmdNodeOnline:
		node := c.Node
		if node == "" {
			node = n.name
		}
		if !slices.Contains(n.cfg.Nodes, node) {
			return "", "", "", fmt.Errorf("%s: unknown node %s", c.Kind, node)
		}
		if c.Kind == CmdNodeStandby {
			return SettingStandby, node, "1", nil
		}
		return SettingStandby, node, "", nil // online
	case CmdSettingClear:
		cur, ok := n.sets.settings[settingKey{c.Setting, c.Which}]
		if !ok || cur.Value == "" {
			return "", "", "", fmt.Errorf("%s: no setting %s %s in force here (hbd settings lists them)", c.Kind, c.Setting, strconv.Quote(clipped(c.Which)))
		}
		return cur.Kind, cur.Name, "", nil
	case CmdGroupDisable, CmdGroupEnable, CmdGroupClear, CmdGroupMove:
	default:
		return "", "", "", fmt.Errorf("unknown command %d", int(c.Kind))
	}
	g := n.groupByKey(c.Which)
	if g == nil || g.removed {
		return "", "", "", fmt.Errorf("%s: unknown resource group %s", c.Kind, c.Which)
	}
	switch c.Kind {
	case CmdGroupDisable:
		return SettingDisabled, g.key, "1", nil
	case CmdGroupEnable:
		return SettingDisabled, g.key, "", nil
	case CmdGroupClear:
		return SettingMove, g.key, "", nil
	}
	if c.Node != "" {
		if !slices.Contains(n.cfg.Nodes, c.Node) {
			return "", "", "", fmt.Errorf("%s: unknown node %s", c.Kind, c.Node)
		}
		return SettingMove, g.key, ">" + c.Node, nil
	}
	hs := n.holders(g)
	if len(hs) == 0 {
		return "", "", "", fmt.Errorf("%s %s: no node holds it; name the node to move it to", c.Kind, g.key)
	}
	return SettingMove, g.key, "!" + hs[0], nil
}

// settingFits says why this node's settings have no room for s (nil when
// they have).
func (n *Node) settingFits(s Setting) error {
	if top, ok := n.sets.newest(); ok && n.sets.settings[top].Version >= MaxSettingVersion {
		// The next version would be over every node's cap
		// (versionOver): only 2^30 announcements of a hostile peer
		// reach it.
		return fmt.Errorf("refused: setting %s holds version %x, the highest any node takes (from %s): no change can be newer; stop every node and remove the hbd_settings file of its state directory",
			strconv.Quote(clipped(top.kind+" "+top.name)), n.sets.settings[top].Version, strconv.Quote(clipped(n.sets.settings[top].Origin)))
	}
	if cur, ok := n.sets.settings[settingKey{s.Kind, s.Name}]; ok && cur.Value != "" && s.Value == "" {
		return nil // a clear: always taken
	}
	l, room := n.settingsLenWith(s), n.settingsRoom()
	if l <= room {
		return nil
	}
	waiting, cleared := n.unacked()
	return fmt.Errorf("refused: the settings of this configuration's nodes and groups would take %d bytes, more than the %d bytes a resource announcement has room for with this configuration "+
		"(at least %d, a datagram being %d bytes); cleared settings not yet acknowledged by every node take %d bytes (waiting for: %s). "+
		"Enable, clear or put online what is no longer needed, or start the nodes waited for",
		l, room, SettingsReserve, wire.MaxDatagram, cleared, joinNames(waiting))
}

// CheckSettingsCommand says why settings command c (CmdNodeStandby ...
// CmdGroupClear, CmdSettingClear, CmdSettingsClearOthers) would be
// refused now: an unknown name, or no room for
// the setting it makes (settingFits). Nothing changes; Step with the
// command, right after, refuses it for the same reason or takes it.
func (n *Node) CheckSettingsCommand(c Command) error {
	if c.Kind == CmdSettingsClearOthers {
		return n.checkClearOthers()
	}
	kind, name, value, err := n.settingOf(c)
	if err != nil {
		return err
	}
	return n.settingFits(n.nextSetting(kind, name, value))
}

// nextSetting is the setting an operator's change made here now would
// be: a version above every one known here, this node as origin.
func (n *Node) nextSetting(kind, name, value string) Setting {
	return Setting{Kind: kind, Name: name, Value: value, Version: n.sets.maxVersion() + 1, Origin: n.name}
}

// announcedSettings is the hbd_settings field of this node's
// announcements, and whether it leaves settings out: of the settings
// last persisted (setsSaved). Every one when they fit the room (settingsRoom); otherwise what a peer fed the
// table gives way, never the announcement: the settings of names
// configured here first (the operator's commands keep those within the
// room), then the newest, as many as fit beside hbd_setspart, which
// tells the peers that a setting left out is not one this node lacks
// (peerSettings.acked).
func (n *Node) announcedSettings() (string, bool) {
	list := n.setsSaved
	bytes := 0
	for _, s := range list {
		bytes += s.size()
	}
	room := n.settingsRoom()
	if bytes-1 <= room {
		return FormatSettings(list), false
	}
	type entry struct {
		s          Setting
		configured bool
	}
	order := make([]entry, len(list))
	for i, s := range list {
		order[i] = entry{s, n.configured(s)}
	}
	slices.SortStableFunc(order, func(a, b entry) int {
		switch {
		case a.configured != b.configured:
			if a.configured {
				return -1
			}
			return 1
		case a.s.newer(b.s):
			return -1
		case b.s.newer(a.s):
			return 1
		}
		return 0
	})
	budget := room - setsPartCost()
	keep := make(map[settingKey]bool)
	used := -1 // the first setting has no separator
	for _, e := range order {
		if l := e.s.size(); used+l <= budget {
			used += l
			keep[settingKey{e.s.Kind, e.s.Name}] = true
		}
	}
	out := make([]Setting, 0, len(keep))
	for _, s := range list {
		if keep[settingKey{s.Kind, s.Name}] {
			out = append(out, s)
		}
	}
	return FormatSettings(out), true
}

// setsPartCost is what hbd_setspart adds to a message's signed length.
func setsPartCost() int {
	var with, without wire.Message
	with.Set(wire.FHbdSetsPart, "1")
	return wire.SignedLen(&with) - wire.SignedLen(&without)
}
