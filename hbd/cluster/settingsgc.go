package cluster

import (
	"sort"
	"strings"
)

// The end of cleared settings: once every peer acknowledged a cleared
// setting, no node can bring an older value of it back, and it is dropped
// (the rule and why it holds: the package doc, Resource groups,
// "A cleared setting").

// peerSettings is what a peer's latest announcement said of the settings.
type peerSettings struct {
	heard bool     // an announcement of it arrived (of its current run, or of its last before it died)
	hbd   bool     // an hbd node (a Heartbeat node keeps no settings)
	sets  settings // its settings, by kind and name
	max   uint64   // the highest version among them
}

// record replaces what p's latest announcement said of the settings.
func (ps *peerSettings) record(hbd bool, list []Setting) {
	*ps = peerSettings{heard: true, hbd: hbd}
	if len(list) == 0 {
		return
	}
	ps.sets = make(settings, len(list))
	for _, s := range list {
		ps.sets.merge(s)
		ps.max = max(ps.max, s.Version)
	}
}

// acked: the peer holds no value of s's setting older than s, and will
// give any change it makes to it a newer version than s.
func (ps *peerSettings) acked(s Setting) bool {
	switch {
	case !ps.heard:
		return false
	case !ps.hbd:
		return true
	}
	if cur, ok := ps.sets[settingKey{s.Kind, s.Name}]; ok {
		return !s.newer(cur)
	}
	return ps.max >= s.Version
}

// clearAcked: every peer of the configuration acknowledged s.
func (n *Node) clearAcked(s Setting) bool {
	for _, p := range n.peers {
		if !p.sets.acked(s) {
			return false
		}
	}
	return true
}

// unacked names the peers that have not acknowledged every cleared
// setting held here, and the bytes those settings take in hbd_settings.
func (n *Node) unacked() (peers []string, bytes int) {
	waiting := make(map[string]bool)
	for _, s := range n.sets {
		if s.Value != "" || n.clearAcked(s) {
			continue
		}
		bytes += len(s.String()) + 1
		for _, p := range n.peers {
			if !p.sets.acked(s) {
				waiting[p.name] = true
			}
		}
	}
	for name := range waiting {
		peers = append(peers, name)
	}
	sort.Strings(peers)
	return peers, bytes
}

// newest is the key of the newest setting held (false: none).
func (ss settings) newest() (settingKey, bool) {
	var top Setting
	var key settingKey
	found := false
	for k, s := range ss {
		if !found || s.newer(top) {
			top, key, found = s, k, true
		}
	}
	return key, found
}

// pruneSettings drops the cleared settings every peer acknowledged, but
// the newest setting; it returns how many it dropped.
func (n *Node) pruneSettings() int {
	top, _ := n.sets.newest()
	dropped := 0
	for k, s := range n.sets {
		if s.Value == "" && k != top && n.clearAcked(s) {
			delete(n.sets, k)
			dropped++
		}
	}
	if dropped > 0 {
		n.logf(LevelInfo, "Settings: %d cleared setting(s) dropped: every node has them", dropped)
	}
	return dropped
}

// peerSettingsHeard takes the hbd_settings field of p's latest
// announcement (hbd: p is an hbd node): it records what p holds, merges
// the newer of its settings (a malformed field is logged and ignored)
// and drops what every peer now acknowledged.
func (n *Node) peerSettingsHeard(p *peer, hbd bool, text string) {
	var list []Setting
	if text != "" {
		var err error
		if list, err = ParseSettings(text); err != nil {
			n.logf(LevelWarn, "Settings from %s ignored: %s", p.name, clipped(err.Error()))
			p.sets = peerSettings{} // what it holds is not known
			return
		}
	}
	p.sets.record(hbd, list)
	changed := n.mergeSettings(p.name, list)
	if n.pruneSettings() > 0 || changed {
		n.settingsChanged()
	}
}

// mergeSettings takes the newer of a peer's settings; it reports whether
// any was taken.
func (n *Node) mergeSettings(from string, list []Setting) bool {
	changed, full := false, 0
	topKey, any := n.sets.newest()
	top := n.sets[topKey]
	for _, s := range list {
		_, known := n.sets[settingKey{s.Kind, s.Name}]
		switch {
		case !known && s.Value == "" && any && !s.newer(top) && n.clearAcked(s):
			continue // dropped here already (or never needed)
		case !known && len(n.sets) >= MaxSettings:
			full++ // a name never seen here, and the table is full
			continue
		}
		if n.sets.merge(s) {
			if !any || s.newer(top) {
				top, any = s, true
			}
			changed = true
			n.logf(LevelInfo, "Setting from %s: %s (version %d by %s).", from, clipped(s.describe()), s.Version, clipped(s.Origin))
		}
	}
	if full > 0 {
		n.logf(LevelWarn, "Settings from %s: %d setting(s) of names not known here ignored: this node keeps at most %d", from, full, MaxSettings)
	}
	return changed
}

// settingsLenWith is the length of hbd_settings once s is taken.
func (n *Node) settingsLenWith(s Setting) int {
	l, k := 0, settingKey{s.Kind, s.Name}
	if _, ok := n.sets[k]; !ok {
		l = len(s.String())
		if len(n.sets) > 0 {
			l++ // its separator
		}
	}
	for key, cur := range n.sets {
		if key == k {
			cur = s
		}
		l += len(cur.String())
	}
	if len(n.sets) > 1 {
		l += len(n.sets) - 1
	}
	return l
}

// joinNames is names space-separated, "none" when empty.
func joinNames(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, " ")
}
