package harc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// statuses is the status runs recorded so far.
func (f *fixture) statuses() []string {
	return slices.DeleteFunc(f.ops(true), func(op string) bool { return !strings.HasSuffix(op, " status") })
}

// waitPrepared waits until Prepare's reads of r's group key are done.
func waitPrepared(t *testing.T, r *Runner, key string) {
	t.Helper()
	r.pmu.Lock()
	p := r.prefetches[key]
	r.pmu.Unlock()
	if p == nil {
		t.Fatalf("no statuses read ahead for %s", key)
	}
	select {
	case <-p.la.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the statuses read ahead did not end in 10 s")
	}
}

// TestPrepareReadsAheadOfStart: the statuses Prepare reads serve the
// Start that follows: it reads none itself, starts every resource and
// says so in its debug lines.
func TestPrepareReadsAheadOfStart(t *testing.T) {
	for _, slow := range []bool{false, true} {
		name := "read before the start"
		if slow {
			name = "still being read when the start begins"
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, "A", "B")
			if slow {
				f.set("B.slowstatus", "0.3")
			}
			r := f.runner()
			g := f.group("A", "B")
			done := r.Prepare(context.Background(), g)
			if !slow {
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					t.Fatal("Prepare's channel not closed 10 s after it")
				}
				waitPrepared(t, r, g.Key())
				if got, want := f.statuses(), []string{"A status", "B status"}; !slices.Equal(got, want) {
					t.Fatalf("Prepare read %q, want %q", got, want)
				}
			}
			if err := r.Start(context.Background(), g); err != nil {
				t.Fatalf("Start: %v\n%s", err, f.log.text())
			}
			if got, want := f.statuses(), []string{"A status", "B status"}; !slices.Equal(got, want) {
				t.Errorf("statuses %q, want %q: one read each, ahead", got, want)
			}
			if got, want := f.ops(false), []string{"A start", "B start"}; !slices.Equal(got, want) {
				t.Errorf("ran %q, want %q", got, want)
			}
			for _, line := range []string{"Status of A: stopped", "read ahead", "statuses: 2 read ahead, 0 read by the start"} {
				if _, ok := f.log.find(line); !ok {
					t.Errorf("no debug line with %q:\n%s", line, f.log.text())
				}
			}
			r.pmu.Lock()
			if n := len(r.prefetches); n != 0 {
				t.Errorf("%d prefetches kept after the start that used them", n)
			}
			r.pmu.Unlock()
		})
	}
}

// TestPrepareNotUsed: statuses read ahead never stand for what may have
// changed since: each case makes them unusable, and Start reads every
// status again and starts what is stopped now.
func TestPrepareNotUsed(t *testing.T) {
	tests := []struct {
		name string
		// between runs after the statuses were read ahead, before Start.
		between func(f *fixture, r *Runner)
		start   []string // the group Start is given; default A, B
		want    []string // statuses, in order
		ran     []string // starts and stops
	}{
		{"another definition", nil, []string{"A", "C"},
			[]string{"A status", "B status", "A status", "C status"}, []string{"A start", "C start"}},
		{"stopped since", func(f *fixture, r *Runner) {
			if err := r.Stop(context.Background(), f.group("A", "B")); err != nil {
				f.t.Fatal(err)
			}
		}, nil, []string{"A status", "B status", "A status", "B status"}, []string{"B stop", "A stop", "A start", "B start"}},
		{"a resource operation since", func(f *fixture, r *Runner) {
			if res := r.RunResource(context.Background(), f.group("C").Resources[0], OpStart, 0); !res.OK() {
				f.t.Fatal(res.Describe())
			}
		}, nil, []string{"A status", "B status", "A status", "B status"}, []string{"C start", "A start", "B start"}},
		{"too old", func(f *fixture, r *Runner) {
			time.Sleep(150 * time.Millisecond)
		}, nil, []string{"A status", "B status", "A status", "B status"}, []string{"A start", "B start"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "A", "B", "C")
			f.opts.PrefetchMaxAge = 100 * time.Millisecond
			r := f.runner()
			g := f.group("A", "B")
			r.Prepare(context.Background(), g)
			waitPrepared(t, r, g.Key())
			if tc.between != nil {
				tc.between(f, r)
			}
			if tc.start != nil {
				g = f.group(tc.start...)
			}
			if err := r.Start(context.Background(), g); err != nil {
				t.Fatalf("Start: %v\n%s", err, f.log.text())
			}
			if got := f.statuses(); !slices.Equal(got, tc.want) {
				t.Errorf("statuses %q, want %q", got, tc.want)
			}
			if got := f.ops(false); !slices.Equal(got, tc.ran) {
				t.Errorf("ran %q, want %q", got, tc.ran)
			}
			// (a stop forgets them at once: nothing is left to say)
			if _, ok := f.log.find("read ahead not used"); !ok && tc.name != "stopped since" {
				t.Errorf("no line says the statuses read ahead were not used:\n%s", f.log.text())
			}
		})
	}
}

