package cluster

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/wire"
)

var t0 = time.Unix(0x6b02633a, 0)

const testLoad = "0.00 0.05 0.06 1/95 46"

func testConfig(this string, links ...string) *config.Config {
	if len(links) == 0 {
		links = []string{"eth0"}
	}
	c := &config.Config{
		ThisNode:  this,
		Nodes:     []string{"node1", "node2"},
		Keepalive: time.Second,
		Warntime:  2 * time.Second,
		Deadtime:  3 * time.Second,
		Initdead:  10 * time.Second,
		UDPPort:   694,
		Hopfudge:  1,
	}
	for _, l := range links {
		c.Media = append(c.Media, config.Medium{Kind: config.Ucast, Iface: l, Addr: netip.MustParseAddr("10.99.0.2"), Port: 694})
	}
	return c
}

var uuid1 = [16]byte{0xf3, 0x03, 0x48, 0xc3, 0xd2, 0x43, 0x40, 0x7a, 0xa7, 0xef, 0x00, 0x24, 0xfb, 0x4e, 0x36, 0x0c}
var uuid2 = [16]byte{0x9e, 0x6b, 0x2e, 0x1c, 0x66, 0x01, 0x49, 0x36, 0x8d, 0xef, 0x79, 0xa3, 0x19, 0x1c, 0xad, 0xc5}

func newNode1(links ...string) *Node {
	return New(Options{Config: testConfig("node1", links...), UUID: uuid1, Generation: 0x6b02633b, Now: t0})
}

// booted returns node1 after its first tick, with the actions discarded.
func booted(t *testing.T, links ...string) *Node {
	t.Helper()
	n := newNode1(links...)
	n.Step(Tick{Now: t0, Load: testLoad})
	return n
}

// render writes actions as text: "send[LINK] name=value ..." (binary
// values in hex) and "LEVEL: message".
func render(acts []Action) []string {
	var out []string
	for _, a := range acts {
		switch a := a.(type) {
		case *Send:
			out = append(out, "send"+linkTag(a.Link)+" "+fields(a.Msg))
		case Log:
			out = append(out, a.Level.String()+": "+a.Msg)
		case PeerState:
			out = append(out, "peer "+a.Node+" "+a.State)
		case RunHook:
			out = append(out, "hook "+a.Event+" from "+a.Fields["src"])
		case PeerGenerations:
			out = append(out, fmt.Sprintf("keep generations %v", a.Generations))
		default:
			out = append(out, fmt.Sprintf("%#v", a))
		}
	}
	return out
}

func linkTag(l string) string {
	if l == "" {
		return ""
	}
	return "[" + l + "]"
}

func fields(m *wire.Message) string {
	var b strings.Builder
	for i, f := range m.Fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		if f.Type == wire.Binary {
			fmt.Fprintf(&b, "%s=%x", f.Name, f.Value)
		} else {
			fmt.Fprintf(&b, "%s=%s", f.Name, f.Value)
		}
	}
	return b.String()
}

// actionsOf returns the actions of acts of type T.
func actionsOf[T Action](acts []Action) []T {
	var out []T
	for _, a := range acts {
		if x, ok := a.(T); ok {
			out = append(out, x)
		}
	}
	return out
}

func logs(acts []Action) []string {
	var out []string
	for _, a := range acts {
		if l, ok := a.(Log); ok {
			out = append(out, l.Level.String()+": "+l.Msg)
		}
	}
	return out
}

func sends(acts []Action) []*wire.Message {
	var out []*wire.Message
	for _, a := range acts {
		if s, ok := a.(*Send); ok {
			out = append(out, s.Msg)
		}
	}
	return out
}

// peerMsg builds a message as node2 (generation gen) would send it.
func peerMsg(gen, seq uint64, at time.Time, kv ...string) *wire.Message {
	m := &wire.Message{}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Set(kv[i], kv[i+1])
	}
	m.Set("src", "node2")
	m.SetBinary("srcuuid", uuid2[:])
	if seq > 0 {
		m.Set("seq", fmt.Sprintf("%x", seq))
	}
	m.Set("hg", fmt.Sprintf("%x", gen))
	m.Set("ts", fmt.Sprintf("%x", at.Unix()))
	m.Set("ttl", "3")
	return m
}

func status2(gen, seq uint64, at time.Time, st string) Receive {
	return Receive{Now: at, Link: "eth0", Msg: peerMsg(gen, seq, at, "t", "status", "st", st, "dt", "bb8", "protocol", "1")}
}

const gen2 = 0x6b02633e

func has(list []string, want string) bool {
	for _, s := range list {
		if s == want {
			return true
		}
	}
	return false
}

func wantLogs(t *testing.T, acts []Action, want ...string) {
	t.Helper()
	got := logs(acts)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("logs:\n got %q\nwant %q", got, want)
	}
}

// joined returns node1 active with node2 (gen2) heard, seq 1..3 consumed
// (on eth0; node1 has links, eth0 alone by default).
func joined(t *testing.T, links ...string) *Node {
	t.Helper()
	n := booted(t, links...)
	n.Step(status2(gen2, 1, t0.Add(100*time.Millisecond), "init"))
	n.Step(status2(gen2, 2, t0.Add(100*time.Millisecond), "up"))
	n.Step(Receive{Now: t0.Add(110 * time.Millisecond), Link: "eth0", Msg: peerMsg(gen2, 3, t0, "dest", "node1", "t", "repnodes", "nodelist", "node1 node2 ", "delnodelist", " ")})
	if n.state != StateActive {
		t.Fatalf("node1 is %s, want active", n.state)
	}
	return n
}

// advanceTo ticks the node at every NextTick up to and including until,
// as the daemon's timer would, and returns all actions.
func advanceTo(n *Node, until time.Time) []Action {
	var all []Action
	for next := n.NextTick(); !next.After(until); next = n.NextTick() {
		all = append(all, n.Step(Tick{Now: next})...)
	}
	return all
}
