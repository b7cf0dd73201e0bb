//go:build linux

package bench

import (
	"context"
	"time"
)

// Limit is the search for the smallest setting of one daemon that stays
// free of false failovers for a whole step at one loss rate, both CPUs
// busy: the settings of a ladder are tried from the fastest up, each for
// Step (a step ends at its first false failover), until one passes.
type Limit struct {
	Daemon string
	Loss   float64 // percent, each direction
	Step   time.Duration
	Ladder []Timing // what could have been tried, fastest first
	Steps  []Soak   // what was tried, in ladder order
	// Beside are the searches that ran at the same time, each in a lab
	// of its own under the same busy loops (Together); none when it ran
	// alone.
	Beside []string `json:",omitempty"`
}

// Found is the limit: the last step tried, when it passed.
func (l Limit) Found() (Timing, bool) {
	if len(l.Steps) == 0 {
		return Timing{}, false
	}
	s := l.Steps[len(l.Steps)-1]
	return s.Timing, s.Passed()
}

// LimitSearch runs d at each timing of ladder (fastest first) under loss
// with cpus busy loops, for step each, until a timing stays free of
// false failovers for its whole step, or a step cannot run.
func (rn *Runner) LimitSearch(ctx context.Context, d Driver, ladder []Timing, loss float64, cpus int, step time.Duration) Limit {
	l := Limit{Daemon: d.Key(), Loss: loss, Step: step, Ladder: ladder}
	for _, t := range ladder {
		if ctx.Err() != nil {
			break
		}
		rn.logf("limit %s %s at %v%% loss, up to %s …", d.Key(), t, loss, step)
		ss := rn.SoakRun(ctx, d, t, cpus, step, []float64{loss})
		l.Steps = append(l.Steps, ss...)
		if len(ss) == 0 { // cut short during the cluster's start
			break
		}
		last := ss[len(ss)-1]
		if last.Passed() || last.Err != "" {
			break
		}
	}
	return l
}
