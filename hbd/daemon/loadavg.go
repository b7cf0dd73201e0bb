package daemon

import (
	"bytes"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// loadavgPath is where the ld field of status messages comes from.
const loadavgPath = "/proc/loadavg"

// loadEvery is how often the ld field is read again. The kernel computes
// the load averages every 5 s; reading the file on every tick (every
// keepalive and every deadline) cost an open, a stat, two reads and a
// close each time, and the allocations of os.ReadFile.
const loadEvery = time.Second

// loadavg keeps /proc/loadavg open and reads it again (one pread, into a
// buffer of its own) at most once every loadEvery. Its zero value is
// ready: the file is opened at the first read and again after an error.
// It belongs to the event loop's goroutine. The pread is a raw system
// call, as the links' are (hbd/link/rawsock.go): reading /proc/loadavg
// never blocks, and a call through the runtime's blocking-call state
// woke its monitor thread every second.
type loadavg struct {
	f    *os.File
	rc   syscall.RawConn
	next time.Time
	buf  [128]byte
	last string // the line without its newline; "" when unreadable
	// pread is preadFD, bound at the first read, and its results: the
	// poller is handed this one function instead of a closure, which
	// would be allocated at every read.
	pread func(fd uintptr)
	n     uintptr
	errno syscall.Errno
}

// at returns the ld field as of now.
func (l *loadavg) at(now time.Time) string {
	if now.Before(l.next) {
		return l.last
	}
	l.next = now.Add(loadEvery)
	if l.f == nil {
		f, err := os.Open(loadavgPath)
		if err != nil {
			l.last = ""
			return ""
		}
		l.f = f
	}
	if l.rc == nil {
		rc, err := l.f.SyscallConn()
		if err != nil {
			l.close()
			l.last = ""
			return ""
		}
		l.rc = rc
	}
	if l.pread == nil {
		l.pread = l.preadFD
	}
	err := l.rc.Control(l.pread)
	if err != nil || l.errno != 0 {
		l.close()
		l.last = ""
		return ""
	}
	v := bytes.TrimSpace(l.buf[:l.n])
	// The string is made only when the line changed (the comparison
	// allocates nothing).
	if string(v) != l.last {
		l.last = string(v)
	}
	return l.last
}

// preadFD reads the file from its start into buf (at).
func (l *loadavg) preadFD(fd uintptr) {
	l.n, _, l.errno = syscall.RawSyscall6(syscall.SYS_PREAD64, fd, uintptr(unsafe.Pointer(&l.buf[0])), uintptr(len(l.buf)), 0, 0, 0)
}

func (l *loadavg) close() {
	if l.f != nil {
		_ = l.f.Close()
		l.f, l.rc = nil, nil
	}
}
