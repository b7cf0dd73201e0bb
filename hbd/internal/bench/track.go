//go:build linux

package bench

import (
	"time"

	"github.com/hbdproject/hbd/hbd/netlab"
)

// Tracked is what a run's exact record of the address (netlab.TrackAddr:
// the kernel's own notifications of each add and remove) says, from the
// action to the end of the observation; zero when it was not recorded.
type Tracked struct {
	// Dark: the address on no node; Both: on both nodes (heard or not).
	Dark, Both time.Duration
	// Moves: how many times the set of holders changed.
	Moves int
	// Causes counts the failed requests by what they met
	// (netlab.FailureCause).
	Causes map[netlab.Cause]int
}

// Handover is how many failed requests the address's moves explain (or
// nothing explains): every failure but the stalls with the address in
// place.
func (t Tracked) Handover() int {
	n := 0
	for c, k := range t.Causes {
		if c.Handover() {
			n += k
		}
	}
	return n
}

// Track computes a run's Tracked figures from the probes and the exact
// spans of the address's holders (netlab.HolderSpans), from from to end.
func Track(probes []netlab.Probe, spans []netlab.Span, from, end time.Time) Tracked {
	var t Tracked
	for i, sp := range spans {
		a, b := sp.Start, sp.End
		if a.Before(from) {
			a = from
		}
		if b.After(end) {
			b = end
		}
		if i > 0 && !sp.Start.Before(from) && !sp.Start.After(end) {
			t.Moves++
		}
		if !b.After(a) {
			continue
		}
		switch len(sp.Holders) {
		case 0:
			t.Dark += b.Sub(a)
		case 1:
		default:
			t.Both += b.Sub(a)
		}
	}
	for _, p := range between(probes, from, end) {
		if p.OK() {
			continue
		}
		if t.Causes == nil {
			t.Causes = map[netlab.Cause]int{}
		}
		t.Causes[netlab.FailureCause(p, spans, probes)]++
	}
	return t
}
