package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// keptGenerations returns the generations of the last PeerGenerations
// action in acts, nil if there is none.
func keptGenerations(acts []Action) map[string]uint64 {
	var kept map[string]uint64
	for _, a := range acts {
		if g, ok := a.(PeerGenerations); ok {
			kept = g.Generations
		}
	}
	return kept
}

func TestPeerGenerationKeptWhenItRises(t *testing.T) {
	n := booted(t)
	at := t0.Add(time.Second)
	advanceTo(n, at)
	if got := keptGenerations(n.Step(status2(gen2, 1, at, "init"))); got["node2"] != gen2 || len(got) != 1 {
		t.Fatalf("first packet of node2: kept %v, want node2=%d", got, gen2)
	}
	if got := keptGenerations(n.Step(status2(gen2, 2, at, "up"))); got != nil {
		t.Errorf("same generation again: kept %v, want no action", got)
	}
	if got := keptGenerations(n.Step(status2(gen2+1, 1, at, "init"))); got["node2"] != gen2+1 {
		t.Errorf("node2 restarted: kept %v, want node2=%d", got, gen2+1)
	}
}

func TestOldGenerationRefusedAfterOwnRestart(t *testing.T) {
	tests := []struct {
		name   string
		kept   map[string]uint64
		gen    uint64
		accept bool
	}{
		{"nothing kept: any generation", nil, gen2 - 5, true},
		{"older than kept", map[string]uint64{"node2": gen2}, gen2 - 1, false},
		{"the kept one", map[string]uint64{"node2": gen2}, gen2, true},
		{"newer than kept", map[string]uint64{"node2": gen2}, gen2 + 1, true},
		{"kept for another node", map[string]uint64{"node3": gen2}, gen2 - 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := New(Options{Config: testConfig("node1"), UUID: uuid1, Generation: 0x6b02633b, Now: t0, PeerGenerations: tc.kept})
			n.Step(Tick{Now: t0, Load: testLoad})
			at := t0.Add(time.Second)
			advanceTo(n, at)
			acts := n.Step(status2(tc.gen, 1, at, "init"))
			heard := n.Status().Peers[0].State != StateUnknown
			if heard != tc.accept {
				t.Fatalf("gen %d with %v kept: heard %v, want %v (%q)", tc.gen, tc.kept, heard, tc.accept, render(acts))
			}
			if !tc.accept {
				want := fmt.Sprintf("ERROR: should_drop_message: attempted replay attack [node2]? [gen = %d, curgen = %d]", tc.gen, gen2)
				wantLogs(t, acts, want)
				if d := n.Status().Peers[0].Dropped["stale-generation"]; d != 1 {
					t.Errorf("stale-generation drops %d, want 1", d)
				}
				if kept := keptGenerations(acts); kept != nil {
					t.Errorf("a refused packet kept %v", kept)
				}
			}
		})
	}
}

func TestStaleTimestampRefused(t *testing.T) {
	// testConfig's deadtime is 3 s: a message may be 3 s + MaxClockSkew
	// + 1 s (ts is whole seconds) old by our clock.
	limit := 3*time.Second + MaxClockSkew + TimestampResolution
	tests := []struct {
		name   string
		age    time.Duration
		accept bool
	}{
		{"fresh", 0, true},
		{"from the future (clock ahead)", -time.Hour, true},
		{"its clock drifted ten minutes behind", 10 * time.Minute, true},
		{"old by the limit", limit, true},
		{"older than the limit", limit + time.Second, false},
		{"two days old", 48 * time.Hour, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := booted(t)
			at := t0.Add(72 * time.Hour)
			n.Step(Tick{Now: at})
			acts := n.Step(Receive{Now: at, Link: "eth0", Msg: peerMsg(gen2, 1, at.Add(-tc.age), "t", "status", "st", "init", "dt", "bb8", "protocol", "1")})
			heard := n.Status().Peers[0].State != StateUnknown
			if heard != tc.accept {
				t.Fatalf("ts %s old: heard %v, want %v (%q)", tc.age, heard, tc.accept, render(acts))
			}
			if d := n.Status().Peers[0].Dropped["stale-timestamp"]; (d == 1) == tc.accept {
				t.Errorf("stale-timestamp drops %d", d)
			}
			warned := strings.Contains(strings.Join(render(acts), "\n"), "Clock of node node2 lags")
			if want := tc.accept && tc.age > 3*time.Second+ClockWarnSkew; warned != want {
				t.Errorf("clock warning %v, want %v (%q)", warned, want, render(acts))
			}
		})
	}
}

func TestNSLogLinesBounded(t *testing.T) {
	n := joined(t)
	at := t0.Add(time.Second)
	advanceTo(n, at)
	// A replayed NS_ackmsg acknowledging a seq we never sent logs an error:
	// a flood of them logs NSLogBurst lines per LogEvery, then a count.
	count := func(acts []Action) int {
		k := 0
		for _, l := range logs(acts) {
			if strings.Contains(l, "corrupted ackseq") {
				k++
			}
		}
		return k
	}
	total := 0
	for i := 0; i < 3*NSLogBurst; i++ {
		total += count(n.Step(Receive{Now: at, Link: "eth0", Msg: peerMsg(gen2, 0, at, "t", "NS_ackmsg", "dest", "node1", "ackseq", "ffff")}))
	}
	if total != NSLogBurst {
		t.Errorf("%d lines in one interval, want %d", total, NSLogBurst)
	}
	later := at.Add(LogEvery)
	advanceTo(n, later)
	acts := n.Step(Receive{Now: later, Link: "eth0", Msg: peerMsg(gen2, 0, later, "t", "NS_ackmsg", "dest", "node1", "ackseq", "ffff")})
	want := fmt.Sprintf("WARN: %d log line(s) about NS_ messages from node2 suppressed", 2*NSLogBurst)
	if got := logs(acts); !has(got, want) || count(acts) != 1 {
		t.Errorf("next interval: logs %q, want %q and the line", got, want)
	}
}
