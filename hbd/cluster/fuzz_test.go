package cluster

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/wire"
)

// fuzzConfig is a three-node cluster on two links with two groups, so
// that membership, retransmission and resource messages all reach code.
func fuzzConfig(this string) *config.Config {
	c := testConfig(this, "eth0", "eth1")
	c.Nodes = []string{"node1", "node2", "node3"}
	c.AutoFailback = config.FailbackOn
	for i, pref := range []string{"node1", "node2"} {
		spec := []string{"IPaddr::10.99.0.100/24/eth0", "IPaddr::10.99.0.101/24/eth0"}[i]
		c.Groups = append(c.Groups, config.Group{Preferred: pref, Resources: []config.Resource{
			{Spec: spec, Name: "IPaddr", Args: []string{strings.TrimPrefix(spec, "IPaddr::")}},
		}})
	}
	return c
}

// fuzzSeeds are real conversations: what node2 and node3 send during
// their first seconds in a three-node cluster (status, acks, node lists,
// resource announcements and handshakes), as the classic text format,
// each message preceded by its control byte (see FuzzStep) — node2's,
// node3's and both; plus messages from an unknown node and of an old
// generation.
func fuzzSeeds() [][]byte {
	names := []string{"node1", "node2", "node3"}
	nodes := make([]*Node, len(names))
	for k, name := range names {
		nodes[k] = New(Options{Config: fuzzConfig(name), UUID: [16]byte{byte(k)}, Generation: 0x6b020200 + uint64(k)<<8, Now: t0})
	}
	conv := make([][]byte, len(names))
	var all []byte
	last := t0
	record := func(from int, at time.Time, s *Send) {
		ctl := byte(min(at.Sub(last)/(100*time.Millisecond), 63)) << 2
		if s.Link == "eth1" {
			ctl |= 1
		}
		last = at
		b, err := s.Msg.AppendClassic([]byte{ctl})
		if err != nil {
			panic(err)
		}
		conv[from] = append(conv[from], b...)
		all = append(all, b...)
	}
	// Every message reaches every other node at once, on eth0; group
	// operations succeed at once.
	var deliver func(from int, at time.Time, acts []Action)
	deliver = func(from int, at time.Time, acts []Action) {
		for _, a := range acts {
			switch a := a.(type) {
			case *Send:
				if from != 0 {
					record(from, at, a)
				}
				for to := range nodes {
					if to != from {
						deliver(to, at, nodes[to].Step(Receive{Now: at, Link: "eth0", Msg: a.Msg}))
					}
				}
			case StartGroup:
				deliver(from, at, nodes[from].Step(OpDone{Now: at, Group: a.Group, Op: OpStart, Result: ResultOK}))
			case StopGroup:
				deliver(from, at, nodes[from].Step(OpDone{Now: at, Group: a.Group, Op: OpStop, Result: ResultOK}))
			case ProbeGroup:
				deliver(from, at, nodes[from].Step(OpDone{Now: at, Group: a.Group, Op: OpProbe, Result: ResultStopped}))
			}
		}
	}
	for at := t0; at.Before(t0.Add(15 * time.Second)); at = at.Add(100 * time.Millisecond) {
		for k, n := range nodes {
			deliver(k, at, n.Step(Tick{Now: at, Load: testLoad}))
		}
	}
	seeds := [][]byte{conv[1], conv[2]}
	seeds = append(seeds, all)
	unknown := peerMsg(0x6b020100, 1, t0, "t", "status", "st", "up")
	unknown.Set(wire.FSrc, "node9")
	stale := peerMsg(0x6b020001, 7, t0, "t", "status", "st", "active")
	for _, s := range []struct {
		before []byte
		m      *wire.Message
	}{{nil, unknown}, {seeds[0], unknown}, {seeds[0], stale}} {
		b, err := s.m.AppendClassic(append(slices.Clip(s.before), 0))
		if err != nil {
			panic(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

// FuzzStep feeds node1's core arbitrary decoded messages. The input is a
// sequence of a control byte (bit 0: the link; bits 2-7: how many tenths
// of a second pass first, with a Tick) and a message in the classic text
// format; it ends at the first that does not parse. After every step:
// no panic, state bounded by the configuration (peers, links, history,
// missing seqs, remembered unknown nodes, announced groups), and a
// message from a node that is not in ha.cf, or of a generation older
// than the peer's current one, leads to no action but a log line; and
// no tick skips a reconcile that had something to do (CheckSkips).
func FuzzStep(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzStep(t, data) })
}

// fuzzRun is what one FuzzStep input did.
type fuzzRun struct {
	node                  *Node
	received, ignoredOnly int // messages, of which unknown or stale
}

func fuzzStep(t *testing.T, data []byte) fuzzRun {
	cfg := fuzzConfig("node1")
	links := []string{"eth0", "eth1"}
	n := New(Options{Config: cfg, UUID: uuid1, Generation: 0x6b020200, Now: t0, CheckSkips: true})
	run := fuzzRun{node: n}
	// A core that never returns from Step is a hung daemon: crash the
	// process (the fuzzer keeps the input) rather than wait forever.
	hung := time.AfterFunc(10*time.Second, func() { panic("FuzzStep: the core did not return within 10 s") })
	defer hung.Stop()
	now := t0
	n.Step(Tick{Now: now, Load: testLoad})
	checkBounded(t, n, cfg)
	for i := 0; len(data) > 1 && i < 300; i++ {
		ctl := data[0]
		m, rest, err := wire.ParseClassic(data[1:])
		if err != nil || m == nil {
			break
		}
		data = rest
		if adv := time.Duration(ctl>>2) * 100 * time.Millisecond; adv > 0 {
			now = now.Add(adv)
			n.Step(Tick{Now: now, Load: testLoad})
			checkBounded(t, n, cfg)
		}
		src := m.Value(wire.FSrc)
		_, genBefore, _ := n.PeerView(src)
		hg, hgErr := wire.ParseHex(m.Value(wire.FGeneration))
		acts := n.Step(Receive{Now: now, Link: links[ctl&1], Msg: m})
		run.received++
		checkBounded(t, n, cfg)
		unknown := !slices.Contains(cfg.Nodes, src)
		stale := !unknown && src != cfg.ThisNode && hgErr == nil && hg < genBefore
		if !unknown && !stale {
			continue
		}
		run.ignoredOnly++
		for _, a := range acts {
			if _, ok := a.(Log); !ok {
				t.Fatalf("message %d from %q (unknown %v, hg %x < %x %v) led to %T %+v", i, src, unknown, hg, genBefore, stale, a, a)
			}
		}
	}
	return run
}

// TestFuzzSeedsReachTheCore: the seed conversations parse and make
// node1 see its peers, and the unknown and stale messages are judged, so
// that FuzzStep starts from inputs that reach the core's code.
func TestFuzzSeedsReachTheCore(t *testing.T) {
	seeds := fuzzSeeds()
	run := fuzzStep(t, seeds[2])
	for _, p := range []string{"node2", "node3"} {
		if st, _, _ := run.node.PeerView(p); st != StateUp && st != StateActive {
			t.Errorf("after both conversations node1 sees %s as %q", p, st)
		}
	}
	if run.received < 50 {
		t.Errorf("only %d messages received", run.received)
	}
	for _, s := range seeds[3:] {
		if r := fuzzStep(t, s); r.ignoredOnly != 1 {
			t.Errorf("seed judged %d unknown or stale messages, want 1", r.ignoredOnly)
		}
	}
}

// checkBounded: the core's state stays within what its configuration
// allows, whatever its peers send.
func checkBounded(t *testing.T, n *Node, cfg *config.Config) {
	t.Helper()
	if got, max := len(n.peers), len(cfg.Nodes)-1; got > max {
		t.Fatalf("%d peers, the configuration has %d", got, max)
	}
	if len(n.hist) > HistorySize {
		t.Fatalf("history holds %d messages, bound %d", len(n.hist), HistorySize)
	}
	if len(n.unknown) > MaxUnknownNodes {
		t.Fatalf("%d unknown nodes remembered, bound %d", len(n.unknown), MaxUnknownNodes)
	}
	groups := len(cfg.Groups)
	for _, p := range n.peers {
		if !slices.Contains(cfg.Nodes, p.name) {
			t.Fatalf("peer %q is not in the configuration", p.name)
		}
		if len(p.links) > len(cfg.Media) {
			t.Fatalf("peer %s has %d links, the configuration %d", p.name, len(p.links), len(cfg.Media))
		}
		if len(p.missing) > MaxMissing {
			t.Fatalf("peer %s: %d missing seqs, bound %d", p.name, len(p.missing), MaxMissing)
		}
		for what, m := range map[string]int{"held": len(p.rsc.held), "starting": len(p.rsc.starting), "standby": len(p.rsc.standby), "failed": len(p.rsc.failed), "stuck": len(p.rsc.stuck), "want": len(p.rsc.want)} {
			if m > groups {
				t.Fatalf("peer %s: %d groups remembered as %s, the configuration has %d", p.name, m, what, groups)
			}
		}
	}
	if len(n.res.standbyFrom) > len(cfg.Nodes) || len(n.res.takeovers) > len(cfg.Nodes) {
		t.Fatalf("standby requests from %d nodes, takeovers of %d, the configuration has %d", len(n.res.standbyFrom), len(n.res.takeovers), len(cfg.Nodes))
	}
	st := n.Status()
	if len(st.Peers) > len(cfg.Nodes)-1 || len(st.Groups) != groups {
		t.Fatalf("status: %d peers, %d groups", len(st.Peers), len(st.Groups))
	}
}
