// Package vnet is the virtual network that cluster cores run on in tests:
// the simulation (hbd/sim) and the scenario files (hbd/cluster). It holds
// three things:
//
//   - Queue, the timed events of a virtual clock (packet deliveries among
//     them), popped in time order and, at equal times, in the order they
//     were pushed, so that a run replays exactly;
//   - Net, which nodes hear each other: every pair, unless a partition
//     puts them on different sides or a cut separates the two; and, as
//     faults of their own, one-way cuts (one node stops hearing another,
//     which still hears it) and link cuts (one link fails between two
//     nodes while the others carry their packets);
//   - Net.Send, the fan-out of one packet to every node that hears its
//     sender, link by link and copy by copy, through a Model of loss,
//     duplication and delay that the caller supplies (seeded randomness
//     in the simulation, a fixed delay in the scenarios).
//
// It knows nothing of messages or cores: nodes are numbers 0..n-1, links
// are names, and what travels is up to the caller's deliver function.
package vnet

import (
	"container/heap"
	"time"
)

// Queue holds values due at points of virtual time. The zero value is an
// empty queue.
type Queue[T any] struct {
	h    entries[T]
	seq  uint64
	zero T
}

type entry[T any] struct {
	at  time.Time
	seq uint64 // push order: breaks ties between equal times
	v   T
}

// Push adds v, due at at.
func (q *Queue[T]) Push(at time.Time, v T) {
	q.seq++
	heap.Push(&q.h, entry[T]{at: at, seq: q.seq, v: v})
}

// Pop removes and returns the earliest value (of those due at the same
// time, the first pushed) and its time. It returns ok false when the
// queue is empty.
func (q *Queue[T]) Pop() (at time.Time, v T, ok bool) {
	if len(q.h) == 0 {
		return time.Time{}, q.zero, false
	}
	e := heap.Pop(&q.h).(entry[T])
	return e.at, e.v, true
}

// Next is the time of the value Pop would return, or ok false when the
// queue is empty.
func (q *Queue[T]) Next() (at time.Time, ok bool) {
	if len(q.h) == 0 {
		return time.Time{}, false
	}
	return q.h[0].at, true
}

// Len is the number of values in the queue.
func (q *Queue[T]) Len() int { return len(q.h) }

// entries is a min-heap of entries ordered by time, then push order.
type entries[T any] []entry[T]

func (h entries[T]) Len() int { return len(h) }
func (h entries[T]) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h entries[T]) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *entries[T]) Push(x any)   { *h = append(*h, x.(entry[T])) }
func (h *entries[T]) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// Net is which of nodes 0..n-1 hear each other, on which links.
type Net struct {
	nodes int
	links []string
	side  []bool          // during a partition, each node's side; nil otherwise
	cut   map[[2]int]bool // pairs (both orders) cut apart
	// Faults with their own end (CutOneWay, CutLink): counts, so that
	// overlapping ones end one by one.
	oneWay  map[[2]int]int   // from, to
	linkCut map[linkEnds]int // from, to, link (both orders)
}

type linkEnds struct {
	from, to int
	link     string
}

// New returns a network of nodes nodes joined by every one of links, with
// no partition and no cut.
func New(nodes int, links ...string) *Net {
	return &Net{nodes: nodes, links: append([]string(nil), links...), cut: map[[2]int]bool{}}
}

// Links are the network's links, in the order given to New.
func (n *Net) Links() []string { return n.links }

// Partition splits the nodes in two: node i is on side side[i], and only
// nodes on the same side hear each other until Heal. Cuts stay as they are.
func (n *Net) Partition(side []bool) { n.side = append([]bool(nil), side...) }

// Cut separates nodes a and b (both ways) until Heal.
func (n *Net) Cut(a, b int) {
	n.cut[[2]int{a, b}] = true
	n.cut[[2]int{b, a}] = true
}

// Heal ends the partition and every cut.
func (n *Net) Heal() {
	n.side = nil
	n.cut = map[[2]int]bool{}
}

