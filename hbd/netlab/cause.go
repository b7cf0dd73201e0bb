//go:build linux

package netlab

import (
	"fmt"
	"time"
)

// Cause is what a failed request met, read from the address's holders
// (HolderSpans of TrackAddr's events) around the request's send and
// failure times.
type Cause string

// The causes, from the address moving to the address staying put.
const (
	// CauseDark: sent while the address was on no host. Its SYN reached
	// the old holder, which no longer has the address and drops it; the
	// client retries only after a second.
	CauseDark Cause = "dark"
	// CauseBoth: sent while the address was on two hosts at once.
	CauseBoth Cause = "both"
	// CauseMoved: the address moved while the request ran (after it was
	// sent, before it failed): a connection to the old holder cannot go
	// on at the new one.
	CauseMoved Cause = "moved"
	// CauseAfterMove: sent after the address's last move, with no
	// request answered since then: the client may still have been
	// pointing at the old holder (its neighbour entry not yet mended by
	// the new holder's announcement).
	CauseAfterMove Cause = "after move"
	// CauseNearMove: the address moved within MoveGuard before the
	// request was sent or after it failed. The tracked times are when
	// the notifications were read, late on a busy machine: such a
	// failure may have been in flight at the move, and it is counted
	// against the handover, never as a stall.
	CauseNearMove Cause = "near move"
	// CauseRefused: the address stayed put (as for CauseStall) and the
	// holder refused, reset or answered the request with an error: the
	// service was not there, with the address.
	CauseRefused Cause = "refused"
	// CauseStall: the request timed out, the address stayed put from
	// MoveGuard before it was sent to MoveGuard after it failed, and a
	// request sent after the address's last move (and before this one)
	// had been answered: the path from the client to
	// the holder was known good, so the client stalled or the server
	// answered slowly; the address did not move.
	CauseStall Cause = "stall"
	// CauseUnknown: the holders are not known at the request's send
	// time (before the tracking began).
	CauseUnknown Cause = "unknown"
)

// Causes lists them in report order.
var Causes = []Cause{CauseDark, CauseBoth, CauseMoved, CauseAfterMove, CauseNearMove, CauseRefused, CauseStall, CauseUnknown}

// MoveGuard is how far from a move of the address a failure is still
// put down to the move (CauseNearMove): the tracked times are read late
// under load, by a few milliseconds and now and then by tens.
const MoveGuard = 100 * time.Millisecond

// Handover reports whether a failure of this cause counts against the
// address's handover: every cause except CauseStall (an unknown one
// counts too, so that nothing is hidden).
func (c Cause) Handover() bool { return c != CauseStall }

// Describe says in words what a failure of this cause met.
func (c Cause) Describe() string {
	switch c {
	case CauseDark:
		return "sent while the VIP was on no node"
	case CauseBoth:
		return "sent while the VIP was on two nodes"
	case CauseMoved:
		return "in flight when the VIP moved"
	case CauseAfterMove:
		return "sent after the VIP moved, before any answer since: the client may still have pointed at the old holder"
	case CauseNearMove:
		return fmt.Sprintf("failed within %v of a move of the VIP (tracked times can be late under load)", MoveGuard)
	case CauseRefused:
		return "refused, reset or answered with an error by the VIP's holder, the VIP in place"
	case CauseStall:
		return fmt.Sprintf("timed out with the VIP in place (no move within %v), its holder reached since its last move: a stalled client or a slow answer", MoveGuard)
	}
	return "the VIP's holders unknown then"
}

// FailureCause says what the failed request p met, from spans (the
// address's holders over time, in order, as HolderSpans gives them) and
// probes (every request of the client, for the answers around p).
func FailureCause(p Probe, spans []Span, probes []Probe) Cause {
	end := p.At.Add(p.Took)
	for i, sp := range spans {
		if p.At.Before(sp.Start) || !p.At.Before(sp.End) && i+1 < len(spans) {
			continue
		}
		switch {
		case len(sp.Holders) == 0:
			return CauseDark
		case len(sp.Holders) > 1:
			return CauseBoth
		case i+1 < len(spans) && !spans[i+1].Start.After(end):
			return CauseMoved
		case !answeredSince(probes, sp.Start, p.At):
			return CauseAfterMove
		case i > 0 && p.At.Sub(sp.Start) < MoveGuard,
			i+1 < len(spans) && spans[i+1].Start.Sub(end) < MoveGuard:
			return CauseNearMove
		case p.TimedOut:
			return CauseStall
		}
		return CauseRefused
	}
	return CauseUnknown
}

// answeredSince reports whether a request sent in [from, before) was
// answered.
func answeredSince(probes []Probe, from, before time.Time) bool {
	for _, q := range probes {
		if q.OK() && !q.At.Before(from) && q.At.Before(before) {
			return true
		}
	}
	return false
}
