//go:build linux

package bench

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// TestPairRig: within a window every pair has a rig of its own, and over
// n windows each pair runs in every rig once.
func TestPairRig(t *testing.T) {
	for n := 1; n <= 4; n++ {
		used := make([]map[int]bool, n) // by pair: the rigs it ran in
		for j := range used {
			used[j] = map[int]bool{}
		}
		for rot := range n {
			rigs := map[int]bool{}
			for j := range n {
				r, err := PairRig(j, rot, n)
				if err != nil || r < 0 || r >= n {
					t.Fatalf("PairRig(%d, %d, %d) = %d, %v: want a rig", j, rot, n, r, err)
				}
				if rigs[r] {
					t.Fatalf("n=%d rotation %d: rig %d given twice", n, rot, r)
				}
				rigs[r] = true
				used[j][r] = true
			}
		}
		for j, u := range used {
			if len(u) != n {
				t.Errorf("n=%d: pair %d ran in rigs %v over %d windows, want all", n, j, u, n)
			}
		}
	}
	if got, err := PairRig(0, -1, 3); got != 2 || err != nil {
		t.Errorf("PairRig(0, -1, 3) = %d, %v; want 2", got, err)
	}
	for _, n := range []int{0, -1} {
		if got, err := PairRig(0, 0, n); err == nil {
			t.Errorf("PairRig(0, 0, %d) = %d, want an error", n, got)
		}
	}
}

// TestConcurrentIdleRigCount: with as many rigs as pairs missing, every
// pair fails at once, saying so, with no window waited.
func TestConcurrentIdleRigCount(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pairs := []IdlePair{{Label: "a", Driver: &Hbd{}}, {Label: "b", Driver: &Hbd{}}}
	for _, rigs := range [][]*Rig{nil, {{}}, {{}, {}, {}}} {
		w := ConcurrentIdle(ctx, rigs, pairs, 0, time.Hour, t.Logf)
		want := fmt.Sprintf("%d rigs for 2 pairs", len(rigs))
		if len(w.Pairs) != 2 || w.Pairs[0].Err != want || w.Pairs[1].Err != want || w.Pairs[1].Label != "b" || w.Pairs[0].Rig != -1 {
			t.Errorf("%d rigs: %+v, want each pair failed with %q, in no rig", len(rigs), w.Pairs, want)
		}
		if md := IdleWindowsMarkdown([]IdleWindow{w}, ""); !strings.Contains(md, "| a | — | failed: "+want+" |") {
			t.Errorf("%d rigs: the report does not say pair a failed in no rig:\n%s", len(rigs), md)
		}
	}
	if ctx.Err() != nil {
		t.Errorf("the windows were waited: %v", ctx.Err())
	}
}

func TestNodeUse(t *testing.T) {
	tests := []struct {
		name       string
		a, b       map[int]cpuSample
		el         time.Duration
		cpu, slice float64
	}{
		{"one process", map[int]cpuSample{1: {threadsNS: 1e6, slices: 10}}, map[int]cpuSample{1: {threadsNS: 3e6, slices: 30}}, 10 * time.Second, 0.02, 2},
		{"two processes and a child's ticks", map[int]cpuSample{1: {threadsNS: 0}, 2: {threadsNS: 5e6, slices: 1, childTicks: 2}},
			map[int]cpuSample{1: {threadsNS: 1e6, slices: 4}, 2: {threadsNS: 5e6, slices: 2, childTicks: 3}}, time.Second, 1.1, 5},
		{"a process only at the end counts nothing", map[int]cpuSample{}, map[int]cpuSample{7: {threadsNS: 9e9, slices: 9}}, time.Second, 0, 0},
		{"a counter that went back counts nothing", map[int]cpuSample{1: {threadsNS: 5e6, slices: 9}}, map[int]cpuSample{1: {threadsNS: 4e6, slices: 8}}, time.Second, 0, 0},
		{"no time", map[int]cpuSample{1: {}}, map[int]cpuSample{1: {threadsNS: 1}}, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cpu, sl := nodeUse(tt.a, tt.b, tt.el)
			if math.Abs(cpu-tt.cpu) > 1e-9 || math.Abs(sl-tt.slice) > 1e-9 {
				t.Errorf("nodeUse = %v %%, %v/s; want %v %%, %v/s", cpu, sl, tt.cpu, tt.slice)
			}
		})
	}
}

