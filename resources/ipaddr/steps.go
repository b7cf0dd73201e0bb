package ipaddr

import (
	"fmt"
	"strings"
	"time"
)

// stepTimes notes how long each step of an operation took, for a start's
// debug line ("netlink 0.05, resolve 0.04, list 0.03, ..." in ms): where
// the milliseconds of a takeover go. A nil *stepTimes notes nothing.
type stepTimes struct {
	last time.Time
	b    strings.Builder
}

func newStepTimes() *stepTimes { return &stepTimes{last: time.Now()} }

// mark ends step: the time since the previous mark (or the start).
func (s *stepTimes) mark(step string) {
	if s == nil {
		return
	}
	now := time.Now()
	if s.b.Len() > 0 {
		s.b.WriteString(", ")
	}
	fmt.Fprintf(&s.b, "%s %.2f", step, float64(now.Sub(s.last).Microseconds())/1000)
	s.last = now
}

func (s *stepTimes) String() string {
	if s == nil {
		return ""
	}
	return s.b.String()
}
