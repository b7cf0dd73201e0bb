package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/ctl"
)

// TestPrintRejected: the ten most recent senders are listed, the others
// summed in one line, and the senders the daemon no longer lists in
// another; nothing at all without rejected packets.
func TestPrintRejected(t *testing.T) {
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	sender := func(i int) ctl.DropStat {
		return ctl.DropStat{From: "10.0.0.66", Claimed: fmt.Sprintf("fake%d", i),
			Reasons: map[string]uint64{"bad-signature": 2}, LastSeen: now.Add(-time.Duration(i) * time.Second)}
	}
	tests := []struct {
		name string
		st   ctl.Status
		want []string // the lines after the heading, in order
	}{
		{"none", ctl.Status{}, nil},
		{"a few", ctl.Status{Rejected: []ctl.DropStat{sender(1), {From: "10.0.0.7", Reasons: map[string]uint64{"malformed": 1}, LastSeen: now}}},
			[]string{"  10.0.0.66 claiming fake1: bad-signature=2 (last 1s ago)", "  10.0.0.7: malformed=1 (last 0s ago)"}},
		{"many and evicted", ctl.Status{
			Rejected:        []ctl.DropStat{sender(0), sender(1), sender(2), sender(3), sender(4), sender(5), sender(6), sender(7), sender(8), sender(9), sender(10), sender(11)},
			RejectedEvicted: &ctl.EvictedDrops{Senders: 5000, Reasons: map[string]uint64{"bad-signature": 9000, "no-auth": 1000}},
		}, []string{
			"  10.0.0.66 claiming fake0: bad-signature=2 (last 0s ago)",
			"  10.0.0.66 claiming fake1: bad-signature=2 (last 1s ago)",
			"  10.0.0.66 claiming fake2: bad-signature=2 (last 2s ago)",
			"  10.0.0.66 claiming fake3: bad-signature=2 (last 3s ago)",
			"  10.0.0.66 claiming fake4: bad-signature=2 (last 4s ago)",
			"  10.0.0.66 claiming fake5: bad-signature=2 (last 5s ago)",
			"  10.0.0.66 claiming fake6: bad-signature=2 (last 6s ago)",
			"  10.0.0.66 claiming fake7: bad-signature=2 (last 7s ago)",
			"  10.0.0.66 claiming fake8: bad-signature=2 (last 8s ago)",
			"  10.0.0.66 claiming fake9: bad-signature=2 (last 9s ago)",
			"  2 more senders: bad-signature=4",
			"  5000 senders no longer listed: bad-signature=9000 no-auth=1000",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			printRejected(&b, tc.st, now)
			if tc.want == nil {
				if b.Len() != 0 {
					t.Fatalf("printed %q, want nothing", b.String())
				}
				return
			}
			want := "\nRejected packets (failed to decode or verify), most recent first:\n" + strings.Join(tc.want, "\n") + "\n"
			if b.String() != want {
				t.Errorf("printed\n%s\nwant\n%s", b.String(), want)
			}
		})
	}
}
