package daemon

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// procFile is a small /proc file kept open and read again from its start
// with one pread into a buffer of its own: no open, fstat and close per
// read, no allocation. The pread is a raw system call, as the links' are
// (hbd/link/rawsock.go): such a file never blocks a read, and a call
// through the runtime's blocking-call state (os.File.Read) wakes its
// monitor thread when the process is idle. A procFile belongs to one
// goroutine; the file is opened at the first read and again after an
// error.
type procFile struct {
	path string
	f    *os.File
	rc   syscall.RawConn
	buf  []byte
	// pread is preadFD, bound at the first read, and its results: the
	// poller is handed this one function instead of a closure, which
	// would be allocated at every read.
	pread func(fd uintptr)
	n     uintptr
	errno syscall.Errno
}

// newProcFile reads path, size bytes at most.
func newProcFile(path string, size int) *procFile {
	return &procFile{path: path, buf: make([]byte, size)}
}

// read returns the file's content (at most len(buf) bytes), valid until
// the next read.
func (p *procFile) read() ([]byte, error) {
	if p.f == nil {
		f, err := os.Open(p.path)
		if err != nil {
			return nil, err
		}
		p.f = f
	}
	if p.rc == nil {
		rc, err := p.f.SyscallConn()
		if err != nil {
			p.close()
			return nil, fmt.Errorf("%s: %w", p.path, err)
		}
		p.rc = rc
	}
	if p.pread == nil {
		p.pread = p.preadFD
	}
	if err := p.rc.Control(p.pread); err != nil {
		p.close()
		return nil, fmt.Errorf("read %s: %w", p.path, err)
	}
	if p.errno != 0 {
		p.close()
		return nil, fmt.Errorf("read %s: %w", p.path, p.errno)
	}
	return p.buf[:p.n], nil
}

// preadFD reads the file from its start into buf (read).
func (p *procFile) preadFD(fd uintptr) {
	p.n, _, p.errno = syscall.RawSyscall6(syscall.SYS_PREAD64, fd, uintptr(unsafe.Pointer(&p.buf[0])), uintptr(len(p.buf)), 0, 0, 0)
}

func (p *procFile) close() {
	if p.f != nil {
		_ = p.f.Close()
		p.f, p.rc = nil, nil
	}
}
