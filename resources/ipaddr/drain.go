package ipaddr

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A planned release (a graceful stop, a standby, a failback, a takeover
// command) may drain the address first: wait, up to a bound, until no TCP
// connection on it is in the middle of an exchange, then remove it. A
// request in flight when the address goes fails: the old holder can no
// longer receive its next segment or answer from the address, and once
// the new holder has announced it, that node resets a connection it does
// not know. The connections are read from the kernel's sock_diag
// (inet_diag) netlink interface, filtered in the kernel to the address.

// DrainPoll is how often a drain looks at the address's connections: a
// drain ends at most this long after the last exchange on it did.
const DrainPoll = time.Millisecond

// TCP states, as include/net/tcp_states.h numbers them.
const (
	tcpEstablished = 1
	tcpSynSent     = 2
	tcpSynRecv     = 3
	tcpFinWait1    = 4
	tcpCloseWait   = 8
	tcpLastAck     = 9
	tcpClosing     = 11
	tcpNewSynRecv  = 12
)

// drainStates are the states a dump asks for: those midExchange may call
// busy. LISTEN (its queue is connections not yet accepted, which the
// dump lists as ESTABLISHED), FIN_WAIT2 (our side is closed and its FIN
// acknowledged: the peer has all we sent), TIME_WAIT and CLOSE are left
// out: nothing is in flight on them.
const drainStates = 1<<tcpEstablished | 1<<tcpSynSent | 1<<tcpSynRecv | 1<<tcpFinWait1 |
	1<<tcpCloseWait | 1<<tcpLastAck | 1<<tcpClosing | 1<<tcpNewSynRecv

// linux/inet_diag.h.
const (
	inetDiagReqBytecode = 1 // request attribute: a filter program
	inetDiagInfo        = 2 // reply attribute: struct tcp_info
	inetDiagBCSCond     = 7 // filter op: the local address matches
	sizeofInetDiagReqV2 = 56
	sizeofInetDiagReq   = 60 // the compat request, struct inet_diag_req
	tcpdiagGetSock      = 18 // its message type, TCPDIAG_GETSOCK
	sizeofInetDiagMsg   = 72
	sizeofRtAttr        = 4
)

// Offsets of what the judgement reads in struct tcp_info: a kernel older
// than the field sends a shorter struct.
var (
	tcpInfoDataSegsOutEnd = int(unsafe.Offsetof(unix.TCPInfo{}.Data_segs_out)) + 4
	tcpInfoLastRecvEnd    = int(unsafe.Offsetof(unix.TCPInfo{}.Last_data_recv)) + 4
)

// diagConn is one TCP socket on the address, as sock_diag reports it.
type diagConn struct {
	state          uint8
	retrans        uint8  // retransmissions or probes since the peer last answered (SYN-ACKs for a request socket)
	rqueue, wqueue uint32 // unread bytes received; bytes sent and not acknowledged, or not sent yet
	info           unix.TCPInfo
	infoLen        int            // bytes of info the kernel filled (0: none, a request socket)
	peer           netip.AddrPort // the remote end
}

// midExchange says whether a connection is in the middle of an exchange
// that removing the address would break:
//
//   - being opened (SYN_SENT, SYN_RECV) or closed with a FIN not yet
//     acknowledged (FIN_WAIT1, LAST_ACK, CLOSING);
//   - established (or CLOSE_WAIT: the peer has closed its side, the
//     answer may still be coming) with bytes received that the server
//     has not read, or bytes sent that the peer has not acknowledged;
//   - established and nothing sent on it yet: a new connection whose
//     first request has not come or not been answered;
//   - established and data received more recently than data sent (the
//     times tcp_info gives, in ms): a request read and not yet answered.
//
// A connection whose peer has stopped acknowledging (being retransmitted
// or probed) is not waited for. An established connection whose last
// data went out and was acknowledged is idle (an HTTP keep-alive between
// requests): it does not hold the drain either. The judgement is a request/response one: a
// connection that received a request in the same millisecond (jiffy) as
// it sent its previous answer, and is slow to answer it, reads idle; a
// connection opened and never used reads busy until the bound.
func (c *diagConn) midExchange() bool { return c.why() != "" }

// why is midExchange's reason, "" for a connection that is not.
func (c *diagConn) why() string {
	if c.retrans > 0 {
		// The peer has stopped acknowledging (gone, or cut off): the
		// next retransmission is at least 400 ms away, and a FIN_WAIT1
		// orphan of an earlier cut would retransmit for minutes.
		return ""
	}
	switch c.state {
	case tcpSynSent, tcpSynRecv, tcpNewSynRecv:
		return "being opened"
	case tcpFinWait1, tcpLastAck, tcpClosing:
		return "its FIN not acknowledged"
	case tcpEstablished, tcpCloseWait:
	default:
		return ""
	}
	switch {
	case c.rqueue > 0:
		return fmt.Sprintf("%d bytes unread", c.rqueue)
	case c.wqueue > 0:
		return fmt.Sprintf("%d bytes not acknowledged", c.wqueue)
	case c.infoLen < tcpInfoLastRecvEnd:
		return "no tcp_info" // nothing to judge by: the bound decides
	case c.infoLen >= tcpInfoDataSegsOutEnd && c.info.Data_segs_out == 0:
		return "nothing sent yet"
	case c.info.Last_data_recv < c.info.Last_data_sent:
		return fmt.Sprintf("received %d ms ago, sent %d ms ago", c.info.Last_data_recv, c.info.Last_data_sent)
	}
	return ""
}

// String names the connection for a log line: its peer, state and why
// it is mid-exchange.
func (c *diagConn) String() string {
	return fmt.Sprintf("%s %s (%s)", c.peer, tcpStateName(c.state), c.why())
}

func tcpStateName(s uint8) string {
	switch s {
	case tcpEstablished:
		return "ESTABLISHED"
	case tcpSynSent:
		return "SYN_SENT"
	case tcpSynRecv, tcpNewSynRecv:
		return "SYN_RECV"
	case tcpFinWait1:
		return "FIN_WAIT1"
	case tcpCloseWait:
		return "CLOSE_WAIT"
	case tcpLastAck:
		return "LAST_ACK"
	case tcpClosing:
		return "CLOSING"
	}
	return fmt.Sprintf("state %d", s)
}

// connCheck counts the connections mid-exchange on one address through a
// sock_diag socket of the agent's namespace.
type connCheck struct {
	fd int
	// snmp is the namespace's /proc/net/snmp (nil when it cannot be
	// read): its TCP opens counters tell a check whether a connection
	// was opened while it walked the table (opensDuring).
	snmp     *os.File
	snmpBuf  []byte
	requests [][]byte // the dumps of one check
	v2       [][]byte // for an IPv4 address, the two dumps to fall back on
	seq      uint32
	buf      []byte
	// busyConns are the first connections mid-exchange of the last
	// check, for the log line of a drain its bound ended.
	busyConns []string
}

// maxBusyShown is how many of the connections that held a drain to its
// bound its log line names.
const maxBusyShown = 3

// openConnCheck opens a sock_diag socket in the agent's namespace for
// the agent's address.
func (a *Agent) openConnCheck() (*connCheck, error) {
	c := &connCheck{fd: -1, buf: make([]byte, 64<<10)}
	err := a.inNS(func() error {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
		if err != nil {
			return fmt.Errorf("sock_diag socket: %w", err)
		}
		c.fd = fd
		// The thread's own namespace's counters, which an open file
		// keeps: this thread has entered the agent's namespace.
		if f, err := os.Open("/proc/thread-self/net/snmp"); err == nil {
			c.snmp, c.snmpBuf = f, make([]byte, 4096)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// A dump that does not answer must not hold the release past its
	// bound for long.
	tv := unix.Timeval{Sec: 1}
	if err := unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		c.close()
		return nil, fmt.Errorf("sock_diag socket: %w", err)
	}
	if err := unix.Bind(c.fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		c.close()
		return nil, fmt.Errorf("sock_diag bind: %w", err)
	}
	// A dump walks the kernel's whole table of established sockets (all
	// namespaces share it): 262144 buckets took about 1.3 ms here. An
	// IPv6 address needs one dump; an IPv4 one has AF_INET sockets and
	// the v4-mapped ones of AF_INET6 listeners, which the compat request
	// (TCPDIAG_GETSOCK, both families) finds in one walk, the two-dumps
	// way only in two. A connection opened during a walk, in a part of
	// the table the walk has passed, is not in its answer (busy counts
	// it from the namespace's TCP opens).
	addr := a.spec.Addr
	if addr.Is4() {
		c.requests = [][]byte{diagRequestCompat(addr)}
		c.v2 = [][]byte{diagRequest(unix.AF_INET6, addr), diagRequest(unix.AF_INET, addr)}
	} else {
		c.requests = [][]byte{diagRequest(unix.AF_INET6, addr)}
	}
	return c, nil
}

func (c *connCheck) close() {
	if c.fd >= 0 {
		unix.Close(c.fd)
		c.fd = -1
	}
	if c.snmp != nil {
		c.snmp.Close()
		c.snmp = nil
	}
}

// busy returns how many connections on the address are mid-exchange.
// A kernel that refuses the compat request is asked with two dumps.
//
// A connection opened while a dump walks the table, in a part the walk
// has passed, is not in the dump: a check with none mid-exchange would
// let the address go with that connection's request unanswered (one
// handover in ten or so of the benchmark's, with a request every 20 ms
// and a walk of 1.5 ms). So a check also reads the namespace's count of
// TCP connections opened, before and after its dumps; if it moved, the
// check counts one more connection mid-exchange, and the next check,
// which finds that connection in the table, judges it. The count is the
// namespace's, not the address's: a connection to another address of
// the node during a walk makes one more check too.
func (c *connCheck) busy() (int, error) {
	before, counted := c.opens()
	n, err := c.check()
	if err != nil && c.v2 != nil {
		c.requests, c.v2 = c.v2, nil
		n, err = c.check()
	}
	if err != nil || !counted {
		return n, err
	}
	if after, ok := c.opens(); ok && after != before {
		n++
		if len(c.busyConns) < maxBusyShown {
			c.busyConns = append(c.busyConns, fmt.Sprintf("%d opened during the look", after-before))
		}
	}
	return n, nil
}

// opens is the namespace's TCP connections opened so far (ActiveOpens
// plus PassiveOpens of /proc/net/snmp); false when it cannot be read.
func (c *connCheck) opens() (uint64, bool) {
	if c.snmp == nil {
		return 0, false
	}
	n, err := c.snmp.ReadAt(c.snmpBuf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, false
	}
	return tcpOpens(c.snmpBuf[:n])
}

// tcpOpens reads ActiveOpens plus PassiveOpens from the text of
// /proc/net/snmp: a "Tcp:" line of names, then one of values.
func tcpOpens(b []byte) (uint64, bool) {
	var names []string
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Tcp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		var sum uint64
		found := 0
		for i, name := range names {
			if (name == "ActiveOpens" || name == "PassiveOpens") && i < len(f) {
				v, err := strconv.ParseUint(f[i], 10, 64)
				if err != nil {
					return 0, false
				}
				sum += v
				found++
			}
		}
		if found != 2 {
			return 0, false
		}
		return sum, true
	}
	return 0, false
}

func (c *connCheck) check() (int, error) {
	n := 0
	c.busyConns = c.busyConns[:0]
	for _, req := range c.requests {
		c.seq++
		binary.NativeEndian.PutUint32(req[8:], c.seq)
		if err := unix.Sendto(c.fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			return 0, fmt.Errorf("sock_diag request: %w", err)
		}
		k, err := c.dump(c.seq)
		if err != nil {
			return 0, err
		}
		n += k
	}
	return n, nil
}

// dump reads the answer to request seq and counts its busy connections.
func (c *connCheck) dump(seq uint32) (int, error) {
	busy := 0
	for {
		n, _, err := unix.Recvfrom(c.fd, c.buf, 0)
		if err == unix.EINTR {
			// A socket with SO_RCVTIMEO is not restarted after a signal
			// (signal(7)): the answer is still to come.
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("sock_diag answer: %w", err)
		}
		msgs, err := splitNetlink(c.buf[:n])
		if err != nil {
			return 0, err
		}
		for _, m := range msgs {
			if m.seq != seq {
				continue // an answer to an earlier request that timed out
			}
			switch m.typ {
			case unix.NLMSG_DONE:
				return busy, nil
			case unix.NLMSG_ERROR:
				if len(m.data) >= 4 {
					if e := int32(binary.NativeEndian.Uint32(m.data)); e != 0 {
						return 0, fmt.Errorf("sock_diag: %w", unix.Errno(-e))
					}
				}
				return 0, errors.New("sock_diag: error answer")
			case unix.SOCK_DIAG_BY_FAMILY, tcpdiagGetSock:
				conn, err := parseDiagMsg(m.data)
				if err != nil {
					return 0, err
				}
				if conn.midExchange() {
					busy++
					if len(c.busyConns) < maxBusyShown {
						c.busyConns = append(c.busyConns, conn.String())
					}
				}
			}
		}
	}
}

// nlMsg is one netlink message of a datagram.
type nlMsg struct {
	typ  uint16
	seq  uint32
	data []byte
}

func splitNetlink(b []byte) ([]nlMsg, error) {
	var out []nlMsg
	ne := binary.NativeEndian
	for len(b) >= unix.SizeofNlMsghdr {
		l := int(ne.Uint32(b))
		if l < unix.SizeofNlMsghdr || l > len(b) {
			return nil, fmt.Errorf("sock_diag: netlink message of %d bytes in %d", l, len(b))
		}
		out = append(out, nlMsg{typ: ne.Uint16(b[4:]), seq: ne.Uint32(b[8:]), data: b[unix.SizeofNlMsghdr:l]})
		b = b[min(align4(l), len(b)):]
	}
	return out, nil
}

// parseDiagMsg reads a struct inet_diag_msg and its INET_DIAG_INFO.
func parseDiagMsg(b []byte) (diagConn, error) {
	if len(b) < sizeofInetDiagMsg {
		return diagConn{}, fmt.Errorf("sock_diag: inet_diag_msg of %d bytes", len(b))
	}
	ne := binary.NativeEndian
	c := diagConn{state: b[1], retrans: b[3], rqueue: ne.Uint32(b[56:]), wqueue: ne.Uint32(b[60:])}
	// struct inet_diag_sockid at 4: sport, dport (big endian), src, dst.
	dport := binary.BigEndian.Uint16(b[6:])
	if b[0] == unix.AF_INET {
		c.peer = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[24:28])), dport)
	} else {
		c.peer = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[24:40])).Unmap(), dport)
	}
	attrs := b[sizeofInetDiagMsg:]
	for len(attrs) >= sizeofRtAttr {
		l := int(ne.Uint16(attrs))
		if l < sizeofRtAttr || l > len(attrs) {
			break
		}
		if ne.Uint16(attrs[2:]) == inetDiagInfo {
			info := (*[unsafe.Sizeof(unix.TCPInfo{})]byte)(unsafe.Pointer(&c.info))
			c.infoLen = copy(info[:], attrs[sizeofRtAttr:l])
		}
		attrs = attrs[min(align4(l), len(attrs)):]
	}
	return c, nil
}

