package cluster

// clearOthers is CmdSettingsClearOthers: each setting in force of a
// name this configuration lacks (junk a broken or hostile peer
// announced within the caps, a removed group's, a node's no longer
// listed) gets a clear, a version of its own above every one known, as
// an operator's online, enable or clear would; the clears spread and
// are dropped once every node has them (settingsgc.go). One change:
// one log line and one write of the state file, whatever their number.
func (n *Node) clearOthers() {
	count, stopped := 0, false
	var first, last uint64
	for _, s := range n.sets.list() {
		if s.Value == "" || n.configured(s) {
			continue
		}
		c := n.nextSetting(s.Kind, s.Name, "")
		if c.Version > MaxSettingVersion {
			n.logf(LevelError, "Operator: settings clear --unconfigured stopped after %d: %v", count, n.settingFits(c))
			stopped = true
			break
		}
		// A clear replaces a setting held: it never needs more room than
		// the table's caps already hold but a longer version's digits.
		if taken, _, _ := n.sets.admit(c, n.configured); !taken {
			n.sets.put(c)
		}
		if count == 0 {
			first = c.Version
		}
		last = c.Version
		count++
	}
	if count == 0 {
		if stopped {
			return
		}
		n.logf(LevelInfo, "Operator: settings clear --unconfigured: no setting in force of a name this configuration lacks.")
		return
	}
	n.logf(LevelInfo, "Operator: %d setting(s) of names this configuration lacks cleared (versions %d to %d).", count, first, last)
	n.pruneSettings()
	n.recheck()
	n.persistSettings()
}
