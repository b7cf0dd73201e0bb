package etcdown

import (
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// failureLogEvery is how often a failure that repeats is logged again.
// While etcd does not answer, the lease renewal, the grant, the full read
// and the placement fail at every renewal interval (a few times a second
// with short leases); a line for each would grow the log by thousands of
// lines an hour and bury what else happened.
const failureLogEvery = time.Minute

// failureLog logs the failures of each kind of request to etcd: the
// first at once, the ones that repeat at most once per failureLogEvery
// with how many were left out, and the kind's recovery. Safe for
// concurrent use (the lease keeper, the watch and the loop share it).
type failureLog struct {
	log logrus.FieldLogger
	now func() time.Time
	// explain adds to an error what the operator needs to fix it
	// (authHint); nil: nothing.
	explain func(error) error

	mu      sync.Mutex
	failing map[string]*failing
}

// failing is a kind of request failing since since; logged is when it
// was last logged, left how many failures were not logged since.
type failing struct {
	since, logged time.Time
	left          int
}

func newFailureLog(log logrus.FieldLogger) *failureLog {
	return &failureLog{log: log, now: time.Now, failing: map[string]*failing{}}
}

// failed logs err, a failure of kind, unless one was logged less than
// failureLogEvery ago.
func (f *failureLog) failed(kind string, err error) {
	if f.explain != nil {
		err = f.explain(err)
	}
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.failing[kind]
	switch {
	case s == nil:
		f.failing[kind] = &failing{since: now, logged: now}
		f.log.Warnf("etcd: %v", err)
	case now.Sub(s.logged) >= failureLogEvery:
		f.log.Warnf("etcd: %v (failing since %s; %d more failures not logged)", err, s.since.Format(time.RFC3339), s.left)
		s.logged, s.left = now, 0
	default:
		s.left++
	}
}

// ok ends a failure of kind, and logs that it ended with how many
// failures were left out since the last line, which no later line counts.
func (f *failureLog) ok(kind string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.failing[kind]
	if s == nil {
		return
	}
	delete(f.failing, kind)
	left := ""
	if s.left > 0 {
		left = fmt.Sprintf("; %d more failures not logged", s.left)
	}
	f.log.Infof("etcd: %s works again (it failed from %s to %s%s)", kind, s.since.Format(time.RFC3339), f.now().Format(time.RFC3339), left)
}
