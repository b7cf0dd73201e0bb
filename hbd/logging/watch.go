package logging

import (
	"sync"
	"sync/atomic"
	"time"
)

// watch notices a write of an output's writer goroutine that has not
// returned for a while (to a pipe nobody reads, a syslog daemon that
// stopped reading, a file on a hung mount) and has it said once, on the
// other outputs, by one goroutine of its own. The writer arms a timer
// before each write and stops it after: nothing runs while writes return
// in time, and no goroutine is started per write.
type watch struct {
	after time.Duration
	timer *time.Timer
	base  time.Time
	since atomic.Int64           // when the current write began, ns after base
	what  atomic.Pointer[string] // the output being written; nil between writes
	name  string                 // the output's name
	say   func(what string, stuck time.Duration)

	quit     chan struct{}
	stopOnce sync.Once
}

// newWatch starts a watch of the output named what that calls say for a
// write that has not returned after the given time.
func newWatch(after time.Duration, what string, say func(what string, stuck time.Duration)) *watch {
	w := &watch{after: after, base: time.Now(), name: what, say: say, quit: make(chan struct{})}
	w.timer = time.NewTimer(after)
	w.timer.Stop()
	go w.run()
	return w
}

func (w *watch) run() {
	for {
		select {
		case <-w.timer.C:
			what := w.what.Load()
			stuck := time.Since(w.base) - time.Duration(w.since.Load())
			// The write may have ended and another begun since the
			// timer fired: say nothing of one that is not late.
			if what != nil && stuck >= w.after {
				w.say(*what, stuck)
			}
		case <-w.quit:
			return
		}
	}
}

// begin marks the start of a write.
func (w *watch) begin() {
	if w == nil {
		return
	}
	w.since.Store(int64(time.Since(w.base)))
	w.what.Store(&w.name)
	w.timer.Reset(w.after)
}

// end marks the end of a write.
func (w *watch) end() {
	if w == nil {
		return
	}
	w.timer.Stop()
	w.what.Store(nil)
}

// writing reports whether a write is under way.
func (w *watch) writing() bool { return w != nil && w.what.Load() != nil }

// stuck names the output of the current write and when it began, if it
// began StuckAfter or more before now; "" otherwise. what is read before
// since: a write that ends meanwhile and the next one's start can make it
// say too little, never that a write just begun is late.
func (w *watch) stuck(now time.Time) (string, time.Time) {
	if w == nil {
		return "", time.Time{}
	}
	what := w.what.Load()
	if what == nil {
		return "", time.Time{}
	}
	began := w.base.Add(time.Duration(w.since.Load()))
	if now.Sub(began) < w.after {
		return "", time.Time{}
	}
	return *what, began
}

// stop ends the watch's goroutine (when the writer ends).
func (w *watch) stop() {
	if w != nil {
		w.stopOnce.Do(func() { close(w.quit) })
	}
}
