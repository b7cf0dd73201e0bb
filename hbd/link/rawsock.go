package link

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The datagram system calls below are made with syscall.RawSyscall6, not
// through net.UDPConn. A socket of the net package is non-blocking, so
// recvmsg and sendto return at once (EAGAIN when there is nothing to read
// or no room to write); the poller still does the waiting
// (syscall.RawConn.Read). What RawSyscall leaves out is the runtime's
// bookkeeping of a blocking call (entersyscall): each such call wakes the
// runtime's monitor thread (sysmon) from its sleep when the process was
// idle, and the monitor then polls every 20 µs until the process is idle
// again, or hands the goroutine's processor to another thread. At one
// datagram in and one out every 10 ms, those wake-ups cost more CPU time
// than the heartbeats themselves (docs/benchmarks-history.md, "Idle cost
// at rest").

// rawConn is a socket's descriptor as the poller sees it.
type rawConn struct {
	rc syscall.RawConn
}

func newRawConn(c *net.UDPConn) (rawConn, error) {
	rc, err := c.SyscallConn()
	return rawConn{rc: rc}, err
}

// sockaddr is a destination in the kernel's form (sockaddr_in or
// sockaddr_in6), built once.
type sockaddr struct {
	raw syscall.RawSockaddrAny
	len uint32
}

// toSockaddr converts ap for sendto; a zoned address carries its zone as
// the interface index (sysAddrPort).
func toSockaddr(ap netip.AddrPort) sockaddr {
	var sa sockaddr
	a := ap.Addr()
	if a.Is4() || a.Is4In6() {
		in := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&sa.raw))
		in.Family = syscall.AF_INET
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&in.Port))[:], ap.Port())
		in.Addr = a.Unmap().As4()
		sa.len = syscall.SizeofSockaddrInet4
		return sa
	}
	in6 := (*syscall.RawSockaddrInet6)(unsafe.Pointer(&sa.raw))
	in6.Family = syscall.AF_INET6
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&in6.Port))[:], ap.Port())
	in6.Addr = a.As16()
	if z := a.Zone(); z != "" {
		if idx, err := strconv.Atoi(z); err == nil {
			in6.Scope_id = uint32(idx)
		}
	}
	sa.len = syscall.SizeofSockaddrInet6
	return sa
}

// fromSockaddr is the sender's address of a received datagram and the
// interface index of its zone (0 for none).
func fromSockaddr(raw *syscall.RawSockaddrAny) (netip.AddrPort, uint32) {
	switch raw.Addr.Family {
	case syscall.AF_INET:
		in := (*syscall.RawSockaddrInet4)(unsafe.Pointer(raw))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&in.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(in.Addr), port), 0
	case syscall.AF_INET6:
		in6 := (*syscall.RawSockaddrInet6)(unsafe.Pointer(raw))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&in6.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom16(in6.Addr), port), in6.Scope_id
	}
	return netip.AddrPort{}, 0
}

// recvBatch is the most datagrams one recvmmsg reads. Two are enough to
// learn that the socket's queue is empty when fewer come: a reader that
// read one datagram with recvmsg had to call it again, and get EAGAIN,
// before it could wait for the next one.
const recvBatch = 2

// recvSlot is the buffers of one datagram of a batch.
type recvSlot struct {
	buf, oob []byte
	from     syscall.RawSockaddrAny
	iov      unix.Iovec
}

// recvState holds a reader's buffers and the result of its last
// recvmmsg.
type recvState struct {
	slots [recvBatch]recvSlot
	hdrs  [recvBatch]unix.Mmsghdr
	k     int // datagrams the last call read
	errno syscall.Errno
}

func newRecvState(size, oobSize int) *recvState {
	st := &recvState{}
	for i := range st.slots {
		st.slots[i].buf = make([]byte, size)
		st.slots[i].oob = make([]byte, oobSize)
	}
	return st
}

// recv is one non-blocking recvmmsg of up to recvBatch datagrams: k is
// how many came (0 with errno set, EAGAIN when the queue is empty).
// Fewer than recvBatch means the queue was empty when the call returned.
func (st *recvState) recv(fd uintptr) {
	for i := range st.slots {
		sl, h := &st.slots[i], &st.hdrs[i]
		sl.iov.Base = &sl.buf[0]
		sl.iov.SetLen(len(sl.buf))
		h.Hdr = unix.Msghdr{
			Name:    (*byte)(unsafe.Pointer(&sl.from)),
			Namelen: syscall.SizeofSockaddrAny,
			Iov:     &sl.iov,
			Iovlen:  1,
			Control: &sl.oob[0],
		}
		h.Hdr.SetControllen(len(sl.oob))
		h.Len = 0
	}
	r, _, e := syscall.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&st.hdrs[0])), recvBatch, syscall.MSG_DONTWAIT, 0, 0)
	for e == syscall.EINTR { // the poller is edge-triggered: try again now, not at the next datagram
		r, _, e = syscall.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&st.hdrs[0])), recvBatch, syscall.MSG_DONTWAIT, 0, 0)
	}
	st.k, st.errno = 0, e
	if e == 0 {
		st.k = int(r)
	}
}

