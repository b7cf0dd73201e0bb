package main

import (
	"time"
)

// Window is what the client saw of one step of the story: the service
// moving from one node to another.
type Window struct {
	Since time.Time // when the step's action was taken
	From  string    // who answered last before Since ("" if nobody had)
	To    string    // the node expected to answer after it
	// Start is the start of the first failed request at or after Since
	// (zero when no request failed before To answered).
	Start time.Time
	// End is when the first answer from To arrived (zero if none did).
	End time.Time
	// Failed counts the requests that failed between Start and End.
	Failed int
}

// Answered reports whether To answered.
func (w Window) Answered() bool { return !w.End.IsZero() }

// Unavailable is the unavailability window: from the first failed request
// to the first answer from the new node. 0 when no request failed (or To
// never answered).
func (w Window) Unavailable() time.Duration {
	if w.Start.IsZero() || w.End.IsZero() {
		return 0
	}
	return w.End.Sub(w.Start)
}

// AfterAction is the time from the step's action to the first answer
// from the new node (0 when it never answered).
func (w Window) AfterAction() time.Duration {
	if w.End.IsZero() {
		return 0
	}
	return w.End.Sub(w.Since)
}

// MeasureWindow finds, in probes (any order), the window of a step taken
// at since after which to must answer. Requests run concurrently, so the
// first answer from to is the one that arrived first, whatever its start;
// the window starts at the first request (by start time) that failed at
// or after since and before that answer arrived.
func MeasureWindow(probes []Probe, since time.Time, to string) Window {
	w := Window{Since: since, To: to}
	ps := sortProbes(probes)
	for _, p := range ps {
		if p.At.Before(since) {
			if p.OK() {
				w.From = p.Whom
			}
			continue
		}
		if p.OK() && p.Whom == to && (w.End.IsZero() || p.End().Before(w.End)) {
			w.End = p.End()
		}
	}
	for _, p := range ps {
		if p.At.Before(since) || p.OK() || (!w.End.IsZero() && !p.At.Before(w.End)) {
			continue
		}
		if w.Start.IsZero() {
			w.Start = p.At
		}
		w.Failed++
	}
	// When to never answered, the window is still open and Failed counts
	// every failure after since.
	return w
}

// Responders lists who answered, in start order, each change once:
// [node_1 node_2 node_1]. Failures are not listed.
func Responders(probes []Probe) []string {
	var out []string
	for _, p := range sortProbes(probes) {
		if !p.OK() {
			continue
		}
		if len(out) == 0 || out[len(out)-1] != p.Whom {
			out = append(out, p.Whom)
		}
	}
	return out
}
