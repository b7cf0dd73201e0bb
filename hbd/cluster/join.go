package cluster

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/wire"
)

// Joining. Once every configured node has been heard (or declared dead),
// a node asks the first live peer for its node list (reqnodes) and goes
// active when the answer (repnodes) comes: the answer is also the first
// sign that the peer hears this node. A peer that is heard but never
// answers does not hear it (the media lines of ha.cf send where it does
// not listen, or the nodes share a host and its wildcard address, where
// the kernel gives each datagram to one socket only); the node then stays
// up and takes no group, as it must: the peer, which declared it dead,
// holds them. It keeps asking, as Heartbeat does every second for ever,
// but backs off and says once what to check.

// The reqnodes schedule.
const (
	// ReqnodesRetry: reqnodes is sent again this long after the last one
	// while no repnodes came (Heartbeat's 1 s), for the first
	// ReqnodesPatience requests to one peer.
	ReqnodesRetry = time.Second
	// ReqnodesPatience is how many requests to one peer go out at
	// ReqnodesRetry: a lost request or answer or two cost no more than
	// they do in Heartbeat. When the last of them is unanswered too the
	// node logs once (WARN) what to check, and the interval doubles with
	// each request up to ReqnodesRetryMax.
	ReqnodesPatience = 4
	// ReqnodesRetryMax bounds the interval: a peer whose ha.cf is fixed
	// and reloaded is asked again within it.
	ReqnodesRetryMax = 32 * time.Second
)

// joinWait is the state of the node list request, from comm up (every
// node heard or dead) until a repnodes comes.
type joinWait struct {
	// to is the peer asked, in generation gen: another peer (the one
	// asked died) or a restart of it asks again at once, from the start
	// of the schedule.
	to  string
	gen uint64
	// sent counts the requests to it, the first at first; next is when
	// the next one goes.
	sent  int
	first time.Time
	next  time.Time
	// asked counts every request, warned says the WARN line was written:
	// once per run (a node joins once).
	asked  int
	warned bool
	// ackedAt is when the peer's acknowledgement of this node's messages
	// last restarted the schedule (heardBy).
	ackedAt time.Time
	// ownOn is a link of ucast media only on which this node heard its
	// own messages since it began to wait: what it sends to the peer's
	// address comes back to it.
	ownOn string
}

// checkCommUp starts joining once the node is up, has released what it
// found running at boot, and every configured node has been heard or
// declared dead.
func (n *Node) checkCommUp() {
	if n.commUp || n.state != StateUp || !n.bootReleased() {
		return
	}
	for _, p := range n.peers {
		if !p.heard && p.state != StateDead {
			return
		}
	}
	n.commUp = true
	n.askNodes()
}

// askNodes sends reqnodes when it is due (Heartbeat's send_reqnodes_msg):
// to the first live peer, at once when that is another peer than the
// one asked last or a restart of it; with no live peer, communication is
// up at once.
func (n *Node) askNodes() {
	if !n.commUp || n.gotRepnodes {
		return
	}
	var dest *peer
	for _, p := range n.peers {
		if p.state != StateDead {
			dest = p
			break
		}
	}
	if dest == nil {
		n.gotRepnodes = true
		n.commNowUp()
		return
	}
	w := &n.join
	if dest.name != w.to || dest.gen != w.gen {
		w.to, w.gen, w.sent = dest.name, dest.gen, 0
	} else if n.now.Before(w.next) {
		return
	}
	if w.sent == 0 {
		w.first = n.now
	}
	if w.sent == ReqnodesPatience && !w.warned {
		w.warned = true
		n.warnNoAnswer(dest)
	}
	m := n.newMessage()
	m.Set(wire.FType, wire.TReqNodes)
	m.Set(wire.FDest, dest.name)
	n.sendMessage(m)
	w.sent++
	w.asked++
	w.next = n.now.Add(reqnodesInterval(w.sent))
}

// reqnodesInterval is the wait after the sent-th request to one peer.
func reqnodesInterval(sent int) time.Duration {
	if sent < ReqnodesPatience {
		return ReqnodesRetry
	}
	d := ReqnodesRetry
	for i := ReqnodesPatience; i <= sent && d < ReqnodesRetryMax; i++ {
		d *= 2
	}
	return min(d, ReqnodesRetryMax)
}