// datagram is the i-th datagram of the last batch: its data (clipped to
// the buffer), its control messages and its sender.
func (st *recvState) datagram(i int) (data, oob []byte, from *syscall.RawSockaddrAny) {
	sl, h := &st.slots[i], &st.hdrs[i]
	return sl.buf[:min(int(h.Len), len(sl.buf))], sl.oob[:h.Hdr.Controllen], &sl.from
}

// receive calls got with every datagram the socket receives, until got
// returns false or the socket is closed (net.ErrClosed, wrapped). It
// stays in one wait of the poller for its whole life: the poller forgets
// a readiness signalled before a wait begins, so a reader that returned
// from the wait after each datagram had to try once more (EAGAIN) before
// it could wait again. A batch shorter than recvBatch says the queue was
// empty; a datagram that comes after it signals readiness during this
// wait. failed is called with an error of recvmmsg other than EAGAIN;
// false from it ends receive too. mu, when set, is held from each read
// to the last got of its batch (a socket Drain reads too: sockShare),
// never while failed waits.
func (c rawConn) receive(st *recvState, mu *sync.Mutex, got func(i int) bool, failed func(syscall.Errno) bool) error {
	return c.rc.Read(func(fd uintptr) bool {
		for {
			if mu != nil {
				mu.Lock()
			}
			next := readBatch(st, fd, got)
			if mu != nil {
				mu.Unlock()
			}
			switch next {
			case batchWait:
				return false
			case batchEnd:
				return true
			case batchFailed:
				if !failed(st.errno) {
					return true
				}
			}
		}
	})
}

// batchNext is what receive does after a batch.
type batchNext int

const (
	batchMore   batchNext = iota // read again: the batch was full
	batchWait                    // the queue is empty: wait for readiness
	batchEnd                     // got said stop
	batchFailed                  // recvmmsg failed (st.errno)
)

// readBatch reads one batch from fd and gives it to got.
func readBatch(st *recvState, fd uintptr, got func(i int) bool) batchNext {
	st.recv(fd)
	switch st.errno {
	case 0:
	case syscall.EAGAIN:
		return batchWait
	default:
		return batchFailed
	}
	for i := range st.k {
		if !got(i) {
			return batchEnd
		}
	}
	if st.k < recvBatch {
		return batchWait
	}
	return batchMore
}

// sendState is a writer's last sendto, so that the function given to the
// poller is made once per link.
type sendState struct {
	data  []byte
	to    *sockaddr
	errno syscall.Errno
	write func(fd uintptr) bool
}

func newSendState() *sendState {
	st := &sendState{}
	st.write = st.writeFD
	return st
}

// writeFD is one non-blocking sendto; it never asks the poller to wait:
// a full send buffer (EAGAIN) is a dropped datagram, as a full queue was.
func (st *sendState) writeFD(fd uintptr) bool {
	var p unsafe.Pointer
	if len(st.data) > 0 {
		p = unsafe.Pointer(&st.data[0])
	}
	e := syscall.EINTR
	for e == syscall.EINTR {
		_, _, e = syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(p), uintptr(len(st.data)), syscall.MSG_DONTWAIT,
			uintptr(unsafe.Pointer(&st.to.raw)), uintptr(st.to.len))
	}
	st.errno = e
	return true
}

// sendto sends data to one destination without waiting.
func (c rawConn) sendto(st *sendState, data []byte, to *sockaddr) error {
	st.data, st.to = data, to
	err := c.rc.Write(st.write)
	st.data, st.to = nil, nil
	if err != nil {
		return err
	}
	if st.errno != 0 {
		return st.errno
	}
	return nil
}

// SO_MEMINFO's array (linux/sock_diag.h): its length, and the index of
// the socket's count of datagrams the kernel dropped (a full buffer).
const (
	skMemInfoVars  = 9
	skMemInfoDrops = 8
)

// sockMemInfo is SO_MEMINFO of fd (sk_rmem_alloc, sk_rcvbuf, ... the
// drops), and whether the kernel gave all of it.
func sockMemInfo(fd int) ([skMemInfoVars]uint32, bool) {
	var mi [skMemInfoVars]uint32
	l := uint32(unsafe.Sizeof(mi))
	_, _, e := syscall.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_MEMINFO, uintptr(unsafe.Pointer(&mi[0])), uintptr(unsafe.Pointer(&l)), 0)
	return mi, e == 0 && l == uint32(unsafe.Sizeof(mi))
}
