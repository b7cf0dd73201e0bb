package etcdown

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
)

func TestEach(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		groups, limit, wantMax int
		failing                int // how many calls fail
	}{
		{groups: 0, limit: 16, wantMax: 0},
		{groups: 1, limit: 16, wantMax: 1},
		{groups: 40, limit: 16, wantMax: 16},
		{groups: 40, limit: 1, wantMax: 1},
		{groups: 20, limit: 0, wantMax: 20},
		{groups: 10, limit: 4, wantMax: 4, failing: 3},
	} {
		t.Run(fmt.Sprintf("%d groups, limit %d", c.groups, c.limit), func(t *testing.T) {
			var gs []string
			for i := range c.groups {
				gs = append(gs, fmt.Sprintf("g%d", i))
			}
			var (
				active, peak atomic.Int32
				mu           sync.Mutex
				called       = map[string]int{}
			)
			err := each(gs, c.limit, func(g string) error {
				n := active.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				// Wait for the others that may run at once to begin.
				for end := time.Now().Add(2 * time.Second); int(peak.Load()) < c.wantMax && time.Now().Before(end); {
					time.Sleep(time.Millisecond)
				}
				active.Add(-1)
				mu.Lock()
				called[g]++
				mu.Unlock()
				var i int
				fmt.Sscanf(g, "g%d", &i)
				if i < c.failing {
					return fmt.Errorf("%s: %w", g, errStartFails)
				}
				return nil
			})
			if int(peak.Load()) != c.wantMax {
				t.Errorf("at most %d at once, want %d", peak.Load(), c.wantMax)
			}
			for _, g := range gs {
				if called[g] != 1 {
					t.Errorf("%s called %d times", g, called[g])
				}
			}
			if got := errors.Is(err, errStartFails); got != (c.failing > 0) {
				t.Errorf("error %v, want one of %d failures", err, c.failing)
			}
		})
	}
}

// startAlone starts n1 alone with groups groups, n1 preferred by all,
// its runner set by tweak; it returns the node, the record and the
// groups. It does not wait for them to run (runAll does).
func startAlone(t *testing.T, groups int, tweak func(*fakeRunner)) (*testNode, *record, []cluster.PlacedGroup) {
	t.Helper()
	rec := &record{}
	var gs []cluster.PlacedGroup
	for i := range groups {
		gs = append(gs, placed(fmt.Sprintf("g%02d", i), "n1"))
	}
	n := startNodeWith(t, "n1", sharedCluster(t).Endpoints(), []string{"n1"}, rec, func(o *Options, r *fakeRunner) {
		o.Groups = gs
		tweak(r)
	})
	return n, rec, gs
}

// runAll waits until all groups groups of rec run.
func runAll(t *testing.T, rec *record, groups int) {
	t.Helper()
	waitFor(t, testMove, "every group runs", func() bool { return len(rec.running()) == groups })
}

// TestClaimsInParallel: a node given many groups at once claims and
// starts them in parallel, at most maxParallel at a time, each with the
// revision that created its own owner key as its token. Every start
// blocks until the test releases them, once two are under way at the
// same time: one claim at a time would never get there, however fast
// or slow the machine.
func TestClaimsInParallel(t *testing.T) {
	t.Parallel()
	const groups = 3 * maxParallel
	gate := make(chan struct{})
	var release sync.Once
	open := func() { release.Do(func() { close(gate) }) }
	n, rec, gs := startAlone(t, groups, func(r *fakeRunner) {
		r.onStart = func(string) { <-gate }
	})
	t.Cleanup(open) // runs before the node stops: no start stays blocked
	waitFor(t, testMove, "two starts under way at once", func() bool { return n.runner.peakStarts() >= 2 })
	open()
	runAll(t, rec, groups)
	if p := n.runner.peakStarts(); p < 2 || p > maxParallel {
		t.Errorf("%d starts at once, want 2 to %d", p, maxParallel)
	}
	s, err := n.owner.Snapshot(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]string{}
	for _, g := range gs {
		tok := s.Held[g.Key]
		if tok == 0 || tok != s.Owners[g.Key].Token {
			t.Errorf("%s runs with token %d, its owner key was created at %d", g.Key, tok, s.Owners[g.Key].Token)
		}
		if other, ok := seen[tok]; ok {
			t.Errorf("%s and %s share the token %d", g.Key, other, tok)
		}
		seen[tok] = g.Key
	}
}

// TestLostGroupsStopAtOnce: a node whose lease is revoked under it (by
// hand) loses its owner keys at once, and another node may claim its
// groups: it stops every one of them at once, not maxParallel at a time.
func TestLostGroupsStopAtOnce(t *testing.T) {
	t.Parallel()
	const groups = maxParallel + 4
	n, rec, _ := startAlone(t, groups, func(r *fakeRunner) { r.stopTime = 500 * time.Millisecond })
	runAll(t, rec, groups)
	id, _ := n.owner.lease.current()
	revoked := time.Now()
	if _, err := n.cli.Revoke(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, testMove, "every group stopped", func() bool {
		stopped := map[string]bool{}
		for _, e := range rec.snapshot() {
			if !e.start && e.at.After(revoked) {
				stopped[e.group] = true
			}
		}
		return len(stopped) == groups
	})
	if p := n.runner.peakStops(); p <= maxParallel {
		t.Errorf("%d stops at once, want every one of the %d groups'", p, groups)
	}
}
