package daemon

import (
	"testing"
	"time"

	"github.com/hbdproject/hbd/resources/agents"
)

// TestCheckKept: the loop's wake-ups have the keepers look every
// agents.KeepCheck, the first time at once, each keeper of each watch,
// and never block on a keeper that has not taken the last one.
func TestCheckKept(t *testing.T) {
	t0 := time.Now()
	d := &Daemon{watches: map[string]*ipWatch{}}
	d.checkKept(t0) // no watch: nothing to do, nothing scheduled
	if !d.keptCheck.IsZero() {
		t.Fatalf("with no watch the next check is set for %v", d.keptCheck)
	}
	a1, a2, b1 := make(chan time.Time, 1), make(chan time.Time, 1), make(chan time.Time, 1)
	d.watches["a"] = &ipWatch{wakes: []chan time.Time{a1, a2}}
	d.watches["b"] = &ipWatch{wakes: []chan time.Time{b1}}
	for _, step := range []struct {
		at   time.Duration
		want bool // every keeper is woken, with the time of the wake-up
	}{
		{0, true},
		{time.Second, false},
		{agents.KeepCheck - time.Millisecond, false},
		{agents.KeepCheck, true},
		{agents.KeepCheck + 10*time.Millisecond, false},
		{3 * agents.KeepCheck, true}, // a keepalive longer than KeepCheck: every wake-up
		{4 * agents.KeepCheck, true},
	} {
		now := t0.Add(step.at)
		d.checkKept(now)
		for name, c := range map[string]chan time.Time{"a1": a1, "a2": a2, "b1": b1} {
			select {
			case got := <-c:
				if !step.want {
					t.Errorf("at +%v: %s woken", step.at, name)
				} else if !got.Equal(now) {
					t.Errorf("at +%v: %s woken with %v", step.at, name, got)
				}
			default:
				if step.want {
					t.Errorf("at +%v: %s not woken", step.at, name)
				}
			}
		}
	}
	// A keeper busy with the last check does not block the loop.
	d.checkKept(t0.Add(10 * agents.KeepCheck))
	d.checkKept(t0.Add(20 * agents.KeepCheck))
	if len(a1) != 1 {
		t.Fatalf("a1 holds %d times", len(a1))
	}
}

// TestKeptCheckBy: the loop's timer fires for the keepers' check when the
// core's next deadline is more than half a KeepCheck past it (a long
// keepalive, a dead peer's silence), and at the core's deadline otherwise
// or with no watch: the checks are never more than 1.5 KeepCheck apart.
func TestKeptCheckBy(t *testing.T) {
	t0 := time.Now()
	check := t0.Add(agents.KeepCheck)
	for _, c := range []struct {
		name    string
		watches bool
		next    time.Duration // the core's next deadline, after t0
		want    time.Time
	}{
		{"no watch, long keepalive", false, 30 * time.Second, t0.Add(30 * time.Second)},
		{"heartbeat before the check", true, 2 * time.Second, t0.Add(2 * time.Second)},
		{"heartbeat soon after the check", true, agents.KeepCheck + agents.KeepCheck/2, check.Add(agents.KeepCheck / 2)},
		{"long keepalive", true, 30 * time.Second, check},
		{"heartbeat just too late", true, agents.KeepCheck + agents.KeepCheck/2 + time.Millisecond, check},
	} {
		d := &Daemon{watches: map[string]*ipWatch{}, keptCheck: check}
		if c.watches {
			d.watches["a"] = &ipWatch{}
		}
		if got := d.keptCheckBy(t0.Add(c.next)); !got.Equal(c.want) {
			t.Errorf("%s: timer at %v, want %v", c.name, got.Sub(t0), c.want.Sub(t0))
		}
	}
}
