package bench

import (
	"fmt"
	"strings"
	"time"
)

// phases times the consecutive stretches of one run (the cleaning, the
// start, the scenario, the teardown), for its progress line: where a
// run's time goes is what the plan's model of a run is fitted to.
type phases struct {
	start, last time.Time
	names       []string
	took        []time.Duration
}

func newPhases() *phases {
	now := time.Now()
	return &phases{start: now, last: now}
}

// mark ends the stretch called name at the present moment.
func (p *phases) mark(name string) { p.markAt(name, time.Now()) }

func (p *phases) markAt(name string, at time.Time) {
	p.names = append(p.names, name)
	p.took = append(p.took, at.Sub(p.last))
	p.last = at
}

// String is "9.1s: clean 0.4s, up 4.6s, …": the whole, then each stretch.
func (p *phases) String() string {
	parts := make([]string, len(p.names))
	for i, n := range p.names {
		parts[i] = fmt.Sprintf("%s %s", n, p.took[i].Round(10*time.Millisecond))
	}
	return fmt.Sprintf("%s: %s", p.last.Sub(p.start).Round(10*time.Millisecond), strings.Join(parts, ", "))
}
