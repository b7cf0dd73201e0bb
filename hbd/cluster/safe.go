package cluster

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/wire"
)

// splitBrain is the core's split-brain protection: ping nodes
// (ping.go), fencing (fence.go) and the safe profile (this file). See
// docs/split-brain.md.
type splitBrain struct {
	ping pingView // this node's, from the daemon's prober (PingStatus)
	// pingSince: when this node's current streak of reaching at least
	// one ping node began (zero while it reaches none, or never told).
	pingSince time.Time
	peers     map[string]*peerPing // what peers published (hbd_ping)
	fences    map[string]*fencing  // silent peers a takeover waits for
	// holdUntil: profile safe, no start before (safe_start_delay).
	holdUntil time.Time
	// blocked is the reason starts wait, as last logged (logged once).
	blocked string
}

// safe says whether profile safe is on.
func (n *Node) safe() bool { return n.cfg.Profile == config.ProfileSafe }

// sbPeerDead: peer p is being declared dead (before its announcements
// are forgotten). A peer that did not stop gracefully may still run its
// groups: with fencing configured it is fenced before any takeover; with
// profile safe and no fencing, only ping evidence (ping.go) lets a
// takeover go ahead.
func (n *Node) sbPeerDead(p *peer) {
	if len(n.res.groups) == 0 {
		return
	}
	if p.rsc.gaveUp() {
		n.holdStarts(p.name, "it stopped gracefully")
		return
	}
	if !n.cfg.Fence.Enabled() && !n.safe() {
		return
	}
	if n.pingEvidence(p) {
		n.logf(LevelWarn, "%s went silent after it reported that it reaches none of its ping nodes, holding no resource group, while this node reaches them: its side is the isolated one; taking over without fencing it", p.name)
		n.holdStarts(p.name, "its side is the isolated one")
		return
	}
	if n.sb.fences == nil {
		n.sb.fences = make(map[string]*fencing)
	}
	f := &fencing{since: n.now}
	n.sb.fences[p.name] = f
	n.recheck()
	if !n.cfg.Fence.Enabled() {
		n.logf(LevelCrit, "profile safe: %s went silent and no fence_command or fence_aws is configured: its resource groups are not taken over until it is heard again (it may still run them)", p.name)
		return
	}
	n.fence(p.name, f)
}

// holdStarts applies safe_start_delay (profile safe) from now on.
func (n *Node) holdStarts(peer, why string) {
	if !n.safe() || n.cfg.SafeStartDelay <= 0 {
		return
	}
	until := n.now.Add(n.cfg.SafeStartDelay)
	if until.After(n.sb.holdUntil) {
		n.sb.holdUntil = until
		n.logf(LevelInfo, "profile safe: no resource group starts here before %d ms from now (safe_start_delay, %s: %s)", n.cfg.SafeStartDelay.Milliseconds(), peer, why)
	}
	n.recheck()
}

// sbMayStart: nothing of the split-brain rules holds back a start here.
// A start waits while a silent peer is not fenced yet (every group: the
// peer may hold any), during safe_start_delay, and — with ping nodes and
// ping_takeover off — while this node reaches none of its ping nodes and
// a peer is silent.
func (n *Node) sbMayStart(g *group) bool {
	why := n.startBlock()
	if why != n.sb.blocked {
		n.sb.blocked = why
		if why != "" {
			n.logf(LevelWarn, "Not starting resource groups (%s first wanted here): %s", g.key, why)
		}
	}
	return why == ""
}

func (n *Node) startBlock() string {
	var waits []string
	for _, name := range n.cfg.Nodes {
		if f := n.sb.fences[name]; f != nil {
			if n.cfg.Fence.Enabled() {
				waits = append(waits, name+" is not fenced yet")
			} else {
				waits = append(waits, name+" is silent and cannot be fenced")
			}
		}
	}
	if len(waits) > 0 {
		return strings.Join(waits, ", ")
	}
	if n.now.Before(n.sb.holdUntil) {
		return "safe_start_delay (profile safe) has not passed"
	}
	if n.pingIsolated() && !n.cfg.PingTakeover {
		for _, p := range n.peers {
			if !n.live(p) {
				return fmt.Sprintf("this node reaches none of its ping nodes and %s is silent (ping_takeover off)", p.name)
			}
		}
	}
	return ""
}

// sbAdvance runs after every event: fences of peers heard again are
// dropped, failed fences are retried when due.
func (n *Node) sbAdvance() {
	for name, f := range n.sb.fences {
		p := n.peerByName(name)
		if p == nil {
			delete(n.sb.fences, name) // removed by a reload
			n.recheck()
			continue
		}
		if n.live(p) {
			delete(n.sb.fences, name)
			n.recheck()
			n.logf(LevelInfo, "%s is heard again: it is no longer fenced before a takeover", name)
			continue
		}
		if !f.inFlight && !f.retryAt.IsZero() && !n.now.Before(f.retryAt) && n.cfg.Fence.Enabled() {
			n.touch()
			n.fence(name, f)
		}
	}
	if !n.sb.holdUntil.IsZero() && !n.now.Before(n.sb.holdUntil) {
		n.sb.holdUntil = time.Time{}
		n.recheck()
	}
}

// sbDeadline is when sbAdvance next has something to do.
func (n *Node) sbDeadline() time.Time {
	var d time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	for _, f := range n.sb.fences {
		if !f.inFlight {
			earliest(f.retryAt)
		}
	}
	earliest(n.sb.holdUntil)
	return d
}

// sbStatusFields adds this node's ping state to its status messages.
func (n *Node) sbStatusFields(m *wire.Message) {
	if n.sb.ping.known {
		var b [41]byte // two ints and the slash
		v := strconv.AppendInt(b[:0], int64(n.sb.ping.reach), 10)
		v = append(v, '/')
		m.SetBytes(wire.FHbdPing, strconv.AppendInt(v, int64(n.sb.ping.total), 10))
	}
}
