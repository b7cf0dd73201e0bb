package cluster

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/wire"
)

// PingStatus is the daemon's prober's view of this node's ping nodes
// (ha.cf ping / ping6 / ping_group): Reachable of Total ping nodes (a
// ping_group counts once, reachable when any member answers) answered
// within deadping. The daemon sends it when it changes (and once when
// the first round is done).
type PingStatus struct {
	Now       time.Time
	Reachable int
	Total     int
}

func (e PingStatus) at() time.Time { return e.Now }

type pingView struct {
	known        bool
	reach, total int
}

// isolated: pings are configured and none answers.
func (v pingView) isolated() bool { return v.known && v.total > 0 && v.reach == 0 }

// peerPing is a peer's published ping state (hbd_ping=R/T in its status).
type peerPing struct {
	pingView
	// isolatedAt: arrival of the first status of its current isolated
	// streak (zero when it is not isolated).
	isolatedAt time.Time
}

func (n *Node) onPingStatus(e PingStatus) {
	v := pingView{known: true, reach: e.Reachable, total: e.Total}
	old := n.sb.ping
	if v == old {
		return
	}
	n.sb.ping = v
	n.recheck()
	switch {
	case v.reach > 0 && (old.reach == 0 || !old.known):
		n.sb.pingSince = n.now
	case v.reach == 0:
		n.sb.pingSince = time.Time{}
	}
	if v.isolated() {
		n.logf(LevelWarn, "Ping nodes: none of %d reachable: this node does not take over from a silent peer%s, and gives its groups to a peer that reaches more", v.total, map[bool]string{true: " (except: ping_takeover on)", false: ""}[n.cfg.PingTakeover])
	} else {
		n.logf(LevelInfo, "Ping nodes: %d of %d reachable", v.reach, v.total)
	}
	if n.booted && !n.stopped {
		n.sendStatus() // peers learn it at once
	}
}

// sbOnStatus reads a peer's hbd_ping from a (fresh) status.
func (n *Node) sbOnStatus(p *peer, at time.Time, m *wire.Message) {
	s, ok := m.Get(wire.FHbdPing)
	if !ok {
		return
	}
	rs, ts, ok := strings.Cut(s, "/")
	r, err1 := strconv.Atoi(rs)
	t, err2 := strconv.Atoi(ts)
	if !ok || err1 != nil || err2 != nil || r < 0 || t < 0 || r > t {
		return
	}
	if n.sb.peers == nil {
		n.sb.peers = make(map[string]*peerPing)
	}
	pp := n.sb.peers[p.name]
	if pp == nil {
		pp = &peerPing{}
		n.sb.peers[p.name] = pp
	}
	v := pingView{known: true, reach: r, total: t}
	if v == pp.pingView {
		return
	}
	if v.isolated() && !pp.isolated() {
		pp.isolatedAt = at
	} else if !v.isolated() {
		pp.isolatedAt = time.Time{}
	}
	pp.pingView = v
	n.recheck()
	n.logf(LevelInfo, "Ping nodes of %s: %d of %d reachable", p.name, r, t)
}

// pingOf is a node's ping count as this node knows it (ok false when
// unknown: no ping nodes, a Heartbeat peer, a dead peer).
func (n *Node) pingOf(node string) (int, bool) {
	if node == n.name {
		return n.sb.ping.reach, n.sb.ping.known && n.sb.ping.total > 0
	}
	p := n.peerByName(node)
	pp := n.sb.peers[node]
	if p == nil || pp == nil || !n.live(p) || pp.total == 0 {
		return 0, false
	}
	return pp.reach, true
}

// pingIsolated: this node has ping nodes and reaches none.
func (n *Node) pingIsolated() bool {
	return len(n.cfg.Ping) > 0 && n.sb.ping.isolated()
}

// pingEvidence: the silent peer p was the isolated side — its last
// status said it reached none of its ping nodes while its last
// announcement listed no group held, and this node has reached its ping
// nodes without a break since at least a deadtime before that status
// arrived (so the two nodes cannot both see the other as the isolated
// one). Then p holds nothing and, isolated, starts nothing; no fence is
// needed.
func (n *Node) pingEvidence(p *peer) bool {
	pp := n.sb.peers[p.name]
	if len(n.cfg.Ping) == 0 || n.cfg.PingTakeover || pp == nil || !pp.isolated() || n.pingIsolated() || n.sb.pingSince.IsZero() {
		return false
	}
	if !p.rsc.announced || p.rsc.holdsAny() {
		return false
	}
	return pp.isolatedAt.Sub(n.sb.pingSince) >= n.deadtime
}

// PingView is this node's ping state for `hbd status`: "" when unknown,
// else "R/T".
func (n *Node) PingView() string {
	if !n.sb.ping.known {
		return ""
	}
	return fmt.Sprintf("%d/%d", n.sb.ping.reach, n.sb.ping.total)
}
