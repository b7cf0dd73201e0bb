package daemon

import (
	"fmt"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// wakeTimer is the event loop's one timer, set for the core's next
// deadline. It is a timerfd that the runtime's network poller watches
// like a socket, not a runtime timer: the runtime's monitor thread
// (sysmon), asleep while the process is idle, sleeps only until the next
// runtime timer, so a runtime timer firing every keepalive woke it every
// keepalive. The timerfd's system calls are made raw for the same reason
// as the links' (hbd/link/rawsock.go): the runtime's bookkeeping of a
// blocking call wakes the monitor too.
type wakeTimer struct {
	f  *os.File
	rc syscall.RawConn
	// C gets the time of each expiry; at most one waits in it.
	C    chan time.Time
	done chan struct{}
}

func newWakeTimer() (*wakeTimer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("timerfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "timerfd") // non-blocking: the poller watches it
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("timerfd: %w", err)
	}
	t := &wakeTimer{f: f, rc: rc, C: make(chan time.Time, 1), done: make(chan struct{})}
	go t.run()
	return t, nil
}

// run reads the timerfd's expiries until it is closed.
func (t *wakeTimer) run() {
	defer close(t.done)
	var count [8]byte // the number of expiries since the last read
	read := func(fd uintptr) bool {
		_, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&count[0])), uintptr(len(count)))
		for e == syscall.EINTR {
			_, _, e = syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&count[0])), uintptr(len(count)))
		}
		return e != syscall.EAGAIN
	}
	for {
		if err := t.rc.Read(read); err != nil {
			return // closed
		}
		select {
		case t.C <- time.Now():
		default: // one expiry waits already
		}
	}
}

// reset sets the timer to expire once after d (at once for d <= 0),
// replacing any earlier setting, and forgets an expiry not yet taken
// (one that run had read already may still come: an early tick, which
// the core takes as any other).
func (t *wakeTimer) reset(d time.Duration) error {
	select {
	case <-t.C:
	default:
	}
	d = max(d, time.Nanosecond) // zero would disarm it
	its := unix.ItimerSpec{Value: unix.NsecToTimespec(d.Nanoseconds())}
	var e syscall.Errno
	if err := t.rc.Control(func(fd uintptr) {
		_, _, e = syscall.RawSyscall6(unix.SYS_TIMERFD_SETTIME, fd, 0, uintptr(unsafe.Pointer(&its)), 0, 0, 0)
	}); err != nil {
		return fmt.Errorf("timerfd_settime: %w", err)
	}
	if e != 0 {
		return fmt.Errorf("timerfd_settime: %w", e)
	}
	return nil
}

// close stops the timer and waits for its goroutine to return.
func (t *wakeTimer) close() {
	t.f.Close()
	<-t.done
}
