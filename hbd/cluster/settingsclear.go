package cluster

import (
	"fmt"
	"strconv"
)

// OthersInForce are the settings in force here of names this
// configuration lacks: what CmdSettingsClearOthers clears.
func (n *Node) OthersInForce() []Setting {
	var out []Setting
	for _, s := range n.sets.list() {
		if s.Value != "" && !n.configured(s) {
			out = append(out, s)
		}
	}
	return out
}

// checkClearOthers says why CmdSettingsClearOthers would clear nothing:
// no such setting, or versions for all its clears would pass
// MaxSettingVersion (it clears all or none).
func (n *Node) checkClearOthers() error {
	others := n.OthersInForce()
	if len(others) == 0 {
		return fmt.Errorf("%s: no setting in force of a name this configuration lacks", CmdSettingsClearOthers)
	}
	top, _ := n.sets.newest()
	held := n.sets.settings[top]
	if held.Version > MaxSettingVersion-uint64(len(others)) {
		return fmt.Errorf("refused: clearing %d setting(s) needs versions up to %x, over %x, the highest any node takes (setting %s holds %x, from %s); stop every node and remove the hbd_settings file of its state directory",
			len(others), held.Version+uint64(len(others)), uint64(MaxSettingVersion), strconv.Quote(clipped(held.Kind+" "+held.Name)), held.Version, strconv.Quote(clipped(held.Origin)))
	}
	return nil
}

// clearOthers is CmdSettingsClearOthers: each setting in force of a
// name this configuration lacks (junk a broken or hostile peer
// announced within the caps, a removed group's, a node's no longer
// listed) gets a clear, a version of its own above every one known, as
// an operator's online, enable or clear would; the clears spread and
// are dropped once every node has them (settingsgc.go). One change, all
// or none (checkClearOthers): one log line and one write of the state
// file, whatever their number.
func (n *Node) clearOthers() {
	others := n.OthersInForce()
	if err := n.checkClearOthers(); err != nil {
		level := LevelError
		if len(others) == 0 {
			level = LevelInfo
		}
		n.logf(level, "Operator: %v", err)
		return
	}
	var first, last uint64
	for i, s := range others {
		c := n.nextSetting(s.Kind, s.Name, "")
		// A clear replaces a setting held: it never needs more room than
		// the table's caps already hold but a longer version's digits.
		if taken, _, _ := n.sets.admit(c, n.configured); !taken {
			n.sets.put(c)
		}
		if i == 0 {
			first = c.Version
		}
		last = c.Version
	}
	n.logf(LevelInfo, "Operator: %d setting(s) of names this configuration lacks cleared (versions %d to %d).", len(others), first, last)
	n.pruneSettings()
	n.recheck()
	n.persistSettings()
}