// CutOneWay makes node to stop hearing node from (from still hears to)
// until MendOneWay. Heal does not end it.
func (n *Net) CutOneWay(from, to int) {
	if n.oneWay == nil {
		n.oneWay = map[[2]int]int{}
	}
	n.oneWay[[2]int{from, to}]++
}

// MendOneWay ends one CutOneWay(from, to).
func (n *Net) MendOneWay(from, to int) {
	k := [2]int{from, to}
	if n.oneWay[k]--; n.oneWay[k] <= 0 {
		delete(n.oneWay, k)
	}
}

// CutLink makes link carry nothing between nodes a and b (both ways)
// until MendLink; their other links still do. Heal does not end it.
func (n *Net) CutLink(a, b int, link string) {
	if n.linkCut == nil {
		n.linkCut = map[linkEnds]int{}
	}
	n.linkCut[linkEnds{a, b, link}]++
	n.linkCut[linkEnds{b, a, link}]++
}

// MendLink ends one CutLink(a, b, link).
func (n *Net) MendLink(a, b int, link string) {
	for _, k := range []linkEnds{{a, b, link}, {b, a, link}} {
		if n.linkCut[k]--; n.linkCut[k] <= 0 {
			delete(n.linkCut, k)
		}
	}
}

// Reaches reports whether some link carries a packet from node from to
// node to.
func (n *Net) Reaches(from, to int) bool {
	if !n.Hears(from, to) {
		return false
	}
	for _, l := range n.links {
		if n.linkCut[linkEnds{from, to, l}] == 0 {
			return true
		}
	}
	return false
}

// Hears reports whether a packet from node from can reach node to, on
// the links that are not cut between them (Reaches: on any link).
func (n *Net) Hears(from, to int) bool {
	if n.oneWay[[2]int{from, to}] > 0 {
		return false
	}
	if n.side != nil && n.side[from] != n.side[to] {
		return false
	}
	return !n.cut[[2]int{from, to}]
}

// Model decides what the network does to the packets of one Send.
type Model interface {
	// Arrive returns which of links (those the packet is sent on) carry
	// a copy of it to node to; the others lose theirs. It must not modify
	// links.
	Arrive(from, to int, links []string) []string
	// Copies is how many times a packet that arrives on a link is
	// delivered there: 1, or more when the network duplicates it.
	Copies() int
	// Delay is the one-way delay of one delivered copy.
	Delay() time.Duration
}

// Send fans a packet from node from out: sent on link (every link when
// link is ""), it goes to each other node that hears from, in node order;
// for each, m.Arrive picks the links it arrives on, m.Copies how often it
// is delivered on each, and each delivery is handed to deliver with its
// delay m.Delay(), in that order (so a seeded Model draws its numbers in
// a fixed order).
func (n *Net) Send(from int, link string, m Model, deliver func(to int, link string, after time.Duration)) {
	sendOn := n.links
	if link != "" {
		sendOn = nil
		for _, l := range n.links {
			if l == link {
				sendOn = append(sendOn, l)
			}
		}
	}
	for to := 0; to < n.nodes; to++ {
		if to == from || !n.Hears(from, to) {
			continue
		}
		on := sendOn
		if len(n.linkCut) > 0 {
			on = nil
			for _, l := range sendOn {
				if n.linkCut[linkEnds{from, to, l}] == 0 {
					on = append(on, l)
				}
			}
			if len(on) == 0 {
				continue
			}
		}
		for _, l := range m.Arrive(from, to, on) {
			for range m.Copies() {
				deliver(to, l, m.Delay())
			}
		}
	}
}

// Fixed is a Model of a perfect network: every packet arrives on every
// link it is sent on, once, after the same delay.
type Fixed time.Duration

// Arrive returns every link.
func (Fixed) Arrive(_, _ int, links []string) []string { return links }

// Copies is 1.
func (Fixed) Copies() int { return 1 }

// Delay is the fixed delay.
func (f Fixed) Delay() time.Duration { return time.Duration(f) }
