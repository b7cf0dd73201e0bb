package daemon

import (
	"bytes"
	"time"
)

// loadavgPath is where the ld field of status messages comes from.
const loadavgPath = "/proc/loadavg"

// loadEvery is how often the ld field is read again: as often as the
// kernel computes the load averages (every 5 s), so a status carries
// averages at most one computation behind. Reading the file on every tick
// (every keepalive and every deadline) cost an open, a stat, two reads
// and a close each time, and the allocations of os.ReadFile; read once a
// second, its pread (the kernel formats the line anew each time) was
// still about 5 % of a wake-up's CPU at keepalive 1 s, which wakes once a
// second (docs/benchmarks-history.md, "A cold wake-up, piece by piece").
const loadEvery = 5 * time.Second

// loadavg reads /proc/loadavg again (a procFile: kept open, one pread)
// at most once every loadEvery. Its zero value is ready. It is the event
// loop's, used under loopMu (by the loop, or by the standing order's
// sender: standing.go); its read is a raw system call: a call through
// the runtime's blocking-call state woke its monitor thread every
// second.
type loadavg struct {
	file *procFile
	next time.Time
	last string // the line without its newline; "" when unreadable
}

// at returns the ld field as of now.
func (l *loadavg) at(now time.Time) string {
	if now.Before(l.next) {
		return l.last
	}
	l.next = now.Add(loadEvery)
	if l.file == nil {
		l.file = newProcFile(loadavgPath, 128)
	}
	b, err := l.file.read()
	if err != nil {
		l.last = ""
		return ""
	}
	v := bytes.TrimSpace(b)
	// The string is made only when the line changed (the comparison
	// allocates nothing).
	if string(v) != l.last {
		l.last = string(v)
	}
	return l.last
}

func (l *loadavg) close() {
	if l.file != nil {
		l.file.close()
	}
}
