package ipaddr

import (
	"testing"
	"time"
)

// TestLookClock: a Watch whose address events are followed and whose
// last look found the address looks again only once Followed has passed
// (a check up to a tenth of Check early counts); one that does not
// follow them, or could not put the address back, looks at every check.
func TestLookClock(t *testing.T) {
	t0 := time.Now()
	for _, c := range []struct {
		name    string
		settled bool
		after   time.Duration // since the last look
		want    bool
	}{
		{"events followed, just looked", true, DefaultCheck, false},
		{"events followed, before Followed", true, DefaultFollowed - DefaultCheck, false},
		{"events followed, Followed passed", true, DefaultFollowed, true},
		{"events followed, a heartbeat early", true, DefaultFollowed - DefaultCheck/10, true},
		{"events followed, too early", true, DefaultFollowed - DefaultCheck/10 - time.Millisecond, false},
		{"events not followed", false, DefaultCheck, true},
		{"not followed, at once", false, 0, true},
	} {
		var lc lookClock
		lc.looked(t0)
		if got := lc.due(t0.Add(c.after), c.settled, DefaultCheck, DefaultFollowed); got != c.want {
			t.Errorf("%s: due %v, want %v", c.name, got, c.want)
		}
	}
}
