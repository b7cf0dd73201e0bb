package e2e

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/wire"
)

// TestBadInput sends every kind of bad packet at a running daemon and
// checks that each is dropped, counted under its reason, logged once per
// reason (the rest are summarised a minute later), and changes nothing:
// both nodes stay active.
func TestBadInput(t *testing.T) {
	nodes := newCluster(t, []string{"node1", "node2"}, fast, "")
	n1, n2 := nodes[0], nodes[1]
	n1.start()
	n2.start()
	waitFor(t, 10*time.Second, "both nodes active", func() bool {
		return n1.peerState("node2") == "active" && n2.peerState("node1") == "active"
	})
	before, err := n1.status()
	if err != nil {
		t.Fatal(err)
	}
	var gen, seenSeq uint64
	for _, p := range before.Cluster.Peers {
		if p.Name == "node2" {
			gen, seenSeq = p.Generation, p.Seq
		}
	}
	if seenSeq < 2 {
		t.Fatalf("node1 has seen only seq %d of node2", seenSeq)
	}

	good, err := wire.NewKeyring(1, []wire.Key{{Index: 1, Method: "sha1", Secret: "e2e-secret-0123456789"}})
	if err != nil {
		t.Fatal(err)
	}
	wrongKey, _ := wire.NewKeyring(1, []wire.Key{{Index: 1, Method: "sha1", Secret: "not-the-secret"}})
	otherIndex, _ := wire.NewKeyring(2, []wire.Key{{Index: 2, Method: "sha1", Secret: "e2e-secret-0123456789"}})

	status := func(src string, hg, seq uint64) *wire.Message {
		m := &wire.Message{}
		m.Set("t", "status")
		m.Set("st", "active")
		m.Set("dt", wire.Millis(fast.Deadtime))
		m.Set("protocol", "1")
		m.Set("src", src)
		m.SetUUID("srcuuid", [16]byte{1, 2, 3})
		m.SetHex("seq", seq)
		m.SetHex("hg", hg)
		m.Set("ts", wire.UnixHex(time.Now()))
		m.Set("ld", "0.00 0.00 0.00 1/1 1")
		m.Set("ttl", "3")
		return m
	}
	enc := func(kr *wire.Keyring, m *wire.Message) []byte {
		b, err := kr.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	valid := enc(good, status("node2", gen, 1))
	noTrailer := valid[:strings.Index(string(valid), "%%%\n")+len("%%%\n")]

	kinds := []struct {
		reason string // as hbd status reports it
		core   bool   // counted by the core (per peer) rather than the decoder
		data   []byte
	}{
		{"unknown-node", true, enc(good, status("intruder", 1, 1))},
		{"bad-signature", false, enc(wrongKey, status("node2", gen, 1_000_000))},
		{"no-auth", false, noTrailer},
		{"unknown-key", false, enc(otherIndex, status("node2", gen, 1_000_001))},
		{"truncated", false, valid[:len(valid)/2]},
		{"oversized", false, []byte(strings.Repeat("x", 50_000))},
		{"malformed", false, []byte("\x00\xffthis is not a heartbeat packet at all")},
		// A seq node1 has already received from node2, in node2's generation.
		{"replay", true, enc(good, status("node2", gen, seenSeq-1))},
		{"stale-generation", true, enc(good, status("node2", gen-1, 5))},
	}
	const copies = 5
	conn, err := net.Dial("udp", net.JoinHostPort(n1.addr, strconv.Itoa(n1.port())))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, k := range kinds {
		for range copies {
			if _, err := conn.Write(k.data); err != nil {
				t.Fatalf("send %s: %v", k.reason, err)
			}
			time.Sleep(2 * time.Millisecond) // never overflow the daemon's socket buffer
		}
	}

	count := func(st statusView, reason string, core bool) uint64 {
		if core {
			var n uint64
			n += st.Cluster.Dropped[reason]
			return n
		}
		var n uint64
		for _, r := range st.Rejected {
			n += r.Reasons[reason]
		}
		return n
	}
	var after statusView
	all := func() bool {
		st, err := n1.status()
		if err != nil {
			return false
		}
		after = st
		for _, k := range kinds {
			if count(after, k.reason, k.core) < copies {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(5 * time.Second); !all() && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	for _, k := range kinds {
		if got := count(after, k.reason, k.core); got != copies {
			t.Errorf("%s: counted %d, sent %d", k.reason, got, copies)
		}
	}

	// Nothing changed: both still active, no death, no restart.
	if after.Cluster.State != "active" || n1.peerState("node2") != "active" || n2.peerState("node1") != "active" {
		t.Errorf("states changed: node1 %s, node1 sees node2 %s, node2 sees node1 %s",
			after.Cluster.State, n1.peerState("node2"), n2.peerState("node1"))
	}
	for _, p := range after.Cluster.Peers {
		if p.Name == "node2" && p.Generation != gen {
			t.Errorf("node2's generation moved from %d to %d", gen, p.Generation)
		}
	}
	for _, s := range []string{"is dead", "Heartbeat restart on node"} {
		if line, _, ok := n1.logLine(s); ok {
			t.Errorf("bad packets caused %q", line)
		}
	}
	// Logged once per reason: the decoder's drops.
	for _, k := range kinds {
		if k.core {
			continue
		}
		if n := n1.countLines("Dropped packet from", k.reason); n != 1 {
			t.Errorf("%s logged %d times for %d packets, want once", k.reason, n, copies)
		}
	}
}
