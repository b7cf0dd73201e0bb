package cluster

import (
	"sort"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/wire"
)

// handoff is a release of groups to the other nodes with Heartbeat's
// ask_resources handshake (standby, failback).
type handoff struct {
	which     string
	groups    map[string]bool
	releasing bool // info=other arrived; stops issued
	deadline  time.Time
}

// acquisition is a standby acquisition: a peer released groups to us
// (ask_resources info=done) and we start those the rule gives us.
type acquisition struct {
	from, which string
	groups      map[string]bool
}

// standbyReq is a peer's standby request this node serves (its
// ask_resources info=me, answered info=other): the groups of class which
// (relative to the peer) wait for its info=done before they start here,
// until the request lapses at until (standbyLapse).
type standbyReq struct {
	which string
	until time.Time
}

// heartbeatStandbyLapse is how long a Heartbeat peer's standby request we
// serve waits for its done: Heartbeat's own bound on a standby under way
// (HB_STANDBY_RSC_TO_MS in hb_resource.c), after which it cancels the
// standby itself ("No reply to standby request. Standby request
// cancelled.").
const heartbeatStandbyLapse = time.Hour

// standbyLapse is how long the standby request of p, served now, waits
// for p's done. A Heartbeat peer announces rsc_hold without the groups
// before it stops them (go_standby sends its resource message first):
// only its done says they are down, so the wait is Heartbeat's own hour.
// An hbd peer lists a group as held until its stop has ended (stops under
// way included) and starts nothing here without naming this node in
// hbd_want: canStart checks both on every start, so dropping the request
// only drops Heartbeat's order (acquire after the done), never a guard.
// Its wait is the longer of 30 s and four deadtimes: past any normal
// release, short against a group left down.
func (n *Node) standbyLapse(p *peer) time.Duration {
	if !p.rsc.hbd {
		return heartbeatStandbyLapse
	}
	return max(30*time.Second, 4*n.effectiveDeadtime())
}

// expireStandbyRequests drops the standby requests whose done has not
// come by their lapse (the done was lost for good, or a retransmitted
// request came after it): the peer's groups start here again by the rule.
func (n *Node) expireStandbyRequests() {
	for _, p := range n.peers {
		req, ok := n.res.standbyFrom[p.name]
		if !ok || n.now.Before(req.until) {
			continue
		}
		delete(n.res.standbyFrom, p.name)
		n.logf(LevelWarn, "No reply to standby request of %s [%s]: its done did not come; standby request cancelled", p.name, req.which)
	}
}

func classify(gs []*group, node string) string {
	local, foreign := false, false
	for _, g := range gs {
		if g.pref == node {
			local = true
		} else {
			foreign = true
		}
	}
	return holdClass(local, foreign)
}

func (n *Node) beginHandoff(gs []*group) {
	r := &n.res
	which := r.pendingWhy
	if which == "" {
		which = classify(gs, n.name)
	}
	r.pendingWhy = ""
	t := &handoff{which: which, groups: make(map[string]bool), deadline: n.now.Add(n.deadtime)}
	for _, g := range gs {
		t.groups[g.key] = true
	}
	r.txn = t
	n.logf(LevelInfo, "%s wants to go standby [%s]", n.name, which)
	m := n.newMessage()
	m.Set(wire.FType, wire.TAskResources)
	m.Set(wire.FRscHold, which)
	m.Set(wire.FInfo, "me")
	n.sendMessage(m)
}

func (n *Node) progressHandoff() {
	r := &n.res
	t := r.txn
	if t == nil {
		return
	}
	if !t.releasing {
		if n.livePeers() == 0 || !n.now.Before(t.deadline) {
			n.logf(LevelWarn, "standby [%s]: no node answered; cancelled", t.which)
			r.txn = nil
		}
		return
	}
	for _, g := range r.groups {
		if t.groups[g.key] && g.state == GroupStopping {
			return
		}
	}
	n.logf(LevelInfo, "%s HA resource release completed (standby).", t.which)
	n.logf(LevelInfo, "Local standby process completed [%s].", t.which)
	n.announce("standby") // isstable=0: the peer has not acquired yet
	r.txn = nil
	r.lastSig = n.rscSignature()
	m := n.newMessage()
	m.Set(wire.FType, wire.TAskResources)
	m.Set(wire.FRscHold, t.which)
	m.Set(wire.FInfo, "done")
	n.sendMessage(m)
	r.awaitDone = t.which
}

func (n *Node) progressAcquisitions() {
	r := &n.res
	if len(r.acqs) == 0 || n.anyStarting() {
		return
	}
	for _, a := range r.acqs {
		n.logf(LevelInfo, "Standby resource acquisition done [%s].", a.which)
		failback := false
		for _, g := range r.groups {
			if a.groups[g.key] && g.pref == n.name && g.state == GroupRunning {
				failback = true
			}
		}
		if failback && n.cfg.AutoFailback != config.FailbackOff {
			n.logf(LevelInfo, "Initial resource acquisition complete (auto_failback)")
		}
		n.announce("")
		m := n.newMessage()
		m.Set(wire.FType, wire.TAskResources)
		m.Set(wire.FRscHold, a.which)
		m.Set(wire.FInfo, "done")
		n.sendMessage(m)
	}
	r.acqs = nil
}

// progressTakeovers logs "mach_down takeover complete" for each dead or
// stopped peer whose groups are taken over: none of them is starting or
// still to start here, and one at least runs here. Only that peer's
// groups count: a start of another group under way here (its own, or
// another peer's) does not hold the line back. atEnd: also forget a
// takeover that took nothing over; only at the end of reconcile, once it
// has begun the starts it decided (before them, a group it is about to
// start is not yet starting, and another may look unwanted).
func (n *Node) progressTakeovers(atEnd bool) {
	r := &n.res
	if len(r.takeovers) == 0 || !n.allAnnounced() {
		return
	}
	names := make([]string, 0, len(r.takeovers))
	for name := range r.takeovers {
		names = append(names, name)
	}
	sort.Strings(names)
	took := false
	for _, name := range names {
		mine, waiting := false, false
		for _, g := range r.groups {
			ran, ok := r.takeovers[name][g.key]
			if !ok {
				continue
			}
			switch {
			case g.state == GroupStopping && ran:
				mine = true // taken over, released since (a conflict)
			case g.state == GroupStopping:
				// Being released here, not started since the peer
				// left. One that is ours once released (a failback's
				// stop when the preferred node died again) is still to
				// be taken over; one released for good (to a peer, or
				// no node may hold it: quorum lost) is not taken over.
				if n.desired(g) == n.name {
					waiting = true
				}
			case g.state == GroupStarting:
				waiting = true // taken over once its start has ended
			case g.holds():
				mine = true
			case !g.failed && n.desired(g) == n.name:
				waiting = true // ours to take, not started yet
			}
		}
		if waiting {
			continue
		}
		if mine {
			n.logf(LevelInfo, "mach_down takeover complete for node %s.", name)
			took = true
		} else if !atEnd {
			continue
		}
		delete(r.takeovers, name)
	}
	if took {
		n.announce("mach_down")
	}
}

// tookOver records that g, started here, is taken over for every
// takeover that includes it.
func (n *Node) tookOver(g *group) {
	for _, set := range n.res.takeovers {
		if _, ok := set[g.key]; ok {
			set[g.key] = true
		}
	}
}
