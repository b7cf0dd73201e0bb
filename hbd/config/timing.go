package config

import (
	"fmt"
	"strings"
)

// SetTimingDefaults fills the timings ha.cf leaves out (zero): keepalive
// and deadtime (DefaultKeepalive, DefaultDeadtime), then from deadtime
// warntime (half of it), initdead (twice it, at least MinInitdead) and
// deadping (deadtime). Load applies it; a program that builds a Config
// itself calls it before setting what differs. It is the only place
// these defaults are written.
func (c *Config) SetTimingDefaults() {
	if c.Keepalive == 0 {
		c.Keepalive = DefaultKeepalive
	}
	if c.Deadtime == 0 {
		c.Deadtime = DefaultDeadtime
	}
	if c.Warntime == 0 {
		c.Warntime = c.Deadtime / 2
	}
	if c.Initdead == 0 {
		c.Initdead = max(2*c.Deadtime, MinInitdead)
	}
	if c.Deadping == 0 {
		c.Deadping = c.Deadtime
	}
}

// CheckTimings reports whether the membership timings are complete and
// consistent as the cluster core needs them: keepalive positive, deadtime
// more than twice keepalive, warntime positive, initdead at least
// deadtime. Load refuses files that break these rules (with the line);
// the core refuses a Config that breaks them.
func (c *Config) CheckTimings() error {
	var bad []string
	if c.Keepalive <= 0 {
		bad = append(bad, fmt.Sprintf("keepalive %v is not positive", c.Keepalive))
	}
	if c.Deadtime <= 2*c.Keepalive {
		bad = append(bad, fmt.Sprintf("deadtime %v is not more than twice keepalive %v", c.Deadtime, c.Keepalive))
	}
	if c.Warntime <= 0 {
		bad = append(bad, fmt.Sprintf("warntime %v is not positive", c.Warntime))
	}
	if c.Initdead < c.Deadtime {
		bad = append(bad, fmt.Sprintf("initdead %v is less than deadtime %v", c.Initdead, c.Deadtime))
	}
	if len(bad) > 0 {
		return fmt.Errorf("timings: %s", strings.Join(bad, "; "))
	}
	return nil
}