// TestPreparedRunningIsReadAgain: a resource that ran when its status
// was read ahead, and was stopped before the start, is started: a stale
// "running" never skips a start. One still running is not started again.
func TestPreparedRunningIsReadAgain(t *testing.T) {
	for _, stillRuns := range []bool{false, true} {
		f := newFixture(t, "A", "B")
		f.set("A.on", "")
		r := f.runner()
		g := f.group("A", "B")
		r.Prepare(context.Background(), g)
		waitPrepared(t, r, g.Key())
		if !stillRuns {
			if err := os.Remove(filepath.Join(f.ctl, "A.on")); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Start(context.Background(), g); err != nil {
			t.Fatalf("Start: %v\n%s", err, f.log.text())
		}
		want := []string{"A start", "B start"}
		if stillRuns {
			want = []string{"B start"}
		}
		if got := f.ops(false); !slices.Equal(got, want) {
			t.Errorf("A still runs %v: ran %q, want %q", stillRuns, got, want)
		}
		if got, want := f.statuses(), []string{"A status", "B status", "A status"}; !slices.Equal(got, want) {
			t.Errorf("statuses %q, want %q: A's read again, B's read ahead used", got, want)
		}
	}
}

// TestStartCancelledWhilePrepareReads: Start's context ends the status
// read ahead it waits for; Start returns well before the status would
// have, as an interrupted start.
func TestStartCancelledWhilePrepareReads(t *testing.T) {
	f := newFixture(t, "A")
	f.set("A.slowstatus", "30")
	f.opts.Timeout = hangTimeout
	r := f.runner()
	g := f.group("A")
	r.Prepare(context.Background(), g)
	f.waitOp("A status", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	began := time.Now()
	err := r.Start(ctx, g)
	if took := time.Since(began); took >= hangTimeout {
		t.Errorf("Start took %v: it waited out the status read ahead", took)
	}
	var se *StartError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v; want a StartError", err)
	}
	if got := f.ops(false); len(got) != 0 {
		t.Errorf("ran %q, want nothing", got)
	}
}

// TestPrepareKeepsOnePerGroup: a Prepare replaces the one before it of
// the same group, and forgets those of other groups that are too old: what
// it keeps is bounded by the groups prepared within PrefetchMaxAge.
func TestPrepareKeepsOnePerGroup(t *testing.T) {
	f := newFixture(t, "A", "B")
	f.opts.PrefetchMaxAge = 50 * time.Millisecond
	r := f.runner()
	t.Cleanup(func() { stopPrefetches(r) })
	kept := func() int {
		r.pmu.Lock()
		defer r.pmu.Unlock()
		return len(r.prefetches)
	}
	r.Prepare(context.Background(), f.group("A"))
	r.Prepare(context.Background(), f.group("A"))
	r.Prepare(context.Background(), f.group("B"))
	if n := kept(); n != 2 {
		t.Errorf("%d kept, want 2 (A once, B)", n)
	}
	time.Sleep(100 * time.Millisecond)
	r.Prepare(context.Background(), f.group("B"))
	if n := kept(); n != 1 {
		t.Errorf("%d kept after A's expired, want 1", n)
	}
}

// stopPrefetches ends every read ahead still kept, before the test's
// files go.
func stopPrefetches(r *Runner) {
	r.pmu.Lock()
	ps := r.prefetches
	r.prefetches = map[string]*prefetch{}
	r.pmu.Unlock()
	for _, p := range ps {
		p.la.stop()
	}
}

// TestPrepareWhileTheGroupIsBusy: a Prepare that comes while a start of
// the group runs reads nothing: the start reads its own.
func TestPrepareWhileTheGroupIsBusy(t *testing.T) {
	f := newFixture(t, "A")
	f.set("A.slowstart", "0.3")
	r := f.runner()
	g := f.group("A")
	done := make(chan error, 1)
	go func() { done <- r.Start(context.Background(), g) }()
	f.waitOp("A start", 1)
	select {
	case <-r.Prepare(context.Background(), g):
	default:
		t.Error("Prepare's channel is open, though it reads nothing")
	}
	if err := <-done; err != nil {
		t.Fatalf("Start: %v\n%s", err, f.log.text())
	}
	if got, want := f.statuses(), []string{"A status"}; !slices.Equal(got, want) {
		t.Errorf("statuses %q, want %q (the start's only)", got, want)
	}
	r.pmu.Lock()
	defer r.pmu.Unlock()
	if n := len(r.prefetches); n != 0 {
		t.Errorf("%d kept, want none", n)
	}
}

// TestPrepareRaceWithAChange: what may change a status while Prepare
// sets up its reads (between the moment it counts what could change them
// and the moment it keeps the reads) makes them unusable too: an
// operation on a resource, or a start of the group, that ran after a
// status was read and ended before the reads were kept. Prepare's steps
// are taken one by one here, the change between them: the start that
// follows reads again, sees A running, and does not start it twice.
func TestPrepareRaceWithAChange(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(f *fixture, r *Runner)
		ran    []string // starts, the change's included
	}{
		{"a resource operation", func(f *fixture, r *Runner) {
			if res := r.RunResource(context.Background(), f.group("A").Resources[0], OpStart, 0); !res.OK() {
				f.t.Fatal(res.Describe())
			}
		}, []string{"A start"}},
		{"a start of the group", func(f *fixture, r *Runner) {
			if err := r.Start(context.Background(), f.group("A")); err != nil {
				f.t.Fatal(err)
			}
		}, []string{"A start"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "A")
			r := f.runner()
			g := f.group("A")
			c, _ := r.counts(g.Key())
			la := r.lookAhead(context.Background(), g)
			select {
			case <-la.done:
			case <-time.After(10 * time.Second):
				t.Fatal("the status read did not end in 10 s")
			}
			if st, ok := la.status(0); !ok || st.Running {
				t.Fatalf("A's status read ahead: %+v, %v; want stopped", st, ok)
			}
			tc.change(f, r)
			r.keep(g, c, la)
			if err := r.Start(context.Background(), g); err != nil {
				t.Fatalf("Start: %v\n%s", err, f.log.text())
			}
			if got := f.ops(false); !slices.Equal(got, tc.ran) {
				t.Errorf("ran %q, want %q: the stale \"stopped\" read ahead was used", got, tc.ran)
			}
		})
	}
}
