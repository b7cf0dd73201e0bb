package logging

import (
	"testing"
	"time"
)

// healthOf reads l's Health, failing the test if the read waits (it must
// answer while the writer is stuck).
func healthOf(t *testing.T, l *Logger) Health {
	t.Helper()
	got := make(chan Health, 1)
	go func() { got <- l.Health() }()
	select {
	case h := <-got:
		return h
	case <-time.After(5 * time.Second):
		t.Fatal("Health waited for the writer")
		return Health{}
	}
}

// flat is a Health's sums, which a test compares; flatten checks that
// they are the sums of its outputs.
type flat struct {
	Dropped uint64
	Stuck   string
}

// outputOf is what h says of the output named name.
func outputOf(h Health, name string) OutputHealth {
	for _, o := range h.Outputs {
		if o.Output == name {
			return o
		}
	}
	return OutputHealth{Output: name}
}

func flatten(t *testing.T, h Health) flat {
	t.Helper()
	var sum uint64
	stuck := ""
	var since time.Time
	for _, o := range h.Outputs {
		if o.Dropped == 0 && o.StuckSince.IsZero() {
			t.Errorf("Health lists %q with nothing to say", o.Output)
		}
		sum += o.Dropped
		if !o.StuckSince.IsZero() && (stuck == "" || o.StuckSince.Before(since)) {
			stuck, since = o.Output, o.StuckSince
		}
	}
	if sum != h.Dropped || stuck != h.Stuck || !since.Equal(h.StuckSince) {
		t.Errorf("Health %+v: its sums are not those of its outputs", h)
	}
	return flat{h.Dropped, h.Stuck}
}

// TestHealth: a logger whose outputs keep up reports nothing; one whose
// writer is held reports the lines it dropped, exactly, and the stuck
// write once it is StuckAfter old, with when it began; once the output
// takes lines again the write is no longer stuck and the count stays.
func TestHealth(t *testing.T) {
	const extra = 100 // lines logged past a full queue
	tests := []struct {
		name       string
		async      bool
		hold       bool          // stderr's writes wait until released
		stuckAfter time.Duration // 0: the default
		lines      int           // logged once the writer is held
		want       flat
	}{
		{name: "synchronous", lines: 10},
		{name: "async, keeping up", async: true, lines: 3 * QueueLines},
		{name: "held, queue not full, not yet StuckAfter", async: true, hold: true, stuckAfter: time.Hour, lines: QueueLines},
		{name: "held, queue full, not yet StuckAfter", async: true, hold: true, stuckAfter: time.Hour, lines: QueueLines + extra,
			want: flat{Dropped: extra}},
		{name: "stuck, queue not full", async: true, hold: true, stuckAfter: 50 * time.Millisecond, lines: 10,
			want: flat{Stuck: "stderr"}},
		{name: "stuck, queue full", async: true, hold: true, stuckAfter: 50 * time.Millisecond, lines: QueueLines + extra,
			want: flat{Dropped: extra, Stuck: "stderr"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gate := newGate()
			if !tc.hold {
				close(gate.open)
			}
			l, err := New(Options{Stderr: gate, PID: 4242, Now: fixedClock, Async: tc.async, StuckAfter: tc.stuckAfter, CloseWait: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = l.Close() })
			t0 := time.Now()
			if tc.hold {
				l.Info("held") // the writer waits at the gate with it
				<-gate.writing
			}
			for i := range tc.lines {
				l.Infof("line %d", i)
				if !tc.hold && tc.async && i%(QueueLines/2) == 0 {
					drain(t, l) // a writer that keeps up is never a queue behind
				}
			}
			if !tc.hold && tc.async {
				drain(t, l)
			}
			if tc.want.Stuck != "" {
				deadline := time.Now().Add(20 * time.Second)
				for healthOf(t, l).Stuck == "" && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
			} else {
				time.Sleep(100 * time.Millisecond) // a stuck write would be said by now, were StuckAfter short
			}
			h := healthOf(t, l)
			since := h.StuckSince
			if got := flatten(t, h); got != tc.want {
				t.Errorf("Health = %+v, want %+v", h, tc.want)
			}
			if h.IsZero() != (tc.want == flat{}) {
				t.Errorf("IsZero = %v for %+v", h.IsZero(), h)
			}
			if tc.want.Stuck != "" && (since.Before(t0) || since.After(time.Now().Add(-tc.stuckAfter))) {
				t.Errorf("StuckSince %s, want between %s and %s before now", since, time.Since(t0), tc.stuckAfter)
			}
			if tc.want.Stuck == "" && !since.IsZero() {
				t.Errorf("StuckSince %s with no stuck write", since)
			}
			if !tc.hold {
				return
			}
			close(gate.open)
			drain(t, l)
			after := healthOf(t, l)
			if flatten(t, after) != (flat{Dropped: tc.want.Dropped}) {
				t.Errorf("once the output took lines again: %+v, want only the %d lines dropped", after, tc.want.Dropped)
			}
		})
	}
}

// TestWatchStuck: a write is reported stuck from StuckAfter after it
// began, with when it began and the output's name, and not between
// writes.
func TestWatchStuck(t *testing.T) {
	const after = time.Minute
	file := "log file /var/log/ha-log"
	w := newWatch(after, file, func(string, time.Duration) {})
	defer w.stop()
	if what, _ := w.stuck(time.Now().Add(time.Hour)); what != "" {
		t.Errorf("between writes: stuck at %q", what)
	}
	w.begin()
	began := w.base.Add(time.Duration(w.since.Load()))
	tests := []struct {
		name   string
		now    time.Duration
		want   string
		wantAt bool
	}{
		{"just begun", 0, "", false},
		{"a moment short", after - time.Nanosecond, "", false},
		{"at StuckAfter", after, file, true},
		{"long after", 10 * after, file, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			what, since := w.stuck(began.Add(tc.now))
			if what != tc.want || since.Equal(began) != tc.wantAt || (!tc.wantAt && !since.IsZero()) {
				t.Errorf("stuck = %q, %s; want %q, began %s: %v", what, since, tc.want, began, tc.wantAt)
			}
		})
	}
	w.end()
	if what, _ := w.stuck(began.Add(time.Hour)); what != "" {
		t.Errorf("after the write: stuck at %q", what)
	}
}
