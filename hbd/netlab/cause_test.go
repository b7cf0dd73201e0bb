//go:build linux

package netlab

import (
	"testing"
	"time"
)

func TestFailureCause(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	ok := func(at int, whom string) Probe {
		return Probe{At: ms(at), Took: 2 * time.Millisecond, Status: 200, Whom: whom}
	}
	timeout := func(at, took int) Probe {
		return Probe{At: ms(at), Took: time.Duration(took) * time.Millisecond, Err: "i/o timeout", TimedOut: true}
	}
	refused := func(at int) Probe {
		return Probe{At: ms(at), Took: time.Millisecond, Err: "connection refused"}
	}
	// a holds the address from 0 to 500 ms, nobody from 500 to 504, b
	// from 504 to 1000 (the end of the record).
	events := []AddrEvent{
		{At: ms(0), Host: "a", Added: true},
		{At: ms(500), Host: "a"},
		{At: ms(504), Host: "b", Added: true},
	}
	spans := HolderSpans(events, ms(1000))
	answers := []Probe{ok(20, "a"), ok(40, "a"), ok(300, "a"), ok(540, "b"), ok(700, "b")}
	tests := []struct {
		name string
		p    Probe
		want Cause
	}{
		{"before the tracking", timeout(-10, 200), CauseUnknown},
		{"in flight at the release", timeout(495, 200), CauseMoved},
		{"reset when the address moved", Probe{At: ms(499), Took: 3 * time.Millisecond, Err: "connection reset by peer"}, CauseMoved},
		{"sent into the dark", timeout(501, 200), CauseDark},
		{"sent just after the move, nothing answered since", timeout(510, 100), CauseAfterMove},
		{"sent within the guard after a move", timeout(560, 100), CauseNearMove},
		{"failed within the guard before a move", timeout(250, 200), CauseNearMove},
		{"reset within the guard after a move", refused(580), CauseNearMove},
		{"timed out with the address in place, reached since", timeout(720, 100), CauseStall},
		{"refused with the address in place", refused(720), CauseRefused},
		{"a stall before the first answer of a first holder", timeout(10, 50), CauseAfterMove},
		{"a stall after the first answer of a first holder", timeout(30, 50), CauseStall},
		{"after the end of the record", timeout(1400, 200), CauseStall},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			probes := append([]Probe{tc.p}, answers...)
			if got := FailureCause(tc.p, spans, probes); got != tc.want {
				t.Errorf("FailureCause = %q (%s), want %q", got, got.Describe(), tc.want)
			}
		})
	}
	// Two holders at once.
	both := HolderSpans([]AddrEvent{{At: ms(0), Host: "a", Added: true}, {At: ms(50), Host: "b", Added: true}, {At: ms(60), Host: "a"}}, ms(1000))
	if got := FailureCause(timeout(55, 1), both, nil); got != CauseBoth {
		t.Errorf("sent while on two hosts: %q, want %q", got, CauseBoth)
	}
	for _, c := range Causes {
		if c.Handover() != (c != CauseStall) {
			t.Errorf("%q.Handover() = %v", c, c.Handover())
		}
		if c.Describe() == CauseUnknown.Describe() && c != CauseUnknown {
			t.Errorf("%q has no description of its own", c)
		}
	}
}
