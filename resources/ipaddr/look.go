package ipaddr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// addrLook is a Watch's periodic look for its address: one dump of the
// addresses of its family (RTM_GETADDR), read into a buffer kept from one
// look to the next and read in place. A look allocates nothing, however
// many addresses the interfaces hold; the library's AddrList parses every
// address into an Addr (about 1 KB each) and LinkByName the link (about
// 8 KB), so that 32 held groups on one interface, each looking once a
// minute, made about 1.3 MB of garbage a minute at rest. Its request
// and reads are raw system calls where the kernel lets them be (rawcall.go):
// the kernel answers a dump's request, and each read of its part, before
// the system call returns, so neither waits.
type addrLook struct {
	fd   int // -1: not open
	call sysCall
	seq  uint32
	req  [unix.NLMSG_HDRLEN + unix.SizeofIfAddrmsg]byte
	buf  []byte
}

// lookBuf is the size of the look's buffer. The kernel sizes a part of a
// dump from the largest read its reader made (at most 32 KB) or a page,
// whichever is more, and never more than 8 KB for a page: a reader that
// reads 8 KB gets parts that fit. A part that fills the buffer may have
// been cut short (read), and the look is then left to where.
const lookBuf = 8 << 10

// lookTimeout bounds a look's wait for the dump's answer: a look never
// blocks the Watch for long, whatever the kernel does.
const lookTimeout = time.Second

var errLookTruncated = errors.New("address dump: a part larger than the buffer")

func newAddrLook() *addrLook { return &addrLook{fd: -1} }

