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
//
// An expiry costs no read of the descriptor: the poller watches it
// edge-triggered, and the kernel signals every expiry, so the goroutine
// stays in one wait for readiness for its whole life and turns each
// signal into a send on C. (Reading the expiry count, as a plain read
// loop does, took two reads per expiry, the second one failing with
// EAGAIN before the wait.) And set leaves the timer alone when the
// deadline is the one it is set for already: a received heartbeat
// rarely moves the core's next deadline, which is usually its own next
// status.
type wakeTimer struct {
	f  *os.File
	rc syscall.RawConn
	// C gets the time of each expiry; at most one waits in it.
	C    chan time.Time
	done chan struct{}
	// armed is the deadline the timer is set for; zero once it fired
	// (expired) or was set by duration. Owned by whoever holds the
	// daemon's loopMu (the loop, or fire on the timer's goroutine).
	armed time.Time
	// settime is setFD, bound once, and its argument and result: reset
	// hands the poller this one function instead of a closure, which
	// would be allocated at every reset (as hbd/link/rawsock.go's
	// sendState does for a send).
	settime func(fd uintptr)
	its     unix.ItimerSpec
	errno   syscall.Errno
	// fire, when set, is called with the timer and the time of each
	// expiry on the timer's goroutine, before anything is sent on C: it
	// does what it can there (the standing order's send, standing.go)
	// and says whether the expiry goes on to C, to wake the loop. Given
	// to newWakeTimer, before the goroutine starts; never changed.
	fire func(t *wakeTimer, now time.Time) bool
}

// newWakeTimer makes the timer and starts its goroutine; fire may be nil
// (every expiry goes to C).
func newWakeTimer(fire func(t *wakeTimer, now time.Time) bool) (*wakeTimer, error) {
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
	t := &wakeTimer{f: f, rc: rc, C: make(chan time.Time, 1), done: make(chan struct{}), fire: fire}
	t.settime = t.setFD
	go t.run()
	return t, nil
}

// run turns the timerfd's expiries into sends on C until it is closed.
// The function given to the poller is called once before the first
// wait, when an expiry may have come and gone unseen (the poller forgets
// readiness that came before the wait began), so that call reads the
// expiry count; every later call follows a signal of an expiry.
func (t *wakeTimer) run() {
	defer close(t.done)
	first := true
	_ = t.rc.Read(func(fd uintptr) bool {
		if first {
			first = false
			if !expired(fd) {
				return false // wait
			}
		}
		now := time.Now()
		if t.fire != nil && !t.fire(t, now) {
			return false // done here: the loop sleeps on
		}
		select {
		case t.C <- now:
		default: // one expiry waits already
		}
		return false // wait for the next one; an error (closed) ends the wait
	})
}

// expired reads the expiry count of a non-blocking timerfd: whether it
// expired since it was last read or set.
func expired(fd uintptr) bool {
	var count [8]byte
	_, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&count[0])), uintptr(len(count)))
	for e == syscall.EINTR {
		_, _, e = syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&count[0])), uintptr(len(count)))
	}
	return e == 0
}

// set sets the timer to expire at deadline, unless it is set for that
// deadline already and has not fired; setting it anew forgets an
// expiry not yet taken from C (reset).
func (t *wakeTimer) set(deadline time.Time) error {
	return t.setAt(deadline, true)
}

// arm is set without forgetting an expiry not yet taken from C: for
// fire, on the timer's goroutine, which hands nothing to C when it arms.
func (t *wakeTimer) arm(deadline time.Time) error {
	return t.setAt(deadline, false)
}

func (t *wakeTimer) setAt(deadline time.Time, forget bool) error {
	if !t.armed.IsZero() && t.armed.Equal(deadline) {
		return nil
	}
	if forget {
		t.forget()
	}
	if err := t.setIn(time.Until(deadline)); err != nil {
		return err
	}
	t.armed = deadline
	return nil
}

// fired is called by the loop when it takes an expiry from C: the
// timer is set for nothing until the next set.
func (t *wakeTimer) fired() { t.armed = time.Time{} }

// reset sets the timer to expire once after d (at once for d <= 0),
// replacing any earlier setting, and forgets an expiry not yet taken
// (one that run had signalled already may still come: an early tick,
// which the core takes as any other).
func (t *wakeTimer) reset(d time.Duration) error {
	t.forget()
	return t.setIn(d)
}

// forget drops an expiry not yet taken from C.
func (t *wakeTimer) forget() {
	select {
	case <-t.C:
	default:
	}
}

// setIn sets the timerfd to expire once after d (at once for d <= 0).
func (t *wakeTimer) setIn(d time.Duration) error {
	t.armed = time.Time{}
	d = max(d, time.Nanosecond) // zero would disarm it
	t.its = unix.ItimerSpec{Value: unix.NsecToTimespec(d.Nanoseconds())}
	if err := t.rc.Control(t.settime); err != nil {
		return fmt.Errorf("timerfd_settime: %w", err)
	}
	if t.errno != 0 {
		return fmt.Errorf("timerfd_settime: %w", t.errno)
	}
	return nil
}

// setFD sets the timerfd to its (reset).
func (t *wakeTimer) setFD(fd uintptr) {
	_, _, t.errno = syscall.RawSyscall6(unix.SYS_TIMERFD_SETTIME, fd, 0, uintptr(unsafe.Pointer(&t.its)), 0, 0, 0)
}

// close stops the timer and waits for its goroutine to return.
func (t *wakeTimer) close() {
	t.f.Close()
	<-t.done
}
