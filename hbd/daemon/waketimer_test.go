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
	tm, err := newWakeTimer()
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
	none := func(what string, wait time.Duration) {
		t.Helper()
		select {
		case <-tm.C:
			t.Fatalf("%s: fired", what)
		case <-time.After(wait):
		}
	}

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
