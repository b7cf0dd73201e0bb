package cluster

import "github.com/hbdproject/hbd/hbd/wire"

// hookEvent tells the message types for which Heartbeat runs the
// /etc/ha.d/rc.d hook of the same name.
func hookEvent(typ string) bool {
	switch typ {
	case wire.TAskResources, wire.THBTakeover, wire.TIPRequest, wire.TIPRequestResp:
		return true
	}
	return false
}

// runHook emits RunHook for an accepted message of a hook type.
func (n *Node) runHook(typ string, m *wire.Message) {
	if !hookEvent(typ) {
		return
	}
	fields := make(map[string]string, len(m.Fields))
	for _, f := range m.Fields {
		if f.Type == wire.String {
			fields[f.Name] = string(f.Value)
		}
	}
	n.out = append(n.out, RunHook{Event: typ, Fields: fields})
}

// setPeerState changes a peer's state and says so (PeerState).
func (n *Node) setPeerState(p *peer, st string) {
	if p.state == st {
		return
	}
	p.state = st
	p.stateSince = n.now
	n.touch()
	n.out = append(n.out, PeerState{Node: p.name, State: st})
}
