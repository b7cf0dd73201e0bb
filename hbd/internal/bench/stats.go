//go:build linux

package bench

import (
	"slices"
	"time"

	"github.com/hbdproject/hbd/hbd/netlab"
)

// Marks say which part of a run's record a measurement covers.
type Marks struct {
	// From: unavailability windows count when they start at or after it
	// (the action, or the heal of a partition).
	From time.Time
	// End: the end of the observation; a window still open then counts
	// until End and makes the figure a lower bound.
	End time.Time
	// Action and Expect: the switch time is from Action to the first
	// answer from Expect ("" = no switch expected, not measured).
	Action time.Time
	Expect string
	// DupFrom: duplicate-holder time counts from here (zero: not
	// measured, e.g. while the holder is cut off and cannot be heard).
	DupFrom time.Time
	// Every is the address sampling interval (each sample stands for
	// that much time).
	Every time.Duration
}

// Figures is what one run measured.
type Figures struct {
	Unavail time.Duration // sum of the unavailability windows
	Open    bool          // a window was still open at End (Unavail is a lower bound)
	Windows int           // how many windows
	Failed  int           // failed requests in them
	Switch  time.Duration // Action → first answer from Expect; -1: none came
	Dup     time.Duration // time the address was on more than one node; -1: not measured
	Answers int           // answered requests between From and End
}

// Measure computes a run's figures from the prober's record and the
// address watch's spans.
func Measure(probes []netlab.Probe, spans []netlab.Span, m Marks) Figures {
	in := between(probes, m.From, m.End)
	f := Figures{Switch: -1, Dup: -1}
	for _, p := range in {
		if p.OK() {
			f.Answers++
		}
	}
	for _, w := range netlab.Windows(in) {
		f.Windows++
		f.Failed += w.Failed
		if w.Open() {
			f.Open = true
			if m.End.After(w.Start) {
				f.Unavail += m.End.Sub(w.Start)
			}
			continue
		}
		f.Unavail += w.Duration()
	}
	if m.Expect != "" {
		sorted := slices.Clone(probes)
		slices.SortStableFunc(sorted, func(a, b netlab.Probe) int { return a.At.Compare(b.At) })
		for _, p := range sorted {
			if p.At.Before(m.Action) || p.At.After(m.End) || !p.OK() || p.Whom != m.Expect {
				continue
			}
			f.Switch = p.At.Add(p.Took).Sub(m.Action)
			break
		}
	}
	if !m.DupFrom.IsZero() {
		f.Dup = DupTime(spans, m.DupFrom, m.End, m.Every)
	}
	return f
}

// DupTime is how long, between from and to, more than one host held the
// address: each span with several holders covers [Start, End+every) — the
// last sample stands for one interval — clipped to [from, to].
func DupTime(spans []netlab.Span, from, to time.Time, every time.Duration) time.Duration {
	var d time.Duration
	for _, s := range spans {
		if len(s.Holders) < 2 {
			continue
		}
		a, b := s.Start, s.End.Add(every)
		if a.Before(from) {
			a = from
		}
		if b.After(to) {
			b = to
		}
		if b.After(a) {
			d += b.Sub(a)
		}
	}
	return d
}

// Settled reports whether the service looks settled at now: every request
// that started in [now-quiet, now-grace] was answered, there were at least
// min of them, and all answers came from the same node (returned).
// grace leaves out requests that may still be in flight.
func Settled(probes []netlab.Probe, now time.Time, quiet, grace time.Duration, min int) (string, bool) {
	from, to := now.Add(-quiet), now.Add(-grace)
	whom, n := "", 0
	for _, p := range probes {
		if p.At.Before(from) || p.At.After(to) {
			continue
		}
		if !p.OK() {
			return "", false
		}
		if whom != "" && p.Whom != whom {
			return "", false
		}
		whom = p.Whom
		n++
	}
	return whom, n >= min && whom != ""
}

// Summary is the median and maximum of a set of durations.
type Summary struct {
	N           int
	Median, Max time.Duration
	Open        int // how many were lower bounds (open windows)
}

// Summarize returns the median (the mean of the two middle values for an
// even count) and maximum of ds; N = 0 when ds is empty.
func Summarize(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Summary{N: n, Median: med, Max: s[n-1]}
}
