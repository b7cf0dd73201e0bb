package daemon

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/link"
	"github.com/hbdproject/hbd/hbd/testenv"
	"github.com/hbdproject/hbd/hbd/wire"
)

// A pair of daemons whose loops run, linked by an in-process network
// that sorts datagrams as hbd/link's steering does: a routine datagram
// waits in the receiver's routine queue until its next Drain, any other
// goes to its intake at once (as a peer's own socket's reader hands it
// on). A filter may drop datagrams, or hold routine ones.

// verdict is what the pair's network does with one datagram.
type verdict int

const (
	deliverIt verdict = iota
	dropIt
)

// pairEnd is one node's links.
type pairEnd struct {
	net  *pairNet
	name string
	addr netip.AddrPort
	keys *wire.Keyring
	peer *pairEnd
	d    *Daemon
	logs *testenv.LockedBuffer

	mu      sync.Mutex
	routine []link.Packet
	drains  atomic.Int64
	// deaf, when set, makes Drain give nothing (a drain skipped): to
	// check that a test can fail.
	deaf atomic.Bool
	// wall, when set, stamps what Drain gives as hbd/link does under a
	// wall clock that steps (wallClock).
	wall atomic.Pointer[wallClock]
}

type pairNet struct {
	mu sync.Mutex
	// filter, when set, decides each datagram (from the sender's name).
	filter func(from string, routine bool, m *wire.Message) verdict
	// alter, when set, may change a datagram (from the sender's name):
	// when it says so, m is signed again and sent in its place.
	alter func(from string, m *wire.Message) bool
}

func (e *pairEnd) Send(b []byte) {
	routine := bytes.HasPrefix(b, []byte(wire.RoutinePrefix))
	m, err := e.keys.Decode(b)
	if err != nil {
		panic("undecodable datagram: " + err.Error())
	}
	e.net.mu.Lock()
	f, alter := e.net.filter, e.net.alter
	e.net.mu.Unlock()
	if f != nil && f(e.name, routine, m) == dropIt {
		return
	}
	if alter != nil && alter(e.name, m) {
		if b, err = e.keys.Encode(m); err != nil {
			panic("altered datagram: " + err.Error())
		}
	}
	for _, ln := range []string{"eth0", "eth1"} {
		p := link.Packet{Link: ln, From: e.addr, Data: bytes.Clone(b), At: time.Now()}
		to := e.peer
		if routine {
			to.mu.Lock()
			to.routine = append(to.routine, p)
			to.mu.Unlock()
			continue
		}
		to.d.intake.peer(p)
	}
}

func (e *pairEnd) SendOn(_ string, b []byte) error { e.Send(b); return nil }

func (e *pairEnd) Drain(fn func(link.Packet)) {
	e.drains.Add(1)
	if e.deaf.Load() {
		return
	}
	if w := e.wall.Load(); w != nil {
		w.drain(&e.mu, &e.routine, fn)
		return
	}
	takeRoutine(&e.mu, &e.routine, fn)
}

func (e *pairEnd) Stats() map[string]link.LinkStats {
	return map[string]link.LinkStats{"eth0": {}, "eth1": {}}
}
func (e *pairEnd) Close() error                          { return nil }
func (e *pairEnd) CloseDrain(fn func(link.Packet)) error { e.Drain(fn); return nil }
func (e *pairEnd) SharedAddress() bool                   { return false }
func (e *pairEnd) SetKeepalive(time.Duration)            {}
func (e *pairEnd) TakeFloods(dst []string) []string      { return dst }

// pairConfig is name's configuration in a pair node1/node2 where node1
// holds the group "web".
func pairConfig(name string, ka, dt time.Duration) *config.Config {
	peer := map[string]string{"node1": "192.0.2.3", "node2": "192.0.2.2"}[name]
	return &config.Config{
		ThisNode:  name,
		Nodes:     []string{"node1", "node2"},
		Keepalive: ka,
		Warntime:  dt / 2,
		Deadtime:  dt,
		Initdead:  dt,
		UDPPort:   694,
		Media: []config.Medium{
			{Kind: config.Ucast, Iface: "eth0", Addr: netip.MustParseAddr(peer), Port: 694},
			{Kind: config.Ucast, Iface: "eth1", Addr: netip.MustParseAddr(peer), Port: 694},
		},
		Groups: []config.Group{{Preferred: "node1", Resources: []config.Resource{{Spec: "web", Name: "web",
			Script: config.Script{Kind: config.ScriptFile, Path: "/bin/true"}}}}},
		Auth: config.Auth{Active: 1, Keys: []config.Key{{Index: 1, Method: "sha1", Secret: "a secret long enough"}}},
	}
}

type pairRig struct {
	t     *testing.T
	net   *pairNet
	ends  [2]*pairEnd
	rigs  [2]*loopRig
	start time.Time
}

// newPair starts node1, then node2 a little later.
func newPair(t *testing.T, ka, dt time.Duration) *pairRig {
	t.Helper()
	p := &pairRig{t: t, net: &pairNet{}, start: time.Now()}
	for i, name := range []string{"node1", "node2"} {
		cfg := pairConfig(name, ka, dt)
		d, _, logs := newTestDaemon(t, cfg, &fakeRunner{})
		d.id = Identity{Generation: uint64(10 + i)}
		if err := d.newCore(); err != nil {
			t.Fatal(err)
		}
		addr := map[string]string{"node1": "192.0.2.2:694", "node2": "192.0.2.3:694"}[name]
		e := &pairEnd{net: p.net, name: name, addr: netip.MustParseAddrPort(addr), keys: d.keys, d: d, logs: logs}
		d.links = e
		p.ends[i] = e
	}
	p.ends[0].peer, p.ends[1].peer = p.ends[1], p.ends[0]
	for i, e := range p.ends {
		p.rigs[i] = startLoopRig(t, e.d, nil, nil)
		if i == 0 {
			time.Sleep(dt / 4)
		}
	}
	return p
}

// status is node i's `hbd status`.
func (p *pairRig) status(i int) cluster.Status {
	c := ctlCall{req: ctl.Request{Cmd: "status"}, reply: make(chan ctl.Response, 1)}
	p.ends[i].d.calls <- c
	r := <-c.reply
	var st ctl.Status
	if err := json.Unmarshal(r.Data, &st); err != nil {
		p.t.Fatal(err)
	}
	return st.Cluster
}

// waitQuiet waits until node2 is quiet in node1's eyes.
func (p *pairRig) waitQuiet(within time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		st := p.status(0)
		if len(st.Peers) == 1 && st.Peers[0].Quiet > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("node2 never quiet in node1's eyes within %s\nnode1:\n%s\nnode2:\n%s", within, p.ends[0].logs, p.ends[1].logs)
}

// deaths is the lines of node i's log that declare a node or link dead.
func (p *pairRig) deaths(i int) []string {
	var out []string
	for _, l := range strings.Split(p.ends[i].logs.String(), "\n") {
		if strings.Contains(l, "Received shutdown notice") || strings.Contains(l, "shutdown in progress") {
			break // the test's end
		}
		if strings.Contains(l, "is dead") || strings.Contains(l, " dead.") {
			out = append(out, l)
		}
	}
	return out
}
