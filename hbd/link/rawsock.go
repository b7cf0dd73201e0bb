package link

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"unsafe"
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
// than the heartbeats themselves (docs/benchmarks.md, "Idle cost at rest").

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

// recvmsg reads one datagram into p and its control messages into oob,
// waiting (in the poller) until one is there; n is the datagram's length
// clipped to len(p). The error is net.ErrClosed (wrapped) once the socket
// is closed.
func (c rawConn) recvmsg(st *recvState) error {
	return c.rc.Read(st.read)
}

// recvState holds a reader's buffers and the result of its last read, so
// that the function given to the poller is made once per reader.
type recvState struct {
	buf, oob []byte
	from     syscall.RawSockaddrAny
	iov      syscall.Iovec
	msg      syscall.Msghdr
	n, oobn  int
	errno    syscall.Errno
	read     func(fd uintptr) bool
}

func newRecvState(size, oobSize int) *recvState {
	st := &recvState{buf: make([]byte, size), oob: make([]byte, oobSize)}
	st.read = st.readFD
	return st
}

// readFD is one non-blocking recvmsg; false asks the poller to wait for
// the socket to be readable and call it again.
func (st *recvState) readFD(fd uintptr) bool {
	st.iov.Base = &st.buf[0]
	st.iov.SetLen(len(st.buf))
	st.msg = syscall.Msghdr{
		Name:    (*byte)(unsafe.Pointer(&st.from)),
		Namelen: syscall.SizeofSockaddrAny,
		Iov:     &st.iov,
		Iovlen:  1,
		Control: &st.oob[0],
	}
	st.msg.SetControllen(len(st.oob))
	r, _, e := syscall.RawSyscall6(syscall.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&st.msg)), syscall.MSG_DONTWAIT, 0, 0, 0)
	for e == syscall.EINTR { // the poller is edge-triggered: try again now, not at the next datagram
		r, _, e = syscall.RawSyscall6(syscall.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&st.msg)), syscall.MSG_DONTWAIT, 0, 0, 0)
	}
	if e == syscall.EAGAIN {
		return false
	}
	st.errno = e
	st.n, st.oobn = 0, 0
	if e == 0 {
		st.n, st.oobn = int(r), int(st.msg.Controllen)
	}
	return true
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
