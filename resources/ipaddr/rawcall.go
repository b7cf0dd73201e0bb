package ipaddr

import (
	"bytes"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A Watch's look and refresh at rest (a dump of the addresses on a
// netlink socket, two frames on a packet socket, once a minute) are made
// with syscall.RawSyscall6 where they cannot block, not through the
// runtime's blocking-call bookkeeping (entersyscall, which syscall.Syscall,
// unix.Read and unix.Sendto go through). Each such call wakes the
// runtime's monitor thread (sysmon) from its sleep when the process was
// idle, and the monitor then polls every 20 µs or so until the process is
// idle again: 19 to 82 timeslices, 0.3 to 1.4 ms of CPU a minute on the
// holder (docs/benchmarks-history.md, "The bench's idle rows at
// keepalive 1 s against a pair by hand"). A raw call keeps its processor
// for as long as the kernel keeps it, with every other goroutine of a
// daemon at GOMAXPROCS 1 waiting: it is made only where the kernel does
// not wait (MSG_DONTWAIT, and no lock a busy process may hold for long).

// sysCall is syscall.RawSyscall6 or syscall.Syscall6.
type sysCall func(trap, a1, a2, a3, a4, a5, a6 uintptr) (uintptr, uintptr, syscall.Errno)

// dumpsUnlockedMajor and dumpsUnlockedMinor are the kernel version
// from which on an address dump (RTM_GETADDR) is taken as read without
// the rtnl lock. Older kernels ran every rtnetlink dump under it, and a
// process that holds it (an interface or a namespace torn down, a burst
// of configuration) held a dump's system call as long. Measured on
// 6.18.44: while a namespace with 1,400 interfaces was deleted, a link
// dump and a link change each waited 118 ms, and about 3,500 address
// dumps of each family in the same time took at most 1.4 ms. The
// version is set well above that of the change, so that a kernel this
// code was not measured on keeps the runtime's calls.
const (
	dumpsUnlockedMajor = 6
	dumpsUnlockedMinor = 12
)

// lookCall is the system call for a look's dump in this kernel: raw
// when its address dumps do not take the rtnl lock, through the runtime
// otherwise (a wait for the lock then holds a thread, not the daemon's
// processor).
func lookCall() sysCall {
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil && releaseAtLeast(u.Release[:], dumpsUnlockedMajor, dumpsUnlockedMinor) {
		return syscall.RawSyscall6
	}
	return syscall.Syscall6
}

// releaseAtLeast says whether the kernel release rel ("6.18.44-fc",
// NUL-padded) is at least version major.minor; false when rel does not
// start with two numbers.
func releaseAtLeast(rel []byte, major, minor int) bool {
	if i := bytes.IndexByte(rel, 0); i >= 0 {
		rel = rel[:i]
	}
	var v [2]int
	for i := range v {
		j := 0
		for j < len(rel) && rel[j] >= '0' && rel[j] <= '9' {
			j++
		}
		n, err := strconv.Atoi(string(rel[:j]))
		if err != nil {
			return false
		}
		v[i] = n
		rel = rel[j:]
		if i == 0 {
			if len(rel) == 0 || rel[0] != '.' {
				return false
			}
			rel = rel[1:]
		}
	}
	return v[0] > major || v[0] == major && v[1] >= minor
}

// sendNoWait is one sendto of b on fd with MSG_DONTWAIT, to the address
// to of length toLen (nil and 0 on a connected socket), made with call,
// again on EINTR.
func sendNoWait(call sysCall, fd int, b []byte, to unsafe.Pointer, toLen uintptr) error {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	for {
		_, _, e := call(unix.SYS_SENDTO, uintptr(fd), uintptr(p), uintptr(len(b)), unix.MSG_DONTWAIT, uintptr(to), toLen)
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return e
	}
}

// recvNoWait is one recvfrom into b on fd with MSG_DONTWAIT, without the
// sender's address, made with call, again on EINTR: EAGAIN when nothing
// is queued.
func recvNoWait(call sysCall, fd int, b []byte) (int, error) {
	for {
		n, _, e := call(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			return int(n), nil
		case unix.EINTR:
			continue
		}
		return 0, e
	}
}