func TestParseSchedstat(t *testing.T) {
	tests := []struct {
		in         string
		ns, slices uint64
		bad        bool
	}{
		{"123456 789 42\n", 123456, 42, false},
		{"0 0 0", 0, 0, false},
		{"", 0, 0, true},
		{"1 2", 0, 0, true},
		{"1 2 3 4", 0, 0, true},
		{"x 2 3", 0, 0, true},
		{"1 2 -3", 0, 0, true},
	}
	for _, tt := range tests {
		ns, sl, err := parseSchedstat([]byte(tt.in))
		if (err != nil) != tt.bad || ns != tt.ns || sl != tt.slices {
			t.Errorf("parseSchedstat(%q) = %d, %d, %v; want %d, %d, error %v", tt.in, ns, sl, err, tt.ns, tt.slices, tt.bad)
		}
	}
	// This process's own threads: some CPU time, at least one timeslice.
	ns, sl, err := threadsCPU(1)
	if err != nil {
		t.Skipf("no /proc/1/task here: %v", err)
	}
	if ns == 0 || sl == 0 {
		t.Errorf("threadsCPU(1) = %d ns, %d slices: want both above zero", ns, sl)
	}
}

func TestProcStat(t *testing.T) {
	a, err := parseProcStat("cpu  100 0 100 700 100 0 0 0 0 0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := parseProcStat("cpu  200 0 150 800 100 0 50 100 0 0")
	if err != nil {
		t.Fatal(err)
	}
	// 400 ticks: 100 idle, 100 stolen, 200 busy.
	steal, busy := b.since(a)
	if steal != 25 || busy != 50 {
		t.Errorf("since = steal %v %%, busy %v %%; want 25, 50", steal, busy)
	}
	if s, b := a.since(a); s != 0 || b != 0 {
		t.Errorf("no time: %v, %v; want 0, 0", s, b)
	}
	for _, bad := range []string{"", "cpu0 1 2 3 4 5 6 7 8", "cpu 1 2 3", "cpu 1 2 3 4 5 6 7 x"} {
		if _, err := parseProcStat(bad); err == nil {
			t.Errorf("parseProcStat(%q): no error", bad)
		}
	}
	if _, err := readProcStat(); err != nil {
		t.Errorf("this machine's /proc/stat: %v", err)
	}
}

func TestIdleWindowsMarkdown(t *testing.T) {
	pair := func(label string, rig int, n1, n2 float64) PairIdle {
		return PairIdle{Label: label, Rig: rig, Elapsed: time.Minute, FramesPerSec: 2,
			Nodes: [2]NodeIdle{{CPUPercent: n1, SlicesPerSec: 1, RSSKB: 8192}, {CPUPercent: n2, SlicesPerSec: 1, RSSKB: 7168}}}
	}
	ws := []IdleWindow{
		{Rotation: 0, Window: 5 * time.Minute, LoadStart: "0.50 0.40 0.30", LoadEnd: "0.60 0.4 0.3", Pairs: []PairIdle{
			pair("old", 0, 0.0200, 0.0080), pair("new", 1, 0.0150, 0.0080), pair("keepalived", 2, 0.0100, 0.0040)}},
		{Rotation: 1, Window: 5 * time.Minute, Pairs: []PairIdle{
			pair("old", 1, 0.0220, 0.0090), {Label: "new", Rig: 2, Err: "start node1: boom | bang\nsecond line"}, pair("keepalived", 0, 0.0110, 0.0040)}},
	}
	md := IdleWindowsMarkdown(ws, "keepalived")
	for _, want := range []string{
		"### Window 1:", "rotation 0, load 0.50 → 0.60",
		"| old | 0 | 0.0200 % | 0.0080 % | 1.00 / 1.00 | 2.0 | 8.0 / 7.0 MB |",
		"| new | 2 | failed: start node1: boom / bang second line | | | | |\n",
		"| old | 0.0200 % (+0.0100, ×2.00) | 0.0220 % (+0.0110, ×2.00) |",
		"| new | 0.0150 % (+0.0050, ×1.50) | failed |",
		"| keepalived | 0.0100 % | 0.0110 % |",
		"| old | 0.0080 % (+0.0040, ×2.00) | 0.0090 % (+0.0050, ×2.25) |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if noRef := IdleWindowsMarkdown(ws, ""); strings.Contains(noRef, "×") {
		t.Errorf("without a reference, cells compare with one:\n%s", noRef)
	}
}
