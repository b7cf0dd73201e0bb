//go:build linux

package bench

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/netlab"
)

// TestNotesReadBack holds each summed note kind's String against its
// parser, and the parsers against the notes of other kinds.
func TestNotesReadBack(t *testing.T) {
	reqs := []requestNote{
		{Sent: 7.4, Took: 201.3, Err: "dial tcp 10.231.0.100:8080: i/o timeout", Cause: netlab.CauseMoved},
		{Sent: 2081.3, Took: 0.6, Err: "dial tcp 10.231.0.100:8080: connect: connection refused", Cause: netlab.CauseAfterMove},
		{Sent: 0, Took: 1.4, Err: "unexpected EOF", Cause: netlab.CauseNearMove},
		{Sent: 3, Took: 2, Err: "odd (error): with parentheses", Cause: netlab.CauseStall},
	}
	for _, want := range reqs {
		got, ok := parseRequestNote(want.String())
		if !ok || got != want {
			t.Errorf("parseRequestNote(%q) = %+v, %v; want %+v", want.String(), got, ok, want)
		}
	}
	cmd := commandNote{Command: ScStop, Took: 3006 * time.Millisecond}
	if got, ok := parseCommandNote(cmd.String()); !ok || got != cmd {
		t.Errorf("parseCommandNote(%q) = %+v, %v", cmd.String(), got, ok)
	}
	ctl := controlNote{Window: failbackControl, Failed: 1, All: 101}
	if got, ok := parseControlNote(ctl.String()); !ok || got != ctl {
		t.Errorf("parseControlNote(%q) = %+v, %v", ctl.String(), got, ok)
	}
	others := []string{
		"windows: +21ms node1→node2 40ms, +941ms node2→node2 120ms",
		"served at the end by node1",
		"not settled when the observation ended (40s after the action; holders [node1])",
		"the peer never took the VIP after kill -9",
		"before the start, nothing moving: request sent -12.0 ms failed after 200.1 ms (dial tcp 10.231.0.100:8080: i/o timeout)",
		"request sent +1.0 ms failed after 2.0 ms (x): not a cause",
	}
	for _, n := range others {
		_, q := parseRequestNote(n)
		_, c := parseCommandNote(n)
		_, k := parseControlNote(n)
		if q || c || k {
			t.Errorf("%q read as a request (%v), a command (%v) or a control window (%v)", n, q, c, k)
		}
	}
}

func TestCellNotes(t *testing.T) {
	timeout := "dial tcp 10.231.0.100:8080: i/o timeout"
	refused := "dial tcp 10.231.0.100:8080: connect: connection refused"
	req := func(sent, took float64, err string, c netlab.Cause) string {
		return requestNote{Sent: sent, Took: took, Err: err, Cause: c}.String()
	}
	tests := []struct {
		name string
		runs []Run
		want []string
	}{
		{"nothing noted", []Run{{Index: 1}, {Index: 2}}, nil},
		{
			"requests by cause, then how",
			[]Run{
				{Index: 1, Notes: []string{req(12.9, 200.3, timeout, netlab.CauseMoved), req(59.5, 0.3, refused, netlab.CauseBoth)}},
				{Index: 2, Notes: []string{req(4.1, 201.0, timeout, netlab.CauseMoved)}},
				{Index: 3, Notes: []string{req(30.0, 200.5, timeout, netlab.CauseBoth)}},
			},
			[]string{"4 failed requests noted: both 1 (connection refused after 0.3 ms, sent +59.5 ms, run 1); both 1 (i/o timeout after 200.5 ms, sent +30.0 ms, run 3); moved 2 (i/o timeout after 200.3–201.0 ms, sent +4.1–12.9 ms, runs 1, 2)"},
		},
		{
			"commands and control windows summed, other notes once",
			[]Run{
				{Index: 1, Notes: []string{commandNote{ScStop, 24 * time.Millisecond}.String(), "served at the end by node1"}},
				{Index: 2, Notes: []string{commandNote{ScStop, 48 * time.Millisecond}.String(), "served at the end by node1"}},
				{Index: 3, Notes: []string{commandNote{ScStop, 28 * time.Millisecond}.String(), "served at the end by node2"}},
				{Index: 4, Notes: []string{controlNote{2 * time.Second, 1, 100}.String()}},
				{Index: 5, Notes: []string{controlNote{2 * time.Second, 0, 101}.String()}},
			},
			[]string{
				"the stop command returned after 24 / 28 / 48 ms (min / median / max, runs 1–3)",
				"in the 2s before the start, nothing moving: 1 of 201 requests failed (runs 4, 5)",
				"runs 1, 2: served at the end by node1",
				"run 3: served at the end by node2",
			},
		},
		{
			"failed runs",
			[]Run{{Index: 1, Err: "setup\nfailed"}, {Index: 2, Err: "not run"}, {Index: 3, Err: "not run"}},
			[]string{"run 1: failed: setup failed", "runs 2, 3: failed: not run"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cellNotes(tt.runs); !slices.Equal(got, tt.want) {
				t.Errorf("cellNotes =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestRunList(t *testing.T) {
	tests := []struct {
		idx  []int
		want string
	}{
		{[]int{3}, "run 3"},
		{[]int{1, 2}, "runs 1, 2"},
		{[]int{5, 1, 2, 3, 3}, "runs 1–3, 5"},
		{[]int{1, 3, 4, 5, 7, 8}, "runs 1, 3–5, 7, 8"},
	}
	for _, tt := range tests {
		if got := runList(tt.idx); got != tt.want {
			t.Errorf("runList(%v) = %q, want %q", tt.idx, got, tt.want)
		}
	}
}
