package daemon

import (
	"encoding/binary"
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// taskDir lists the threads of this process from /proc/self/task, kept
// open and read again from its start with raw system calls (lseek,
// getdents64) into a buffer of its own: the realtime sweep lists them
// every rtSweepEvery at rest, and os.ReadDir opened the directory, made
// its calls in the runtime's blocking-call state (which wakes the
// runtime's monitor thread when the process is idle) and allocated every
// name. It belongs to one goroutine (the event loop's).
type taskDir struct {
	fd  int // -1 or 0 before the first list: not open
	buf []byte
}

// list appends the thread ids to dst[:0].
func (t *taskDir) list(dst []int) ([]int, error) {
	dst = dst[:0]
	if t.buf == nil {
		fd, err := unix.Open("/proc/self/task", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("threads: %w", err)
		}
		t.fd, t.buf = fd, make([]byte, 4096)
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_LSEEK, uintptr(t.fd), 0, 0); e != 0 {
		return nil, fmt.Errorf("threads: lseek /proc/self/task: %w", e)
	}
	for {
		n, _, e := syscall.RawSyscall(unix.SYS_GETDENTS64, uintptr(t.fd), uintptr(unsafe.Pointer(&t.buf[0])), uintptr(len(t.buf)))
		if e != 0 {
			return nil, fmt.Errorf("threads: getdents64 /proc/self/task: %w", e)
		}
		if n == 0 {
			return dst, nil
		}
		dst = appendTaskIDs(dst, t.buf[:n])
	}
}

// appendTaskIDs appends the numeric names of the linux_dirent64 records
// in b (d_ino 8 bytes, d_off 8, d_reclen 2, d_type 1, then the name,
// NUL-terminated) to dst: "." and ".." are not numbers.
func appendTaskIDs(dst []int, b []byte) []int {
	for len(b) >= 19 {
		reclen := int(binary.NativeEndian.Uint16(b[16:18]))
		if reclen < 19 || reclen > len(b) {
			break
		}
		id, ok := 0, false
		for _, c := range b[19:reclen] {
			if c == 0 {
				break
			}
			if c < '0' || c > '9' {
				ok = false
				break
			}
			id, ok = id*10+int(c-'0'), true
		}
		if ok {
			dst = append(dst, id)
		}
		b = b[reclen:]
	}
	return dst
}

func (t *taskDir) close() {
	if t.buf != nil {
		_ = unix.Close(t.fd)
		t.buf = nil
	}
}
