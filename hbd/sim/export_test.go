package sim

import (
	"fmt"
	"time"
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