// open opens the look's socket in the agent's namespace.
func (l *addrLook) open(a *Agent) error {
	return a.inNS(func() error {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
		if err != nil {
			return fmt.Errorf("netlink socket: %w", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			_ = unix.Close(fd)
			return fmt.Errorf("netlink socket: %w", err)
		}
		// Connected to the kernel, the socket takes messages from the
		// kernel alone: a process of the namespace allowed to send to
		// other netlink sockets cannot slip it an answer (read does not
		// see who sent what it reads).
		if err := unix.Connect(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			_ = unix.Close(fd)
			return fmt.Errorf("netlink socket: %w", err)
		}
		l.fd = fd
		l.call = lookCall()
		l.buf = make([]byte, lookBuf)
		return nil
	})
}

// close closes the look's socket.
func (l *addrLook) close() {
	if l.fd >= 0 {
		_ = unix.Close(l.fd)
		l.fd = -1
	}
}

// heldOn says whether the interface of index holds the agent's address,
// as pick would find it there (not with duplicate address detection
// failed). An error (the socket, a dump the kernel interrupted, a part
// too large for the buffer) leaves the answer to where.
func (l *addrLook) heldOn(a *Agent, index int) (bool, error) {
	if l.fd < 0 {
		if err := l.open(a); err != nil {
			return false, err
		}
	}
	l.seq++
	ne := binary.NativeEndian
	r := l.req[:]
	ne.PutUint32(r[0:], uint32(len(r)))
	ne.PutUint16(r[4:], unix.RTM_GETADDR)
	ne.PutUint16(r[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(r[8:], l.seq)
	ne.PutUint32(r[12:], 0)
	clear(r[unix.NLMSG_HDRLEN:])
	r[unix.NLMSG_HDRLEN] = byte(a.family())
	if err := sendNoWait(l.call, l.fd, r, nil, 0); err != nil {
		l.close()
		return false, fmt.Errorf("address dump: %w", err)
	}
	held := false
	deadline := time.Now().Add(lookTimeout)
	for {
		n, err := l.read(deadline)
		if err != nil {
			// What is left of the dump would be read as the next
			// look's answer: that look opens a socket of its own.
			l.close()
			return false, err
		}
		done, ok, err := l.scan(l.buf[:n], a.spec.Addr, index)
		if err != nil {
			l.close()
			return false, err
		}
		held = held || ok
		if done {
			return held, nil
		}
	}
}

// read reads one part of the dump into l.buf, without the allocation of
// a source address that unix.Recvfrom makes. The kernel has queued the
// part by then (the request's system call, or the read before it, made
// it); if it has not, read waits for it (poll, through the runtime) until
// deadline.
func (l *addrLook) read(deadline time.Time) (int, error) {
	for {
		n, err := recvNoWait(l.call, l.fd, l.buf)
		switch {
		case errors.Is(err, unix.EAGAIN):
			if err := l.wait(deadline); err != nil {
				return 0, err
			}
			continue
		case err != nil:
			return 0, fmt.Errorf("address dump: %w", err)
		case n == 0:
			return 0, errors.New("address dump: an empty read")
		case n == len(l.buf):
			// Possibly cut short: a read gives what fits and drops the rest.
			return 0, errLookTruncated
		}
		return n, nil
	}
}

// wait waits until the look's socket has something to read, or an
// error, or deadline has passed (an error).
func (l *addrLook) wait(deadline time.Time) error {
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("address dump: no answer within %s", lookTimeout)
		}
		fds := []unix.PollFd{{Fd: int32(l.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(left.Milliseconds())+1)
		switch {
		case errors.Is(err, unix.EINTR):
		case err != nil:
			return fmt.Errorf("address dump: poll: %w", err)
		case n > 0:
			return nil
		}
	}
}

// scan reads one part of the dump: done at its end, and held if this
// part has addr on the interface of index.
func (l *addrLook) scan(b []byte, addr netip.Addr, index int) (done, held bool, err error) {
	ne := binary.NativeEndian
	for len(b) >= unix.NLMSG_HDRLEN {
		size := int(ne.Uint32(b[0:]))
		typ := ne.Uint16(b[4:])
		flags := ne.Uint16(b[6:])
		seq := ne.Uint32(b[8:])
		if size < unix.NLMSG_HDRLEN || size > len(b) {
			return false, false, errors.New("address dump: malformed message")
		}
		msg := b[:size]
		b = b[min(nlAlign(size), len(b)):]
		if seq != l.seq {
			continue // an earlier request's: never expected, skipped
		}
		if flags&unix.NLM_F_DUMP_INTR != 0 {
			return false, false, errors.New("address dump interrupted")
		}
		switch typ {
		case unix.NLMSG_DONE:
			return true, held, nil
		case unix.NLMSG_ERROR:
			if len(msg) >= unix.NLMSG_HDRLEN+4 {
				if e := int32(ne.Uint32(msg[unix.NLMSG_HDRLEN:])); e != 0 {
					return false, false, fmt.Errorf("address dump: %w", unix.Errno(-e))
				}
			}
			return true, held, nil
		case unix.RTM_NEWADDR:
			if idx, ok := holds(msg[unix.NLMSG_HDRLEN:], addr); ok && idx == index {
				held = true
			}
		}
	}
	return false, held, nil
}

// holds reads one address of the dump (an ifaddrmsg and its attributes):
// the index of its interface, and whether it is addr with duplicate
// address detection not failed. The address is IFA_LOCAL, else
// IFA_ADDRESS, as the library reads it.
func holds(m []byte, addr netip.Addr) (int, bool) {
	if len(m) < unix.SizeofIfAddrmsg {
		return 0, false
	}
	ne := binary.NativeEndian
	flags := uint32(m[2])
	index := int(ne.Uint32(m[4:]))
	var local, address []byte
	for b := m[unix.SizeofIfAddrmsg:]; len(b) >= unix.SizeofRtAttr; {
		size := int(ne.Uint16(b[0:]))
		if size < unix.SizeofRtAttr || size > len(b) {
			break
		}
		v := b[unix.SizeofRtAttr:size]
		switch ne.Uint16(b[2:]) {
		case unix.IFA_LOCAL:
			local = v
		case unix.IFA_ADDRESS:
			address = v
		case unix.IFA_FLAGS:
			if len(v) >= 4 {
				flags = ne.Uint32(v)
			}
		}
		b = b[min(rtaAlign(size), len(b)):]
	}
	ip := local
	if ip == nil {
		ip = address
	}
	got, ok := netip.AddrFromSlice(ip)
	if !ok || got.Unmap() != addr || flags&unix.IFA_F_DADFAILED != 0 {
		return 0, false
	}
	return index, true
}

func nlAlign(n int) int  { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }
func rtaAlign(n int) int { return (n + unix.RTA_ALIGNTO - 1) &^ (unix.RTA_ALIGNTO - 1) }
