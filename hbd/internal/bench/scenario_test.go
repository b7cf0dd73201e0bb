//go:build linux

package bench

import (
	"slices"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/netlab"
)

func TestControlNotes(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	ok := func(ms int) netlab.Probe {
		return netlab.Probe{At: t0.Add(time.Duration(ms) * time.Millisecond), Took: time.Millisecond, Status: 200}
	}
	bad := func(ms int) netlab.Probe {
		return netlab.Probe{At: t0.Add(time.Duration(ms) * time.Millisecond), Took: 250 * time.Millisecond, Err: "dial: i/o timeout", TimedOut: true}
	}
	from, to := t0, t0.Add(failbackControl)
	tests := []struct {
		name   string
		probes []netlab.Probe
		want   []string
	}{
		{"none", nil, []string{"in the 2s before the start, nothing moving: 0 of 0 requests failed"}},
		{"all answered", []netlab.Probe{ok(0), ok(20), ok(1980)},
			[]string{"in the 2s before the start, nothing moving: 0 of 3 requests failed"}},
		{"failures outside the window are not counted", []netlab.Probe{bad(-20), ok(0), ok(1000), bad(2020)},
			[]string{"in the 2s before the start, nothing moving: 0 of 2 requests failed"}},
		{"a stall", []netlab.Probe{ok(0), bad(1500), ok(1980)}, []string{
			"before the start, nothing moving: request sent -500.0 ms failed after 250.0 ms (dial: i/o timeout)",
			"in the 2s before the start, nothing moving: 1 of 3 requests failed",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := controlNotes(tt.probes, from, to); !slices.Equal(got, tt.want) {
				t.Errorf("controlNotes:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}
