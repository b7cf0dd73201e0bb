package harc

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

// TestAbandonDuringStatus: a start called off while its first status
// runs (a slow one) kills that status, runs no start script, stops again
// what its statuses found running, and returns ErrAbandoned.
func TestAbandonDuringStatus(t *testing.T) {
	tests := []struct {
		name     string
		running  []string // resources found running before the start
		slow     string   // its status sleeps until killed
		wantOps  []string // scripts run but status
		wantAt   string
		rollback bool // a stop of what was found running fails
	}{
		{name: "first status", slow: "A", wantAt: "A"},
		{name: "found running, stopped again", running: []string{"A"}, slow: "B", wantOps: []string{"A stop"}, wantAt: "B"},
		{name: "found running, its stop fails", running: []string{"A"}, slow: "B", wantOps: []string{"A stop", "A stop", "A stop"}, wantAt: "B", rollback: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "A", "B")
			for _, n := range tt.running {
				f.set(n+".on", "")
			}
			if tt.rollback {
				f.set("A.failstop", "")
			}
			f.set(tt.slow+".slowstatus", "30")
			r := f.runner()
			ab := new(Abandon)
			done := make(chan error, 1)
			go func() { done <- r.Start(WithAbandon(context.Background(), ab), f.group("A", "B")) }()
			f.waitOp(tt.slow+" status", 1)
			// The statuses are read ahead, side by side: the slow one may
			// begin before the start has taken the result of those found
			// running. Call it off only once it has, so that it is
			// called off at the slow one.
			for _, n := range tt.running {
				f.waitLog("Resource " + n + " is already running")
			}
			if !ab.Abandon() {
				t.Fatal("Abandon during the first status: false")
			}
			called := time.Now()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Start did not return 10 s after Abandon")
			}
			if took := time.Since(called); took > 5*time.Second {
				t.Errorf("Start took %v after Abandon (the status sleeps 30 s: not killed?)", took)
			}
			var ae *AbandonError
			if !errors.As(err, &ae) || !errors.Is(err, ErrAbandoned) || ae.At != tt.wantAt {
				t.Fatalf("err = %v; want an *AbandonError at %s", err, tt.wantAt)
			}
			if errors.Is(err, ErrStopFailed) != tt.rollback {
				t.Errorf("err = %v: ErrStopFailed %v, want %v", err, !tt.rollback, tt.rollback)
			}
			if got := f.ops(false); !slices.Equal(got, tt.wantOps) {
				t.Errorf("ran %q, want %q", got, tt.wantOps)
			}
			if ab.Abandon() != true {
				t.Error("a second Abandon of an abandoned start: false")
			}
			if _, ok := f.log.find("abandoned at " + tt.wantAt + ": no start script had begun"); !ok {
				t.Errorf("no line says the acquisition was abandoned:\n%s", f.log.text())
			}
		})
	}
}

// TestAbandonTooLate: once a start script has begun, Abandon says false
// and the start runs to its end: the group is started.
func TestAbandonTooLate(t *testing.T) {
	f := newFixture(t, "A", "B")
	f.set("A.slowstart", "0.3")
	r := f.runner()
	ab := new(Abandon)
	done := make(chan error, 1)
	go func() { done <- r.Start(WithAbandon(context.Background(), ab), f.group("A", "B")) }()
	f.waitOp("A start", 1)
	if ab.Abandon() {
		t.Fatal("Abandon while A's start script runs: true")
	}
	if err := <-done; err != nil {
		t.Fatalf("Start: %v", err)
	}
	if want, got := []string{"A start", "B start"}, f.ops(false); !slices.Equal(got, want) {
		t.Errorf("ran %q, want %q", got, want)
	}
	if ab.Abandon() {
		t.Error("Abandon after the start ended: true")
	}
}

// TestAbandonBeforeStart: an Abandon that comes before Start runs nothing
// at all.
func TestAbandonBeforeStart(t *testing.T) {
	f := newFixture(t, "A")
	r := f.runner()
	ab := new(Abandon)
	if !ab.Abandon() {
		t.Fatal("Abandon before Start: false")
	}
	err := r.Start(WithAbandon(context.Background(), ab), f.group("A"))
	var ae *AbandonError
	if !errors.As(err, &ae) || ae.At != "" || errors.Is(err, ErrStopFailed) {
		t.Fatalf("err = %v; want an *AbandonError before it began", err)
	}
	if got := f.ops(true); len(got) != 0 {
		t.Errorf("ran %q, want nothing", got)
	}
}

// TestAbandonRacesCommit: Abandon and the first start script's begin race
// (no status to read: the start script is next at once). Either the start
// is abandoned and nothing ran, or Abandon said false and the group
// started; never a start script after a true Abandon.
func TestAbandonRacesCommit(t *testing.T) {
	f := newFixture(t, "A")
	r := f.runner()
	g := f.group("A")
	for i := range 20 {
		// (a stop per round: A's status says "not running" again)
		if err := r.Stop(context.Background(), g); err != nil {
			t.Fatal(err)
		}
		before := len(f.ops(false))
		ab := new(Abandon)
		done := make(chan error, 1)
		go func() { done <- r.Start(WithAbandon(context.Background(), ab), g) }()
		if i%2 == 1 {
			time.Sleep(time.Duration(i) * time.Millisecond)
		}
		took := ab.Abandon()
		err := <-done
		started := slices.Contains(f.ops(false)[before:], "A start")
		switch {
		case took && (started || !errors.Is(err, ErrAbandoned)):
			t.Fatalf("round %d: Abandon true, yet err = %v, start script ran %v", i, err, started)
		case !took && (err != nil || !started):
			t.Fatalf("round %d: Abandon false, yet err = %v, start script ran %v", i, err, started)
		}
	}
}

// abandonOn calls a off when a line containing sub is logged.
type abandonOn struct {
	sub  string
	a    *Abandon
	took chan bool
}

func (h *abandonOn) Levels() []logrus.Level { return logrus.AllLevels }

func (h *abandonOn) Fire(e *logrus.Entry) error {
	if strings.Contains(e.Message, h.sub) {
		h.took <- h.a.Abandon()
	}
	return nil
}

// TestAbandonAfterLastStatus: every resource is found running, and the
// start is called off after the last status was read, before Start
// returns. Abandon says true, so Start must say ErrAbandoned and stop
// again what it found running: a nil error would leave the group held
// here while its caller was told the start was called off.
func TestAbandonAfterLastStatus(t *testing.T) {
	f := newFixture(t, "A", "B")
	f.set("A.on", "")
	f.set("B.on", "")
	ab := new(Abandon)
	h := &abandonOn{sub: "Resource B is already running", a: ab, took: make(chan bool, 1)}
	f.opts.Log.(*logrus.Logger).AddHook(h)
	r := f.runner()
	err := r.Start(WithAbandon(context.Background(), ab), f.group("A", "B"))
	var took bool
	select {
	case took = <-h.took:
	default:
		t.Fatalf("no line said B was found running:\n%s", f.log.text())
	}
	if !took {
		t.Fatal("Abandon after the last status, before Start returned: false")
	}
	if !errors.Is(err, ErrAbandoned) || errors.Is(err, ErrStopFailed) {
		t.Fatalf("err = %v; want ErrAbandoned, its rollback done", err)
	}
	if want, got := []string{"B stop", "A stop"}, f.ops(false); !slices.Equal(got, want) {
		t.Errorf("ran %q, want %q", got, want)
	}
}
