package logging

import "time"

// Health is a snapshot of how an Async logger's outputs are doing: for
// each output that dropped lines (its queue was full) or has a write that
// has not returned for StuckAfter or more, what it dropped and since when
// that write runs. The zero Health (every synchronous logger's) means
// nothing was lost and nothing is stuck.
type Health struct {
	// Outputs lists the outputs with something to say, in the order
	// stderr, then the others as they were opened.
	Outputs []OutputHealth `json:"outputs,omitempty"`
	// Dropped is the sum of the outputs' Dropped.
	Dropped uint64 `json:"dropped,omitempty"`
	// Stuck names the output whose write has not returned for the
	// longest, if one has not for StuckAfter ("" when none), and
	// StuckSince is when that write began.
	Stuck      string    `json:"stuck,omitempty"`
	StuckSince time.Time `json:"stuck_since,omitzero"`
}

// OutputHealth is what Health says of one output.
type OutputHealth struct {
	// Output names it: "stderr", "syslog", "log file PATH".
	Output string `json:"output"`
	// Dropped counts the lines of the logger's callers that this output
	// dropped since it was opened (at the start, or by the reload that
	// set it), reported in it or not yet. The logger's own lines (the
	// reports of drops, the notices of outputs that fail or are stuck)
	// are never counted.
	Dropped uint64 `json:"dropped,omitempty"`
	// StuckSince is when the write that has not returned for StuckAfter
	// or more began; zero when there is none.
	StuckSince time.Time `json:"stuck_since,omitzero"`
}

// IsZero reports whether nothing was dropped and no write is stuck.
func (h Health) IsZero() bool { return len(h.Outputs) == 0 && h.Dropped == 0 && h.Stuck == "" }

// Health reads how the outputs are doing from counters their writers
// keep anyway: it takes no lock a writer holds in a write and never waits
// for one, so it answers while an output is stuck, and costs a few atomic
// loads per output.
func (l *Logger) Health() Health {
	var h Health
	now := time.Now()
	l.r.liveMu.Lock()
	defer l.r.liveMu.Unlock()
	for _, s := range l.r.live {
		o, ok := s.health(now)
		if !ok {
			continue
		}
		h.Outputs = append(h.Outputs, o)
		h.Dropped += o.Dropped
		if !o.StuckSince.IsZero() && (h.Stuck == "" || o.StuckSince.Before(h.StuckSince)) {
			h.Stuck, h.StuckSince = o.Output, o.StuckSince
		}
	}
	return h
}