func align4(n int) int { return (n + 3) &^ 3 }

// diagRequest is a dump request of the TCP sockets of family whose local
// address is addr, in drainStates, with their tcp_info. The filter runs
// in the kernel (an AF_INET condition also matches the v4-mapped
// addresses of AF_INET6 sockets); the sequence number is set per request.
func diagRequest(family uint8, addr netip.Addr) []byte {
	b := diagMessage(unix.SOCK_DIAG_BY_FAMILY, sizeofInetDiagReqV2, addr)
	r := b[unix.SizeofNlMsghdr:]
	r[0] = family
	r[1] = unix.IPPROTO_TCP
	r[2] = 1 << (inetDiagInfo - 1)
	binary.NativeEndian.PutUint32(r[4:], drainStates)
	return b
}

// diagRequestCompat is the request of Linux's first inet_diag interface
// (struct inet_diag_req): one dump of the TCP sockets of both families
// whose local address is addr, in drainStates, with their tcp_info.
func diagRequestCompat(addr netip.Addr) []byte {
	b := diagMessage(tcpdiagGetSock, sizeofInetDiagReq, addr)
	r := b[unix.SizeofNlMsghdr:]
	r[0] = unix.AF_INET // not read: the compat dump is of every family
	r[3] = 1 << (inetDiagInfo - 1)
	// id (struct inet_diag_sockid, 48 bytes) at 4 stays zero
	binary.NativeEndian.PutUint32(r[52:], drainStates)
	return b
}

