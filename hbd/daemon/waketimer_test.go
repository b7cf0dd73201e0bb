package daemon

import (
	"fmt"
	"testing"
	"time"
)

// TestWakeTimer: the loop's timer fires once per setting, after the time
// asked for; a new setting replaces the one pending; an immediate one is
// not lost.
func TestWakeTimer(t *testing.T) {
	tm, err := newWakeTimer(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tm.close()
	var start time.Time // set before each reset
	expect := func(what string, after time.Duration) {
		t.Helper()
		select {
		case at := <-tm.C:
			if d := at.Sub(start); d < after-time.Millisecond {
				t.Fatalf("%s: fired after %v, want at least %v", what, d, after)
			}
		case <-time.After(after + 5*time.Second):
			t.Fatalf("%s: did not fire", what)
		}
	}
	none := func(what string, wait time.Duration) { t.Helper(); noExpiry(t, tm, what, wait) }

	for i := range 100 {
		start = time.Now()
		if err := tm.reset(0); err != nil {
			t.Fatal(err)
		}
		expect(fmt.Sprintf("reset(0) #%d", i), 0)
	}
	start = time.Now()
	if err := tm.reset(20 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	expect("20 ms", 20*time.Millisecond)
	none("after the expiry", 50*time.Millisecond)

	// A later setting replaces an earlier one.
	if err := tm.reset(10 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := tm.reset(time.Hour); err != nil {
		t.Fatal(err)
	}
	none("replaced by an hour", 60*time.Millisecond)
	start = time.Now()
	if err := tm.reset(-time.Second); err != nil {
		t.Fatal(err)
	}
	expect("a deadline past", 0)
}

// TestWakeTimerSet: set leaves a timer set for the same deadline alone
// (its expiry, even one waiting in C, is the one taken), sets it again
// once it fired, and replaces a different deadline.
func TestWakeTimerSet(t *testing.T) {
	tm, err := newWakeTimer(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tm.close()
	take := func(what string) time.Time {
		t.Helper()
		select {
		case at := <-tm.C:
			tm.fired()
			return at
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: did not fire", what)
			return time.Time{}
		}
	}
	none := func(what string, wait time.Duration) { t.Helper(); noExpiry(t, tm, what, wait) }

	d := time.Now().Add(10 * time.Millisecond)
	if err := tm.set(d); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the expiry waits in C
	if err := tm.set(d); err != nil {  // left alone: a reset would forget it and fire anew, now
		t.Fatal(err)
	}
	at := take("the same deadline set twice")
	if at.Before(d) || at.Sub(d) > 250*time.Millisecond {
		t.Fatalf("fired %v after the deadline, want the expiry at the deadline (before the second set, 300 ms after it)", at.Sub(d))
	}
	none("after the one expiry", 50*time.Millisecond)

	// Fired: the same deadline, now past, sets it again (at once).
	if err := tm.set(d); err != nil {
		t.Fatal(err)
	}
	take("the past deadline set again after it fired")

	// A different deadline replaces the one set.
	if err := tm.set(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := tm.set(time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	none("replaced by an hour", 60*time.Millisecond)
}

// noExpiry fails t if tm fires within wait.
func noExpiry(t *testing.T, tm *wakeTimer, what string, wait time.Duration) {
	t.Helper()
	select {
	case <-tm.C:
		t.Fatalf("%s: fired", what)
	case <-time.After(wait):
	}
}
