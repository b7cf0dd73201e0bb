//go:build linux

package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/netlab"
)

func TestTrack(t *testing.T) {
	// node1 holds the VIP until 65 ms, nobody until 70, node2 after.
	spans := netlab.HolderSpans([]netlab.AddrEvent{
		{At: at(0), Host: "node1", Added: true},
		{At: at(65), Host: "node1"},
		{At: at(70), Host: "node2", Added: true},
	}, at(400))
	// Probes every 20 ms: answered by node1 at 0, 20, 40; the one at
	// 60 fails (in flight when the VIP moved); node2 answers from 80 on;
	// the one at 260 times out with the VIP in place (190 ms after its
	// move).
	ps := probes(0, "111.222222222.22")
	for i := range ps {
		if !ps[i].OK() {
			ps[i].TimedOut = true
		}
	}
	tr := Track(ps, spans, at(50), at(400))
	if tr.Dark != 5*time.Millisecond || tr.Both != 0 || tr.Moves != 2 {
		t.Errorf("Track: dark %v both %v moves %d; want 5ms 0 2", tr.Dark, tr.Both, tr.Moves)
	}
	if tr.Causes[netlab.CauseMoved] != 1 || tr.Causes[netlab.CauseStall] != 1 || len(tr.Causes) != 2 || tr.Handover() != 1 {
		t.Errorf("Track causes %v (handover's %d), want moved 1 and stall 1 (handover's 1)", tr.Causes, tr.Handover())
	}
	runs := []Run{
		{Tracked: &tr},
		{Tracked: &Tracked{Dark: time.Millisecond}},
		{Err: "setup"},
		{},
	}
	if got, want := causeCell(runs), "2 in 2: moved 1, stall 1; 1 not tracked; 1 failed"; got != want {
		t.Errorf("causeCell = %q, want %q", got, want)
	}
	if got, want := trackedCell(runs, func(t Tracked) time.Duration { return t.Dark }), "1.0 / 3.0 / 5.0"; got != want {
		t.Errorf("trackedCell of Dark = %q, want %q", got, want)
	}
	if got := causeCell([]Run{{Skip: true}}); got != "n/a" {
		t.Errorf("causeCell of skipped runs = %q", got)
	}
	var b strings.Builder
	rep := &Report{Scenarios: []string{ScStop}, Daemons: []DaemonInfo{{Key: "hbd", Label: "hbd"}},
		Settings: []SettingsSet{{Name: "s", Timing: map[string]Timing{"hbd": {Keepalive: 10 * time.Millisecond, Deadtime: 40 * time.Millisecond}}}},
		Runs:     []Run{{Daemon: "hbd", Settings: "s", Scenario: ScStop, Tracked: &tr}}}
	rep.trackTables(&b)
	if !strings.Contains(b.String(), "| 2 in 1: moved 1, stall 1 |") {
		t.Errorf("trackTables:\n%s", b.String())
	}
}
