package cluster

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/wire"
)

// scenOutput is what one scenario command printed, by section.
type scenOutput struct {
	status   []string
	actions  []string
	log      []string
	messages []string
}

// lines is the command's expected output: status lines, then each
// non-empty section under its heading.
func (o scenOutput) lines() []string {
	out := append([]string(nil), o.status...)
	for _, sec := range []struct {
		name  string
		lines []string
	}{{"actions:", o.actions}, {"log:", o.log}, {"messages:", o.messages}} {
		if len(sec.lines) > 0 {
			out = append(out, sec.name)
			out = append(out, sec.lines...)
		}
	}
	return out
}

// scenNoise are the log lines left out of the output: the membership
// chatter every tick or packet produces, and what the actions show
// already (a restart: the GENERATIONS action).
var scenNoise = []string{"Link ", "Status update for node", "lost packet", "No pkts missing", "Local status now set to", "Deadtime value may be too small", "Heartbeat restart on node", "replayed or duplicate"}

// scenQuiet are the message types left out: heartbeats and the
// retransmission protocol.
var scenQuiet = map[string]bool{wire.TStatus: true, "NS_ackmsg": true, "NS_rexmit": true, "reqnodes": true, "repnodes": true}

// step feeds ev to node n's core, sends its messages on the virtual
// network and prints what it did.
func (s *scenario) step(n *scenNode, ev Event) {
	if n == nil || !n.alive {
		return
	}
	at := "+" + fmtSecs(s.now.Sub(t0)) + " " + n.name + " "
	act := func(format string, args ...any) {
		s.out.actions = append(s.out.actions, at+fmt.Sprintf(format, args...))
	}
	for _, a := range n.core.Step(ev) {
		switch a := a.(type) {
		case *Send:
			s.transmit(n.name, a.Link, a.Msg)
			s.sent[sentKey(n.name, a.Msg.Value(wire.FType), a.Msg.Value(wire.FInfo))] = scenMsg{link: a.Link, msg: a.Msg.Clone()}
			if s.retransmission(n, a.Msg) {
				continue
			}
			if !scenQuiet[a.Msg.Value(wire.FType)] {
				s.out.messages = append(s.out.messages, at+"send "+ownFields(a.Msg))
			}
		case Log:
			noise := false
			for _, x := range scenNoise {
				noise = noise || strings.Contains(a.Msg, x)
			}
			if !noise {
				s.out.log = append(s.out.log, at+a.Level.String()+": "+a.Msg)
			}
		case StartGroup:
			n.pending[a.Group] = OpStart
			act("START %s%s", a.Group, specTail(a.Group, a.Spec))
		case StopGroup:
			n.pending[a.Group] = OpStop
			act("STOP %s%s%s%s", a.Group, specTail(a.Group, a.Spec), drainTail(a.Drain), takerTail(a.Taker))
		case ProbeGroup:
			n.pending[a.Group] = OpProbe
			act("PROBE %s%s", a.Group, specTail(a.Group, a.Spec))
		case PrepareGroup:
			act("PREPARE %s%s from %s", a.Group, specTail(a.Group, a.Spec), a.From)
		case AbandonStart:
			act("ABANDON %s (%s heard again)", a.Group, a.Peer)
		case WatchGroup:
			act("WATCH %s", a.Group)
		case UnwatchGroup:
			act("UNWATCH %s", a.Group)
		case Reannounce:
			act("REANNOUNCE %s", a.Group)
		case Fence:
			act("FENCE %s", a.Node)
		case PeerState:
			act("PEER %s %s", a.Node, a.State)
		case RunHook:
			act("HOOK %s src=%s", a.Event, a.Fields[wire.FSrc])
		case PersistSettings:
			n.settings = a.Settings
			act("SETTINGS %s", settingsText(a.Settings))
		case PeerGenerations:
			act("GENERATIONS %s", peersOf(a.Generations))
		case Exit:
			n.alive = false
			act("EXIT")
		default:
			act("%T %+v", a, a)
		}
	}
}

// retransmission: node n sent m's seq before (in this run of its
// daemon), so m is resent on a peer's request (NS_rexmit); it records
// the seq otherwise.
func (s *scenario) retransmission(n *scenNode, m *wire.Message) bool {
	seq, err := m.HexValue(wire.FSeq)
	if err != nil {
		return false // no seq (NS_ messages)
	}
	if seq <= n.lastSeq {
		return true
	}
	n.lastSeq = seq
	return false
}

// specTail shows a group action's definition when it is more than its key
// (or, wrongly, not its key at all).
func specTail(key string, g config.Group) string {
	if len(g.Resources) == 1 && g.Key() == key {
		return ""
	}
	var rs []string
	for _, r := range g.Resources {
		rs = append(rs, r.Spec)
	}
	return " (" + strings.Join(rs, " ") + ")"
}

func fmtSecs(d time.Duration) string {
	return fmt.Sprintf("%d.%03ds", d/time.Second, (d%time.Second)/time.Millisecond)
}

// scenVolatile are the message fields left out of the output: those
// every message carries, and the counters that differ with every run or
// every announcement (sequence numbers, generations, timestamps, epochs).
var scenVolatile = map[string]bool{
	wire.FSrc: true, wire.FSrcUUID: true, wire.FSeq: true, wire.FGeneration: true,
	wire.FTimestamp: true, wire.FLoad: true, wire.FTTL: true, wire.FDestUUID: true,
	wire.FAckSeq: true, wire.FFirstSeq: true, wire.FLastSeq: true, wire.FHbdEpoch: true,
	wire.FHbdQuietMax: true,
}

// ownFields renders a message without its volatile fields; hbd_seen
// keeps the peers without their epochs, hbd_settings the settings
// without their versions.
func ownFields(m *wire.Message) string {
	var b strings.Builder
	for _, f := range m.Fields {
		if scenVolatile[f.Name] {
			continue
		}
		v := string(f.Value)
		switch f.Name {
		case wire.FHbdSeen:
			v = withoutEpochs(v)
		case wire.FHbdSettings:
			v = withoutVersions(v)
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%s", f.Name, v)
	}
	return b.String()
}

// withoutEpochs turns hbd_seen's NODE:EPOCH|… into NODE|….
func withoutEpochs(seen string) string {
	parts := strings.Split(seen, "|")
	for i, p := range parts {
		parts[i], _, _ = strings.Cut(p, ":")
	}
	return strings.Join(parts, "|")
}

// withoutVersions turns hbd_settings' KIND:VALUE:VERSION:ORIGIN:NAME|…
// into KIND:VALUE:ORIGIN:NAME|… (a malformed setting stays as it is).
func withoutVersions(settings string) string {
	ss, err := ParseSettings(settings)
	if err != nil || len(ss) == 0 {
		return settings
	}
	return settingsText(ss)
}

// settingsText renders settings without their versions.
func settingsText(ss []Setting) string {
	var parts []string
	for _, st := range ss {
		parts = append(parts, st.Kind+":"+st.Value+":"+st.Origin+":"+st.Name)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "|")
}

// peersOf lists the peers of a generation map, without the generations.
func peersOf(gens map[string]uint64) string {
	var names []string
	for n := range gens {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// drainTail is " drain=D" for a planned release that drains
// (StopGroup.Drain), "" for one at once.
func drainTail(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return " drain=" + d.String()
}

// takerTail is " to=PEER" for a planned release with a live peer to
// take the group (StopGroup.Taker), "" for one without.
func takerTail(peer string) string {
	if peer == "" {
		return ""
	}
	return " to=" + peer
}
