package daemon

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/wire"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func key(claimed, from string) dropKey {
	return dropKey{Claimed: claimed, From: netip.MustParseAddr(from)}
}

// TestDropTableBoundedExact floods a small table with random claimed
// names: it never holds more than its size, and the listed counts plus
// the evicted ones are exactly what was added, reason by reason.
func TestDropTableBoundedExact(t *testing.T) {
	for _, size := range []int{1, 7, 256} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			tb := newDropTable(size)
			rng := rand.New(rand.NewPCG(1, uint64(size)))
			var sent [wire.NumDropReasons]uint64
			for i := range 20000 {
				r := wire.DropReason(1 + rng.IntN(int(wire.NumDropReasons)-1))
				from := fmt.Sprintf("10.0.0.%d", rng.IntN(4))
				claimed := fmt.Sprintf("n%d", rng.IntN(3*size))
				tb.add(key(claimed, from), r, t0.Add(time.Duration(i)*time.Millisecond))
				sent[r]++
				if tb.lru.Len() > size || len(tb.byKey) > size {
					t.Fatalf("after %d drops: %d listed, %d in the map, size %d", i+1, tb.lru.Len(), len(tb.byKey), size)
				}
			}
			listed, evicted := tb.snapshot()
			if len(listed) > size {
				t.Fatalf("snapshot lists %d senders, size %d", len(listed), size)
			}
			if evicted == nil {
				t.Fatal("no evictions reported")
			}
			for r := wire.DropReason(1); r < wire.NumDropReasons; r++ {
				got := evicted.Reasons[r.String()]
				for _, s := range listed {
					got += s.Reasons[r.String()]
				}
				if got != sent[r] {
					t.Errorf("%s: listed + evicted = %d, sent %d", r, got, sent[r])
				}
			}
			for i := 1; i < len(listed); i++ {
				if listed[i].LastSeen.After(listed[i-1].LastSeen) {
					t.Fatalf("snapshot not most recent first at %d: %v after %v", i, listed[i].LastSeen, listed[i-1].LastSeen)
				}
			}
		})
	}
}

// TestDropTableEvictsLeastRecentlySeen: a sender seen again is kept; the
// one seen longest ago makes room.
func TestDropTableEvictsLeastRecentlySeen(t *testing.T) {
	tb := newDropTable(2)
	a, b, c := key("a", "10.0.0.1"), key("b", "10.0.0.1"), key("", "10.0.0.2")
	tb.add(a, wire.DropBadSignature, t0)
	tb.add(b, wire.DropMalformed, t0.Add(1))
	tb.add(b, wire.DropMalformed, t0.Add(2))
	tb.add(a, wire.DropBadSignature, t0.Add(3))
	tb.add(c, wire.DropNoAuth, t0.Add(4))
	listed, evicted := tb.snapshot()
	var got []string
	for _, s := range listed {
		got = append(got, s.Claimed+"@"+s.From)
	}
	if want := "@10.0.0.2 a@10.0.0.1"; strings.Join(got, " ") != want {
		t.Errorf("listed %q, want %q", strings.Join(got, " "), want)
	}
	if evicted == nil || evicted.Senders != 1 || evicted.Reasons["malformed"] != 2 || len(evicted.Reasons) != 1 {
		t.Errorf("evicted %+v, want b's 2 malformed", evicted)
	}
	if listed[1].Reasons["bad-signature"] != 2 {
		t.Errorf("a's counts %v, want bad-signature=2", listed[1].Reasons)
	}
}