// heardBy: p acknowledged a message of this node it had not
// acknowledged before, so it hears this node now (a one-way cut healed,
// its ha.cf was fixed). When p is the peer asked and the requests have
// backed off, the schedule starts again at once; at most once per
// ReqnodesRetryMax, since an acknowledgement carries no seq and a
// captured one could be replayed.
func (n *Node) heardBy(p *peer) {
	w := &n.join
	if !n.commUp || n.gotRepnodes || p.name != w.to || w.sent < ReqnodesPatience {
		return
	}
	if !w.ackedAt.IsZero() && n.now.Sub(w.ackedAt) < ReqnodesRetryMax {
		return
	}
	w.ackedAt = n.now
	n.askAgain()
}

// askAgain makes the next request go at once and from the start of the
// schedule (a reload: the media may have been fixed).
func (n *Node) askAgain() {
	n.join.to = ""
}

// warnNoAnswer logs the WARN line of a peer that is heard but does not
// answer: what is missing, what it costs, what to check.
func (n *Node) warnNoAnswer(p *peer) {
	w := &n.join
	own := ""
	if w.ownOn != "" {
		own = fmt.Sprintf(" This node hears its own messages on %s: what it sends to %s's address comes back to it.", w.ownOn, p.name)
	}
	n.logf(LevelWarn, "No answer (repnodes) from %s to %d node list requests (reqnodes) in %v: "+
		"it is heard here but does not seem to hear this node, which stays up and takes no resource group until it does (asking again at most every %v). "+
		"Check on both nodes the media lines of %s: each ucast line names the other node's address, and nodes that share a host each bind their own (ucast IFACE PEER LOCAL); "+
		"and whether %s logs that it drops this node's packets (authkeys differ?).%s",
		p.name, w.sent, n.now.Sub(w.first).Round(time.Millisecond), ReqnodesRetryMax, mediaWhere(n.cfg.Media), p.name, own)
}

// mediaWhere names the ha.cf lines of the media ("/etc/ha.d/ha.cf lines
// 12, 13"), or "ha.cf" when they came from no file.
func mediaWhere(media []config.Medium) string {
	file := ""
	var lines []string
	for _, m := range media {
		if m.Pos.File == "" {
			continue
		}
		if file == "" {
			file = m.Pos.File
		}
		if m.Pos.File != file || m.Pos.Line <= 0 {
			continue
		}
		if l := strconv.Itoa(m.Pos.Line); !slices.Contains(lines, l) {
			lines = append(lines, l)
		}
	}
	switch {
	case file == "":
		return "ha.cf"
	case len(lines) == 0:
		return file
	case len(lines) == 1:
		return file + " line " + lines[0]
	}
	return file + " lines " + strings.Join(lines, ", ")
}

// heardOwn notes a message of this node's own that came back on a link:
// expected where a bcast or mcast medium shares the link, a sign that its
// datagrams to the peers' addresses reach itself where the link has ucast
// media only. Only while it waits for repnodes: the warning says it.
func (n *Node) heardOwn(linkName string) {
	if !n.commUp || n.gotRepnodes || n.join.ownOn != "" || linkName == "" {
		return
	}
	ucast := false
	for _, m := range n.cfg.Media {
		if m.Name() != linkName {
			continue
		}
		if m.Kind != config.Ucast && m.Kind != config.Ucast6 {
			return
		}
		ucast = true
	}
	if ucast {
		n.join.ownOn = linkName
	}
}

// gotNodes ends the wait: a repnodes came (from any peer, as in
// Heartbeat).
func (n *Node) gotNodes(p *peer) {
	if !n.commUp || n.gotRepnodes {
		return
	}
	n.gotRepnodes = true
	if n.join.warned {
		n.logf(LevelInfo, "Node list (repnodes) from %s after %d request(s): joining", p.name, n.join.asked)
	}
	n.commNowUp()
}

// commNowUp makes this node active and announces it (Heartbeat's
// comm_now_up); joinedCluster starts the initial resource acquisition.
func (n *Node) commNowUp() {
	if n.state != StateUp {
		return
	}
	n.logf(LevelInfo, "Comm_now_up(): updating status to active")
	n.touch()
	n.state = StateActive
	n.sendStatus()
	n.logf(LevelInfo, "Local status now set to: '%s'", StateActive)
	m := n.newMessage()
	m.Set(wire.FType, wire.TStarting)
	n.sendMessage(m)
	n.joinedCluster()
}
