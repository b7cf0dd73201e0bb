package logging

import "time"

// Health is a snapshot of how an Async logger's writer is doing: the
// lines dropped since New because the queue was full, and the write, if
// any, that has not returned for StuckAfter or more. The zero Health
// (every synchronous logger's) means nothing was lost and nothing is
// stuck.
type Health struct {
	// Dropped counts the lines dropped since New, reported in the log or
	// not yet.
	Dropped uint64 `json:"dropped,omitempty"`
	// Stuck names the output of the write that has not returned for
	// StuckAfter or more ("stderr", "syslog", "log file PATH", or "the log
	// outputs" before it reached one); "" when none has.
	Stuck string `json:"stuck,omitempty"`
	// StuckSince is when that write began.
	StuckSince time.Time `json:"stuck_since,omitzero"`
}

// IsZero reports whether nothing was dropped and no write is stuck.
func (h Health) IsZero() bool { return h.Dropped == 0 && h.Stuck == "" }

// Health reads how the writer is doing from counters it keeps anyway: it
// takes no lock the writer holds and never waits for it, so it answers
// while the writer is stuck, and costs a few atomic loads.
func (l *Logger) Health() Health {
	h := Health{Dropped: l.r.q.droppedLines()}
	h.Stuck, h.StuckSince = l.r.w.stuck(time.Now())
	return h
}
