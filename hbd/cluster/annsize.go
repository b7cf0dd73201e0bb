package cluster

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/wire"
)

// The size of a resource announcement. Its lists name every group, some
// of them several times (held, starting, standby, failed, want), so a
// haresources of many groups with long keys can make it longer than one
// datagram (wire.MaxDatagram), which no peer would then receive.
//
// A configuration is checked when it is loaded (CheckAnnouncement): the
// announcement of a node that holds, starts, stands by for and failed
// every group, built by the code that builds every announcement, with
// SettingsReserve bytes of operator settings (hbd_settings), must fit.
// The settings get what the worst case leaves (settingsroom.go): when
// they take more (a partition's sides, a hostile peer), what the peers
// fed the table gives way (announcedSettings), never the announcement.
// One too long at run time all the same (a configuration the load check
// did not see) is not sent (sendFitting): the node counts nothing of it
// as said, starts no group while a peer is up, and logs it at most once
// per LogEvery (announceUnsent).

// unsentAnnouncement is the state of an announcement too long to send.
type unsentAnnouncement struct {
	tries    int       // attempts since the last one sent (0: none failed)
	since    time.Time // the first of them
	loggedAt time.Time // the last one logged
}

// announceUnsent: an announcement of size bytes (settings of them in
// hbd_settings) did not fit a datagram and was not sent.
func (n *Node) announceUnsent(size, settings int) {
	u := &n.res.unsent
	u.tries++
	if u.tries == 1 {
		u.since = n.now
	} else if n.now.Sub(u.loggedAt) < LogEvery {
		return
	}
	u.loggedAt = n.now
	still := ""
	if u.tries > 1 {
		still = fmt.Sprintf(" (still: %d attempts in %d s)", u.tries, int(n.now.Sub(u.since).Seconds()))
	}
	n.logf(LevelError, "Resource announcement not sent%s: it would be %d bytes, more than the %d of one datagram (%d resource groups; operator settings %d bytes). "+
		"The peers do not hear what this node holds, starts or wants, and it starts no group while a peer is up; "+
		"shorten the group keys or the node names, or split the groups between clusters",
		still, size, wire.MaxDatagram, len(n.res.groups), settings)
}

// announceSent: an announcement of size bytes was sent; if some before it
// were too long, say that this one went out.
func (n *Node) announceSent(size int) {
	u := &n.res.unsent
	if u.tries == 0 {
		return
	}
	n.logf(LevelInfo, "Resource announcement sent (%d bytes), after %d that did not fit in %d ms", size, u.tries, n.now.Sub(u.since).Milliseconds())
	*u = unsentAnnouncement{}
}

// maxLoadLen bounds the ld field (Tick.Load) a node sends: /proc/loadavg's
// line is some 30 bytes.
const maxLoadLen = 128

// CheckAnnouncement checks that the resource announcement of any node of
// c fits one datagram in the worst case: the node with the longest name
// holds, starts, stands by for and failed every group, names the longest
// node name as the holder of each, asks and has seen every peer, and
// every number it sends has its most digits; signed with the longest
// signature any auth method makes (so that authkeys cannot change the
// answer), and SettingsReserve bytes of operator settings (hbd_settings).
// It returns nil, or one error that names the haresources line of the
// first group that does not fit.
func CheckAnnouncement(c *config.Config) []config.Diag {
	if len(c.Groups) == 0 {
		return nil
	}
	fit, size := AnnouncementFit(c)
	if fit == len(c.Groups) {
		return nil
	}
	g := c.Groups[fit]
	return []config.Diag{{Pos: g.Pos, Severity: config.SevError, Msg: fmt.Sprintf(
		"the resource groups do not fit one announcement from this line on: %d groups; at most %d fit in one datagram (%d bytes, %d of them kept for the operator's settings; with all %d, a node's resource message could take %d bytes: "+
			"every group held, starting, in standby and failed, its key in 5 lists). Shorten the group keys (each line's first resource) or the node names, or split the groups between clusters",
		len(c.Groups), fit, wire.MaxDatagram, SettingsReserve, len(c.Groups), size)}}
}

