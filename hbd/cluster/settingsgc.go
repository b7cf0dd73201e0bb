package cluster

import (
	"sort"
	"strconv"
	"strings"
)

// The end of cleared settings: once every peer acknowledged a cleared
// setting, no node can bring an older value of it back, and it is dropped
// (the rule and why it holds: the package doc, Resource groups,
// "A cleared setting").

// peerSettings is what a peer's latest announcement said of the settings.
// Its strings are those of the announcement's field: one announcement's
// worth per peer, replaced by the next.
type peerSettings struct {
	heard bool     // an announcement of it arrived (of its current run, or of its last before it died)
	hbd   bool     // an hbd node (a Heartbeat node keeps no settings)
	sets  settings // its settings, by kind and name (those within the caps)
	max   uint64   // the highest version among them
	// partial: it left settings out (hbd_setspart): one it did not list
	// may be one it holds.
	partial bool
	// claimed is the highest version it announced within the caps but
	// the version step (claimedTop): what it says it knows, whether or
	// not this node took it (agreedTop).
	claimed uint64
}

// record replaces what p's latest announcement said of the settings:
// list, all of them or part (partial).
func (ps *peerSettings) record(hbd bool, list []Setting, partial bool) {
	*ps = peerSettings{heard: true, hbd: hbd, partial: partial}
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
	return !ps.partial && ps.max >= s.Version
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
	for _, s := range n.sets.settings {
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
	for k, s := range n.sets.settings {
		if s.Value == "" && k != top && n.clearAcked(s) {
			n.sets.del(k)
			dropped++
		}
	}
	if dropped > 0 {
		n.logf(LevelInfo, "Settings: %d cleared setting(s) dropped: every node has them", dropped)
	}
	return dropped
}

// peerSettingsHeard takes the hbd_settings field of p's latest
// announcement (hbd: p is an hbd node; partial: its hbd_setspart): it
// records what p holds, merges the newer of its settings (a malformed
// field is ignored; what the caps refuse is not kept) and drops what
// every peer now acknowledged. Either is logged at most once per
// LogEvery (settingsRefused).
func (n *Node) peerSettingsHeard(p *peer, hbd bool, text string, partial bool) {
	var list []Setting
	if text != "" {
		var err error
		if list, err = ParseSettings(text); err != nil {
			n.settingsRefused(p, 0, clipped(err.Error()))
			p.sets = peerSettings{} // what it holds is not known
			return
		}
	}
	claimed := claimedTop(list)
	top := n.sets.maxVersion()
	if agreed := min(n.agreedTop(p, hbd, claimed), MaxAgreedVersion); agreed > top {
		top = agreed
	}
	within := list[:0]
	refused, why := 0, ""
	for _, s := range list {
		w := s.overCap()
		if w == "" {
			if w = s.versionOver(top); w != "" {
				w += "; versions above that are taken once more than half of the peers not known to be down announce settings that high"
			}
		}
		if w != "" {
			if refused++; why == "" {
				why = w + ": " + strconv.Quote(clipped(s.String()))
			}
			continue
		}
		within = append(within, s)
	}
	p.sets.record(hbd, within, partial)
	p.sets.claimed = claimed
	changed, full := n.mergeSettings(p, within)
	if full > 0 {
		if refused += full; why == "" {
			why = errNoRoom
		}
	}
	if refused > 0 {
		n.settingsRefused(p, refused, why)
	}
	if n.pruneSettings() > 0 || changed {
		n.settingsChanged()
	}
}

// claimedTop is the highest version in list of a setting within the
// caps and under MaxSettingVersion, 0 when none.
func claimedTop(list []Setting) uint64 {
	var top uint64
	for _, s := range list {
		if s.overCap() == "" && s.versionOver(MaxSettingVersion) == "" {
			top = max(top, s.Version)
		}
	}
	return top
}

// agreedTop is the highest version the peers agree this node should
// count as known when it reads p's announcement (hbd, claiming claimed):
// the lowest of the highest versions its hbd peers announce, once more
// than half of the peers that may know settings have announced theirs;
// 0 before. A peer heard to be a Heartbeat node, or to know no setting
// (a fresh node), neither agrees nor counts; one not heard yet counts
// against until it is declared dead (initdead after the start): once
// the peers that are up have all announced, their lowest highest
// version counts, as every live peer's announcement is what a node
// waits for before it starts a group. Above this node's own highest
// version it raises the base of the version step (peerSettingsHeard),
// up to MaxAgreedVersion: so a node that knows no setting (new,
// reinstalled, its state file removed), or one that was down while the
// cluster's versions climbed, learns what the cluster holds, while one
// peer alone among others cannot raise it. Agreement is only as good as
// the peers: a key holder may sign as any of them, and in a cluster of
// two the one peer is the majority (docs/operations.md says what that
// costs; MaxAgreedVersion bounds it).
func (n *Node) agreedTop(p *peer, hbd bool, claimed uint64) uint64 {
	heard, keepers := 0, len(n.peers)
	low := uint64(0)
	for _, q := range n.peers {
		qHeard, qHbd, qClaimed := q.sets.heard, q.sets.hbd, q.sets.claimed
		if q == p {
			qHeard, qHbd, qClaimed = true, hbd, claimed
		}
		switch {
		case !qHeard && q.state == StateDead:
			keepers-- // down since this node started: it tells nothing
			continue
		case !qHeard:
			continue
		case !qHbd || qClaimed == 0:
			keepers-- // it knows no setting either
			continue
		}
		if heard == 0 || qClaimed < low {
			low = qClaimed
		}
		heard++
	}
	if heard == 0 || 2*heard <= keepers {
		return 0
	}
	return low
}

// settingsRefused: p announced count settings the caps refuse, the
// first of them for why; or (count 0) a malformed field, why says how.
// Either is logged at most once per LogEvery per peer; a line of refused
// settings counts those since the last one.
func (n *Node) settingsRefused(p *peer, count int, why string) {
	p.setsRefused += count
	// A line held back is not counted as such: the settings it would
	// have said refused are in the next line's count (setsRefused).
	if !p.setsLog.allow(n.now, 1, func(int) {}) {
		return
	}
	if count == 0 {
		n.logf(LevelWarn, "Settings from %s ignored: %s", p.name, why)
		return
	}
	n.logf(LevelWarn, "Settings from %s: %d refused (%s), none of them kept or announced; "+
		"a setting's name takes at most %d bytes, its value %d, its origin %d, and this node keeps at most %d settings and %d bytes of them",
		p.name, p.setsRefused, why, MaxSettingName, MaxSettingValue, MaxSettingOrigin, MaxSettings, MaxSettingsBytes)
	p.setsRefused = 0
}

// settingsTakenLogged bounds the settings taken from one peer that are
// logged one by one in a LogEvery; the rest are counted, and the count
// said with the first line of the next.
const settingsTakenLogged = 8

// settingTaken logs that s, from p, was taken, within p's budget
// (settingsTakenLogged).
func (n *Node) settingTaken(p *peer, s Setting) {
	if p.takenLog.allow(n.now, settingsTakenLogged, func(muted int) {
		n.logf(LevelInfo, "Settings from %s: %d more taken, not logged one by one.", p.name, muted)
	}) {
		n.logf(LevelInfo, "Setting from %s: %s (version %d by %s).", p.name, clipped(s.describe()), s.Version, clipped(s.Origin))
	}
}

// mergeSettings takes the newer of p's settings (within the caps:
// settingsTable.admit); it reports whether any was taken, and how many
// the table had no room for.
func (n *Node) mergeSettings(p *peer, list []Setting) (changed bool, full int) {
	topKey, any := n.sets.newest()
	top := n.sets.settings[topKey]
	for _, s := range list {
		cur, known := n.sets.settings[settingKey{s.Kind, s.Name}]
		switch {
		case known && !s.newer(cur):
			continue
		case !known && s.Value == "" && any && !s.newer(top) && n.clearAcked(s):
			continue // dropped here already (or never needed)
		}
		ok, _, why := n.sets.admit(n.own(s), n.configured)
		if why != "" {
			full++
			continue
		}
		if !ok {
			continue
		}
		if !any || s.newer(top) {
			top, any = s, true
		}
		changed = true
		n.settingTaken(p, s)
	}
	return changed, full
}

// settingsLenWith is the length in hbd_settings of the settings of
// names configured here once s (of one) is taken: the part every
// announcement carries (announcedSettings).
func (n *Node) settingsLenWith(s Setting) int {
	l, k := s.size(), settingKey{s.Kind, s.Name}
	for key, cur := range n.sets.settings {
		if key != k && n.configured(cur) {
			l += cur.size()
		}
	}
	return l - 1 // no separator after the last
}

// joinNames is names space-separated, "none" when empty.
func joinNames(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, " ")
}
