package daemon

import (
	"bytes"
	"cmp"
	"slices"

	"github.com/hbdproject/hbd/hbd/wire"
)

// The order in which a wake-up's messages reach the core (collect).
//
// A peer's messages come by several ways: its own socket, read at once;
// its routine socket, read at this node's wake-ups (or at once in a
// flood); each link. Their arrival stamps (link.Packet.At) come from the
// kernel's wall-clock stamps, so a clock step, or a reader that stalls
// longer than the kernel stamp is trusted, can put a later message of a
// peer before an earlier one. The order the peer sent them in is its seq
// (in its generation hg): authenticated, as only verified messages are
// ordered, and what the core's lost-packet accounting counts by. So a
// wake-up's messages are sorted by arrival, and then each peer's messages
// (those with a seq: not the NS_ ones, which carry none and whose
// handling does not depend on their order) are put in the order sent
// into the places its messages took: another peer's keep their places.
//
// A peer's message may also still be on its way while a later one is in
// the batch: read from the other socket after it, or in a reader's hands.
// A batch that holds a gap in a peer's seqs (after the last one stepped)
// is collected once more (collectFrom): whatever the peer sent before a
// message in hand arrived before it, so by then it has been read (or was
// lost, which the core logs as before).

// sendKey is when a message was sent, as its sender counts: seq in
// generation gen; seq 0 for a message without one (NS_, or malformed:
// the core drops it).
func sendKey(m *wire.Message) (gen, seq uint64) {
	if t, _ := m.Bytes(wire.FType); bytes.HasPrefix(t, []byte("NS_")) {
		return 0, 0
	}
	if _, ok := m.Bytes(wire.FSeq); !ok {
		return 0, 0
	}
	seq, err := m.HexValue(wire.FSeq)
	if err != nil {
		return 0, 0
	}
	if _, ok := m.Bytes(wire.FGeneration); ok {
		if gen, err = m.HexValue(wire.FGeneration); err != nil {
			return 0, 0
		}
	}
	return gen, seq
}

// orderKey is one message of a batch with a seq: where it is, whose it
// is and when it was sent.
type orderKey struct {
	pos      int
	src      []byte // the message's own storage: valid while the batch is
	gen, seq uint64
}

// lastSent is the last message of a node given to the core: the
// highest seq of its highest generation.
type lastSent struct {
	name     string
	gen, seq uint64
}

// sendOrder puts a batch of messages in the order their senders sent
// them and remembers each configured node's last one. Its slices are kept
// from one batch to the next: ordering allocates nothing once they have
// grown.
type sendOrder struct {
	keys  []orderKey
	slots []int
	moved []received
	// nodes and self are the configuration's node list and this node's
	// name last seen, last the message last given to the core of each
	// peer.
	nodes []string
	self  string
	last  []lastSent
}

// arrange sorts rs by arrival, then each node's messages by seq into
// the places its messages took, and says whether a peer's seqs have a
// gap: one after the last message of that peer given to the core is
// missing, or between two of rs. Only the peers of setPeers are looked
// for gaps (the core drops a stranger's messages, and this node's own
// that a bcast link hears back).
func (o *sendOrder) arrange(rs []received) (gap bool) {
	if len(rs) > 1 {
		slices.SortStableFunc(rs, func(a, b received) int { return a.At.Compare(b.At) })
	}
	o.keys = o.keys[:0]
	for i, r := range rs {
		if r.Seq == 0 {
			continue
		}
		src, _ := r.Msg.Bytes(wire.FSrc)
		o.keys = append(o.keys, orderKey{pos: i, src: src, gen: r.Gen, seq: r.Seq})
	}
	if len(o.keys) > 1 {
		slices.SortFunc(o.keys, func(a, b orderKey) int {
			return cmp.Or(bytes.Compare(a.src, b.src), cmp.Compare(a.gen, b.gen), cmp.Compare(a.seq, b.seq), cmp.Compare(a.pos, b.pos))
		})
	}
	for i := 0; i < len(o.keys); {
		j := i + 1
		for j < len(o.keys) && bytes.Equal(o.keys[j].src, o.keys[i].src) {
			j++
		}
		o.place(rs, o.keys[i:j])
		if l := o.lastOf(o.keys[i].src); l != nil && hasGap(*l, o.keys[i:j]) {
			gap = true
		}
		i = j
	}
	return gap
}

// place puts one node's messages (ks, in the order sent) into the places
// they took in rs, in that order.
func (o *sendOrder) place(rs []received, ks []orderKey) {
	if len(ks) < 2 {
		return
	}
	o.slots, o.moved = o.slots[:0], o.moved[:0]
	for _, k := range ks {
		o.slots = append(o.slots, k.pos)
		o.moved = append(o.moved, rs[k.pos])
	}
	slices.Sort(o.slots)
	for i, pos := range o.slots {
		rs[pos] = o.moved[i]
		ks[i].pos = pos
	}
	clear(o.moved) // keeps no message
}

// hasGap says whether ks (one node's messages, in the order sent) miss a
// seq after l, the node's last message given to the core: of l's
// generation, or of a newer one after its first message (a restart, whose
// earlier seqs this node cannot know of). Older generations and seqs seen
// already are the core's to drop.
func hasGap(l lastSent, ks []orderKey) bool {
	gen, next := l.gen, l.seq+1 // next 1: none known (seqs start above 0)
	known := l.seq != 0
	for _, k := range ks {
		switch {
		case k.gen < gen:
			continue
		case k.gen > gen:
			gen, next, known = k.gen, k.seq+1, true
			continue
		}
		if known && k.seq > next {
			return true
		}
		if k.seq >= next {
			next = k.seq + 1
		}
		known = true
	}
	return false
}

// given records that the messages of the last arrange are given to the
// core: each node's last one becomes its highest (gen, seq).
func (o *sendOrder) given() {
	for _, k := range o.keys {
		l := o.lastOf(k.src)
		if l == nil {
			continue
		}
		if k.gen > l.gen || (k.gen == l.gen && k.seq > l.seq) {
			l.gen, l.seq = k.gen, k.seq
		}
	}
	clear(o.keys) // keeps no message's storage
	o.keys = o.keys[:0]
}

// lastOf is the record of the peer named src, nil for another node.
func (o *sendOrder) lastOf(src []byte) *lastSent {
	for i := range o.last {
		if o.last[i].name == string(src) {
			return &o.last[i]
		}
	}
	return nil
}

// setPeers makes the records those of the configured nodes but self (a
// reload may change them), keeping what they knew of the peers still
// configured.
func (o *sendOrder) setPeers(nodes []string, self string) {
	if o.self == self && slices.Equal(nodes, o.nodes) {
		return
	}
	last := make([]lastSent, 0, len(nodes))
	for _, n := range nodes {
		if n == self {
			continue
		}
		l := lastSent{name: n}
		if old := o.lastOf([]byte(n)); old != nil {
			l = *old
		}
		last = append(last, l)
	}
	o.nodes, o.self, o.last = slices.Clone(nodes), self, last
}
