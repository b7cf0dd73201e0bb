package cluster

import "github.com/hbdproject/hbd/hbd/wire"

// PeerState says a peer's state changed as this node sees it: the st of
// its status messages (init, up, active), or dead when it was declared
// dead or sent its shutdown notice. The daemon runs the rc.d/status hook
// with HA_t=status, HA_src=Node and HA_st=State, as Heartbeat does.
type PeerState struct {
	Node  string
	State string
}

// RunHook asks the daemon to run the rc.d hook named Event (harc's
// RunEvent) with Fields, the string fields of the message that caused it,
// as HA_<name> variables. The core emits it once for every accepted
// message of a type Heartbeat runs a hook for (hookEvent): never for a
// duplicate, a copy that came on another link, a replay, a stale
// generation or a message addressed to another node.
type RunHook struct {
	Event  string
	Fields map[string]string
}

func (PeerState) isAction() {}
func (RunHook) isAction()   {}

// hookEvent tells the message types for which Heartbeat runs the
// /etc/ha.d/rc.d hook of the same name.
func hookEvent(typ string) bool {
	switch typ {
	case "ask_resources", "hb_takeover", "ip-request", "ip-request-resp":
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
	n.out = append(n.out, PeerState{Node: p.name, State: st})
}
