package etcdown

import (
	"context"
	"sync"
	"testing"
	"time"
)

// stopsRunner records the stops it is asked for; its starts are not used.
type stopsRunner struct {
	mu    sync.Mutex
	stops []int64 // the tokens
}

func (r *stopsRunner) Start(context.Context, string, int64) error { return nil }

func (r *stopsRunner) Stop(_ context.Context, _ string, token int64) error {
	r.mu.Lock()
	r.stops = append(r.stops, token)
	r.mu.Unlock()
	return nil
}

// TestStopAfterStart: a stop that finds the group's start under way
// (the watchdog's, shutdown's) waits for it, then stops the group under
// that start's token if the start left it running; not if the start
// rolled itself back; nor if, by the time it looks, the loop holds the
// group again under a new start: that start's scripts and this stop's
// would run at once, under two tokens, and the new hold would be
// forgotten while its group runs.
func TestStopAfterStart(t *testing.T) {
	const g, oldToken, newToken = "g1", 7, 9
	for _, tt := range []struct {
		name string
		// end ends the start under way (with w.mu held), as run does.
		end       func(w *Owner)
		wantStops []int64
		wantHeld  bool
	}{
		{"the start left it running", func(*Owner) {}, []int64{oldToken}, false},
		{"the start rolled back", func(w *Owner) { w.forgetLocked(g) }, nil, false},
		{"the start rolled back and a new one began", func(w *Owner) {
			w.forgetLocked(g)
			w.held[g], w.ownedBy[g] = newToken, 2
			w.starting[g] = &startCall{cancel: func(error) {}, done: make(chan struct{})}
		}, nil, true},
		{"the start rolled back and a new one ran", func(w *Owner) {
			w.forgetLocked(g)
			w.held[g], w.ownedBy[g] = newToken, 2
		}, nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &stopsRunner{}
			w := New(nil, Options{Node: "n1", Runner: r, SlowestStop: time.Minute})
			call := &startCall{cancel: func(error) {}, done: make(chan struct{})}
			w.mu.Lock()
			w.held[g], w.ownedBy[g], w.starting[g] = oldToken, 1, call
			w.mu.Unlock()
			stopped := make(chan struct{})
			go func() { w.stop(context.Background(), g); close(stopped) }()
			for end := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
				w.mu.Lock()
				_, waits := w.stopping[g]
				w.mu.Unlock()
				if waits {
					break
				}
				if time.Now().After(end) {
					t.Fatal("the stop did not begin")
				}
			}
			w.mu.Lock()
			if w.starting[g] == call {
				delete(w.starting, g)
			}
			tt.end(w)
			close(call.done)
			w.mu.Unlock()
			select {
			case <-stopped:
			case <-time.After(10 * time.Second):
				t.Fatal("the stop did not return")
			}
			r.mu.Lock()
			stops := r.stops
			r.mu.Unlock()
			if len(stops) != len(tt.wantStops) || len(stops) > 0 && stops[0] != tt.wantStops[0] {
				t.Errorf("stops under tokens %v, want %v", stops, tt.wantStops)
			}
			w.mu.Lock()
			token, held := w.held[g]
			w.mu.Unlock()
			if held != tt.wantHeld || held && token != newToken {
				t.Errorf("after the stop, held %v (token %d), want held %v (token %d)", held, token, tt.wantHeld, newToken)
			}
		})
	}
}
