package daemon

import (
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/testenv"
	"github.com/sirupsen/logrus"
)

// testLogger logs everything (debug included) into a buffer.
func testLogger() (*logrus.Logger, *testenv.LockedBuffer) {
	buf := &testenv.LockedBuffer{}
	lg := logrus.New()
	lg.SetOutput(buf)
	lg.SetLevel(logrus.DebugLevel)
	lg.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true, DisableQuote: true})
	return lg, buf
}

// waitFor polls cond until it holds, failing the test after 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

// untilTold runs try, at most five times, until it tells: false from it
// means the test was held up in a way (heldUp says which) that proves
// nothing either way on a loaded machine.
func untilTold(t *testing.T, heldUp string, try func(*testing.T) bool) {
	t.Helper()
	const attempts = 5
	for i := 1; i <= attempts; i++ {
		if try(t) {
			return
		}
		t.Logf("attempt %d: the test was held up %s; again", i, heldUp)
	}
	t.Fatalf("held up %s in each of %d attempts: the machine is too loaded to tell", heldUp, attempts)
}