// diagMessage is a dump request of type typ: a request header of hdrLen
// bytes for the caller to fill, then the filter on the local address.
func diagMessage(typ uint16, hdrLen int, addr netip.Addr) []byte {
	ab := addr.AsSlice()
	condFamily := uint8(unix.AF_INET6)
	if addr.Is4() {
		condFamily = unix.AF_INET
	}
	// struct inet_diag_bc_op {code, yes, no}, then struct
	// inet_diag_hostcond {family, prefix_len, port}, then the address.
	// yes jumps to the end (accept), no past it (reject).
	opLen := 4 + 8 + len(ab)
	bc := make([]byte, opLen)
	bc[0] = inetDiagBCSCond
	bc[1] = byte(opLen)
	binary.NativeEndian.PutUint16(bc[2:], uint16(opLen+4))
	bc[4] = condFamily
	bc[5] = byte(8 * len(ab))
	binary.NativeEndian.PutUint32(bc[8:], ^uint32(0)) // port -1: any
	copy(bc[12:], ab)

	attrLen := sizeofRtAttr + len(bc)
	total := unix.SizeofNlMsghdr + hdrLen + align4(attrLen)
	b := make([]byte, total)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(total))
	ne.PutUint16(b[4:], typ)
	ne.PutUint16(b[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	at := b[unix.SizeofNlMsghdr+hdrLen:]
	ne.PutUint16(at[0:], uint16(attrLen))
	ne.PutUint16(at[2:], inetDiagReqBytecode)
	copy(at[sizeofRtAttr:], bc)
	return b
}

// drained is what a drain did, for the release's log line.
type drained struct {
	waited  time.Duration
	checks  int
	busy    int      // connections mid-exchange at the last check
	shown   []string // the first of them
	full    bool     // the bound ended the drain
	err     error
	last    time.Time     // when the last check ended
	removal time.Duration // from the last check to the address removed (the caller's)
}

func (d drained) String() string {
	ms := func(t time.Duration) float64 { return float64(t.Microseconds()) / 1000 }
	how := fmt.Sprintf("%d checks, removed %.2f ms after the last", d.checks, ms(d.removal))
	switch {
	case d.err != nil:
		return fmt.Sprintf("not drained (%v)", d.err)
	case d.full:
		conns := "connections"
		if d.busy == 1 {
			conns = "connection"
		}
		return fmt.Sprintf("after draining %.1f ms, the bound (%s), with %d %s still mid-exchange: %s", ms(d.waited), how, d.busy, conns, strings.Join(d.shown, ", "))
	default:
		return fmt.Sprintf("after draining %.1f ms (%s)", ms(d.waited), how)
	}
}

// drain waits until no connection on the address is mid-exchange,
// checking every DrainPoll, for at most bound (or until ctx ends). It
// returns at once after a check that found none, so that the caller's
// removal follows the last check with nothing in between: a connection
// opened after that check and before the removal is the only one a
// drain cannot save.
func (a *Agent) drain(ctx context.Context, bound time.Duration) drained {
	began := time.Now()
	c, err := a.openConnCheck()
	if err != nil {
		return drained{err: err}
	}
	defer c.close()
	deadline := began.Add(bound)
	for checks := 1; ; checks++ {
		n, err := c.busy()
		now := time.Now()
		d := drained{waited: now.Sub(began), checks: checks, busy: n, err: err, last: now}
		if err != nil || n == 0 {
			return d
		}
		left := deadline.Sub(now)
		if left <= 0 || ctx.Err() != nil || !sleepCtx(ctx, min(DrainPoll, left)) {
			d.full, d.shown = true, c.busyConns
			return d
		}
	}
}