// TestDropTableLogWindows drives the log decisions through a story: the
// first drop of a reason is logged in full, later ones summarised once a
// window is a minute old, a quiet minute makes the next drop a full line
// again, and reasons keep separate windows.
func TestDropTableLogWindows(t *testing.T) {
	x, y, z := key("x", "10.0.0.1"), key("y", "10.0.0.1"), key("", "10.0.0.9")
	type step struct {
		at    time.Duration
		add   *dropKey // nil: ask for summaries
		r     wire.DropReason
		full  bool     // add: logged in full
		lines []string // summaries
		shut  bool     // every window is closed after the step (anyOpen)
	}
	sig, mal := wire.DropBadSignature, wire.DropMalformed
	steps := []step{
		{at: 0, add: &x, r: sig, full: true},
		{at: time.Second, add: &x, r: sig},
		{at: 2 * time.Second, add: &y, r: sig},
		{at: 3 * time.Second, add: &y, r: sig},
		{at: 4 * time.Second, add: &y, r: sig},
		{at: 5 * time.Second, add: &z, r: mal, full: true},
		{at: 6 * time.Second, add: &z, r: sig},
		{at: 59 * time.Second}, // nothing is a minute old yet
		{at: 60 * time.Second, lines: []string{
			"Dropped 5 packets (bad-signature) from 3 sources in the last 1m0s; top: 10.0.0.1 (claims to be y) 3, 10.0.0.9 1, 10.0.0.1 (claims to be x) 1",
		}},
		{at: 65 * time.Second, lines: nil}, // malformed's window had nothing after its first: quiet, no line
		{at: 66 * time.Second, add: &z, r: mal, full: true},
		{at: 70 * time.Second, add: &x, r: sig},
		{at: 120 * time.Second, lines: []string{
			"Dropped 1 packets (bad-signature) from 1 sources in the last 1m0s; top: 10.0.0.1 (claims to be x) 1",
		}},
		{at: 180 * time.Second, shut: true},                  // bad-signature quiet a whole window: closes without a line, and malformed's too
		{at: 181 * time.Second, add: &y, r: sig, full: true}, // and logs its next drop in full
	}
	tb := newDropTable(dropTableSize)
	if tb.anyOpen() {
		t.Fatal("a new table has an open window")
	}
	for i, s := range steps {
		now := t0.Add(s.at)
		if s.add != nil {
			if full := tb.add(*s.add, s.r, now); full != s.full {
				t.Fatalf("step %d (%v %s from %s): logged in full %v, want %v", i, s.at, s.r, *s.add, full, s.full)
			}
		} else {
			var got []string
			for _, sm := range tb.summaries(now) {
				got = append(got, sm.String())
			}
			if strings.Join(got, "\n") != strings.Join(s.lines, "\n") {
				t.Fatalf("step %d (%v): summaries\n%s\nwant\n%s", i, s.at, strings.Join(got, "\n"), strings.Join(s.lines, "\n"))
			}
		}
		if open := tb.anyOpen(); open == s.shut {
			t.Fatalf("step %d (%v): a window open: %v, want %v", i, s.at, open, !s.shut)
		}
	}
}

// TestDropTableFloodLogs: a flood of one reason from a new claimed name per
// datagram gives one full line and then one summary per minute, whatever
// the number of senders.
func TestDropTableFloodLogs(t *testing.T) {
	tb := newDropTable(dropTableSize)
	full, summaries := 0, 0
	const n = 200000
	for i := range n {
		now := t0.Add(time.Duration(i) * time.Millisecond) // 200 s
		if tb.add(key(fmt.Sprint(i), "10.0.0.66"), wire.DropBadSignature, now) {
			full++
		}
		if i%1000 == 0 {
			summaries += len(tb.summaries(now))
		}
	}
	if full != 1 || summaries != 3 {
		t.Errorf("%d drops in 200 s: %d full lines and %d summaries, want 1 and 3", n, full, summaries)
	}
}

func TestClaimedSource(t *testing.T) {
	long := strings.Repeat("n", maxClaimed)
	tests := []struct {
		name, in, want string
	}{
		{"netstring", "###\n12:(0)t=status,13:(0)src=node2,", "node2"},
		{"classic", ">>>\n(0)t=status\n(0)src=node2\n<<<\n", "node2"},
		{"none", "garbage", ""},
		{"empty", "10:(0)src=,", ""},
		{"control characters", "(0)src=a\x1b[31mb\nc", `a\x1b[31mb`},
		{"newline ends it, CR does not", "(0)src=ab\rcd\nX", `ab\rcd`},
		{"letters kept, bad UTF-8 escaped", "(0)src=\xc3\xa9\xff,", "\xc3\xa9\\xff"},
		{"clipped inside a character", "(0)src=" + long[1:] + "\xc3\xa9,", long[1:] + `\xc3...`},
		{"at the limit", "(0)src=" + long + ",", long},
		{"clipped", "(0)src=" + long + "tail,", long + "..."},
		{"unterminated", "(0)src=" + long + "tail", long + "..."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := claimedSource([]byte(tc.in)); got != tc.want {
				t.Errorf("claimedSource(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