// AnnouncementFit returns how many of c's groups, from the first, fit
// one announcement in the worst case (CheckAnnouncement), and the
// worst-case length of the announcement with all of them (and
// SettingsReserve bytes of settings). c must be a
// valid configuration (config.Load's).
func AnnouncementFit(c *config.Config) (fit, size int) {
	n := worstNode(c)
	all := n.res.groups
	reserve := strings.Repeat("x", SettingsReserve)
	measure := func(k int) int {
		n.res.groups = all[:k]
		return n.worstAnnouncementLen(reserve)
	}
	size = measure(len(all))
	if size <= wire.MaxDatagram {
		return len(c.Groups), size
	}
	// The length grows with every group added: the first k that does
	// not fit.
	k := sort.Search(len(all), func(k int) bool { return measure(k+1) > wire.MaxDatagram })
	return k, size
}

// worstNode is a node of c (the one of the longest name) in the state of
// the longest announcement: every group held, starting (or stop-failed),
// in standby and failed; every peer live and joined, not announced (hbd_ask names it)
// and of the highest epoch (hbd_seen names it); a graceful stop under
// way, a sync asked for; seq, generation, clock and load at their most
// digits.
func worstNode(c *config.Config) *Node {
	wc := *c
	wc.ThisNode = longestName(c.Nodes...)
	n := New(Options{Config: &wc, Generation: math.MaxUint64, Now: time.Unix(0, 0)})
	n.now = time.Unix(1<<62, 0) // ts: 16 hex digits
	n.load = strings.Repeat("9", maxLoadLen)
	for i, g := range n.res.groups {
		// Held and starting, but for the first: held and stop-failed. A
		// group is one or the other, and both lists at once are longer
		// than either alone (two fields) by more than the one key
		// separator they save.
		g.state, g.standby, g.failed = GroupStarting, true, true
		if i == 0 && len(n.res.groups) > 1 {
			g.state = GroupStopFailed
		}
	}
	for _, p := range n.peers {
		p.heard, p.state = true, StateActive
		p.rsc.announced, p.rsc.epoch = false, math.MaxUint64
	}
	n.res.stopping, n.res.needSync = true, true
	return n
}

// worstAnnouncementLen is the signed length of the longest of
// worstAnnouncements with this hbd_settings.
func (n *Node) worstAnnouncementLen(settings string) int {
	longest := 0
	for _, m := range n.worstAnnouncements(settings) {
		longest = max(longest, wire.SignedLen(m))
	}
	return longest
}

// worstAnnouncements are worstNode's announcements of every kind (info),
// built as announce builds one, naming the longest node name as every
// group's holder, with settings as hbd_settings.
func (n *Node) worstAnnouncements(settings string) []*wire.Message {
	holder := longestName(n.cfg.Nodes...)
	want := func(*group) string { return holder }
	var out []*wire.Message
	for _, info := range []string{"", "standby", "shutdown", "mach_down"} {
		a := annFields{info: info, hold: longestName(HoldNone, HoldLocal, HoldForeign, HoldAll), stable: true, lists: n.rscFields(want),
			stopping: n.res.stopping, stopFailed: n.stopFailedList(), ask: n.askList(), settings: settings,
			epoch: math.MaxUint64, seen: n.seenList(), sync: n.res.needSync}
		// (No hbd_quietmax: announce leaves it out of an announcement
		// that would not fit with it.)
		m := &wire.Message{}
		a.fill(m)
		n.seq = math.MaxUint64 - 1 // appendCommon's next: the most digits
		n.appendCommon(m, true)
		out = append(out, m)
	}
	return out
}

// longestName is the longest of names (the first of that length).
func longestName(names ...string) string {
	l := ""
	for _, s := range names {
		if len(s) > len(l) {
			l = s
		}
	}
	return l
}
