package sim

import (
	"fmt"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
)

// runWithCoreDeadtime runs c with the cores configured with a different
// deadtime than the checker uses (to prove the checker can fail).
func runWithCoreDeadtime(c Config, coreDeadtime time.Duration) (res Result) {
	w := newWorld(c)
	w.checkDeadtime = c.Deadtime
	for _, cfg := range w.cfgs {
		cfg.Deadtime = coreDeadtime
		cfg.Initdead = 2 * coreDeadtime
	}
	defer func() {
		if r := recover(); r != nil {
			res.Violations = append(res.Violations, Violation{Invariant: CheckNoPanic, Detail: fmt.Sprint(r)})
		}
	}()
	return w.run()
}

// runWithRogue runs c with a rogue operator who, at Duration/2, starts
// (start) or stops (!start) the scripts of group 0 on node1 behind the
// core's back — to prove the resource checks can fail.
func runWithRogue(c Config, start bool) Result {
	w := newWorld(c)
	at := Epoch.Add(c.Duration / 2)
	w.push(&event{at: at, kind: evRogue, group: 0, node: 0, boot: map[bool]int{true: 1, false: 0}[start]})
	return w.run()
}

// runWithoutCoreQuorum runs c with the checks expecting quorum but the
// cores configured without it (to prove the zero-tolerance check fails).
func runWithoutCoreQuorum(c Config) Result {
	w := newWorld(c)
	for _, cfg := range w.cfgs {
		cfg.Quorum = config.QuorumOff
	}
	return w.run()
}

// runTampered runs c in a world that tamper changed first (a core fed a
// different configuration than the checks assume, a hook that makes the
// world misbehave): to prove a checker can fail.
func runTampered(c Config, tamper func(*world)) Result {
	w := newWorld(c)
	tamper(w)
	return w.run()
}
