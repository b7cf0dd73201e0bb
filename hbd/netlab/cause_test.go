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
	// a holds the address from 0 to 100 ms, nobody from 100 to 104, b
	// from 104 to 300 (the end of the record).
	events := []AddrEvent{
		{At: ms(0), Host: "a", Added: true},
		{At: ms(100), Host: "a"},
		{At: ms(104), Host: "b", Added: true},
	}
	spans := HolderSpans(events, ms(300))
	answers := []Probe{ok(20, "a"), ok(40, "a"), ok(140, "b")}
	tests := []struct {
		name string
		p    Probe
		want Cause
	}{
		{"before the tracking", timeout(-10, 200), CauseUnknown},
		{"in flight at the release", timeout(95, 200), CauseMoved},
		{"reset when the address moved", Probe{At: ms(99), Took: 3 * time.Millisecond, Err: "connection reset by peer"}, CauseMoved},
		{"sent into the dark", timeout(101, 200), CauseDark},
		{"sent just after the move, nothing answered since", timeout(110, 100), CauseAfterMove},
		{"timed out with the address in place, reached since", timeout(160, 100), CauseStall},
		{"refused with the address in place", refused(160), CauseRefused},
		{"a stall before the first answer of a first holder", timeout(10, 50), CauseAfterMove},
		{"a stall after the first answer of a first holder", timeout(30, 50), CauseStall},
		{"after the end of the record", timeout(400, 200), CauseStall},
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
	both := HolderSpans([]AddrEvent{{At: ms(0), Host: "a", Added: true}, {At: ms(50), Host: "b", Added: true}, {At: ms(60), Host: "a"}}, ms(300))
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
