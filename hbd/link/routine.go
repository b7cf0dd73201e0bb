package link

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/hbdproject/hbd/hbd/config"
)

// Flood handling of the routine sockets (steer.go). A routine socket is
// read at the caller's wake-ups (Set.Drain); between two of them its
// buffer holds a few hundred datagrams. The mark is public, so a flood of
// marked datagrams forged with a peer's source address could fill it and
// make the kernel drop the peer's real statuses. A drain that reads more
// than floodDrain datagrams, or learns of a kernel drop (a datagram's
// SO_RXQ_OVFL, or, after a drain that read anything, the socket's own
// count: dropped), therefore puts the socket in the runtime's poller (a reader goroutine on a duplicate of its
// descriptor, as the peer's own socket has); once the drains have seen no
// more than quietDrain datagrams per keepalive (Options.Keepalive) of the
// time between two of them for quietFor, the reader stops and the socket
// is read at wake-ups again. Per keepalive, not per wake-up: a quiet node
// (hbd/cluster's quiet passive) wakes once every few keepalives and then
// finds as many of its peer's statuses. A burst that lands between two
// drains can fill the socket's buffer, and the kernel then drops every
// datagram of the peer behind it until the next drain: the statuses of
// one wake-up's interval, which for a quiet node is about a deadtime.
// The drain that finds the flood says so (TakeFloods), and the caller's
// core then declares no peer dead for a deadtime (hbd/cluster's
// RoutineFlood), within which flood mode has read the peer's next
// statuses at once.
const (
	floodDrain = 32
	quietDrain = 4
	quietFor   = 5 * time.Second
)

// routineSock is a peer's routine socket: a descriptor out of the poller.
type routineSock struct {
	fd int
	sp sockPlan
	st *recvState
	// sockShare is the socket's drop count as last seen (by a
	// datagram's SO_RXQ_OVFL or the socket's SO_MEMINFO: the same
	// counter) and the order of the arrivals given, by Drain or, in flood
	// mode, by the reader, which holds its lock across each batch (Drain
	// reads the socket then too, under the lock).
	sockShare
	// emptySince is a moment the socket's queue was known empty after
	// (a read that came short began then, or the socket was bound): what
	// a drain reads arrived later, whatever the kernel's wall-clock stamp
	// says. Zero when unknown (after a flood mode).
	emptySince time.Time
	// poll is the reader of flood mode (nil when read at wake-ups), its
	// file (a duplicate descriptor) and count the datagrams it read;
	// seen is count at the last Drain, seenAt when that was, and
	// quietSince when the drains began to find it quiet.
	poll       *os.File
	pollQuit   chan struct{}
	pollDone   chan struct{}
	count      atomic.Uint64
	seen       uint64
	seenAt     time.Time
	quietSince time.Time
	// own is the peer's own socket, read after the routine one (drainOwn).
	own *ownSock
}

// ownSock is a steered peer's own socket as Drain reads it. Its reader
// goroutine holds mu from each read until it has handed the batch on
// (Options.Peer or Packets), and Drain holds it while it reads the socket
// itself: once Drain has read it, every datagram of the peer that came
// before has been handed on or given to Drain's fn, whatever the reader
// goroutine was doing (not yet woken, or verifying one). drops is the
// socket's SO_RXQ_OVFL counter as counted by either, and order the
// arrivals given by either.
type ownSock struct {
	sockShare
	rc   syscall.RawConn
	st   *recvState
	recv func(fd uintptr) // st.recv, bound once
}

func newOwnSock(c *net.UDPConn) (*ownSock, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	o := &ownSock{rc: rc}
	o.recv = func(fd uintptr) { o.st.recv(fd) }
	return o, nil
}

// steerable: a ucast link with a peer to steer for.
func (l *link) steerable() bool {
	if l.plan.Kind != config.Ucast && l.plan.Kind != config.Ucast6 {
		return false
	}
	for _, t := range l.plan.Targets {
		if l.plan.Socks[t.Sock].Role == roleUnicast {
			return true
		}
	}
	return false
}

// openPlain opens the link's sockets without steering: one per local
// address and port, and a connected one per ucast peer
// (openPeerSockets).
func (l *link) openPlain(ctx context.Context, notedEPERM *bool, log logrus.FieldLogger) error {
	lp := l.plan
	for _, sp := range lp.Socks {
		if err := l.openShared(ctx, sp, false, notedEPERM, log); err != nil {
			return err
		}
	}
	if err := l.openPeerSockets(ctx); err != nil {
		return fmt.Errorf("link: %w", err)
	}
	return nil
}

// openShared opens the socket of sp that sends (conns, raws).
func (l *link) openShared(ctx context.Context, sp sockPlan, reusePort bool, notedEPERM *bool, log logrus.FieldLogger) error {
	lp := l.plan
	c, so, err := openSocket(ctx, lp.Iface, sp, reusePort)
	if err != nil {
		return fmt.Errorf("link: %s: %s %s: %w", sp.Pos, lp.Kind, lp.Iface.Name, err)
	}
	l.conns = append(l.conns, c)
	rc, err := newRawConn(c)
	if err != nil {
		return fmt.Errorf("link: %s: %s %s: %w", sp.Pos, lp.Kind, lp.Iface.Name, err)
	}
	l.raws = append(l.raws, rc)
	if so.deviceEPERM && !*notedEPERM {
		*notedEPERM = true
		log.Debugf("%s: SO_BINDTODEVICE not permitted (not root?): sockets are not bound to their interface", lp.Kind)
	}
	return nil
}

// openSteered opens the link's sockets with steering (steer.go): for each
// local address and port with peers, the shared socket, then per peer its
// own socket (peerConns) and its routine socket (routine), all in one
// reuseport group, and the program that sorts the datagrams among them.
// It fails if the kernel refuses any of it, or if the group has sockets
// of another process (the program picks sockets by their index in the
// group: only a group of this link's sockets alone has the indexes it
// expects).
func (l *link) openSteered(ctx context.Context, attach func(int, []unix.SockFilter) error, notedEPERM *bool, log logrus.FieldLogger) error {
	lp := l.plan
	for i, sp := range lp.Socks {
		var peers []netip.Addr
		for _, t := range lp.Targets {
			if t.Sock == i && sp.Role == roleUnicast && !slices.Contains(peers, t.Dst.Addr()) {
				peers = append(peers, t.Dst.Addr())
			}
		}
		if err := l.openShared(ctx, sp, len(peers) > 0, notedEPERM, log); err != nil {
			return err
		}
		if len(peers) == 0 {
			continue
		}
		var sp2 []steerPeer
		for k, a := range peers {
			c, _, err := openSocket(ctx, lp.Iface, sp, true)
			if err != nil {
				return fmt.Errorf("socket for peer %s: %w", a, err)
			}
			own, err := newOwnSock(c)
			l.peerConns = append(l.peerConns, c)
			l.peerSock = append(l.peerSock, i)
			l.peerOwn = append(l.peerOwn, own)
			if err != nil {
				return fmt.Errorf("socket for peer %s: %w", a, err)
			}
			opened := time.Now()
			fd, err := openRawSocket(lp.Iface, sp)
			if err != nil {
				return fmt.Errorf("routine socket for peer %s: %w", a, err)
			}
			l.routine = append(l.routine, &routineSock{fd: fd, sp: sp, emptySince: opened, own: own})
			sp2 = append(sp2, steerPeer{addr: a, own: uint32(1 + 2*k), routine: uint32(2 + 2*k)})
		}
		if n, err := groupSockets(sysAddrPort(sp.Bind, lp.Iface), l.conns[len(l.conns)-1]); err != nil {
			return err
		} else if n != 1+2*len(peers) {
			return fmt.Errorf("%d sockets that could join the group bound to %s, %d of them this link's: %w", n, sp.Bind, 1+2*len(peers), errShared)
		}
		prog, err := steerProgram(sp.Bind.Addr().Is4(), sp2, 0)
		if err != nil {
			return err
		}
		rc, err := l.conns[len(l.conns)-1].SyscallConn()
		if err != nil {
			return fmt.Errorf("steering: %w", err)
		}
		var aerr error
		if err := rc.Control(func(fd uintptr) { aerr = attach(int(fd), prog) }); err != nil {
			return fmt.Errorf("steering: %w", err)
		}
		if aerr != nil {
			return aerr
		}
	}
	return nil
}

// errShared is openSteered's error when sockets other than the link's
// share its address and port.
var errShared = errors.New("others share the address (another process, or the steered links a reload replaces, which stay open until the new ones are)")

// closeSockets closes every socket of the link and forgets them (a
// steering that failed half-way).
func (l *link) closeSockets() {
	for _, c := range l.conns {
		c.Close()
	}
	for _, c := range l.peerConns {
		c.Close()
	}
	for _, r := range l.routine {
		unix.Close(r.fd)
	}
	l.conns, l.raws, l.peerConns, l.peerSock, l.peerOwn, l.routine = nil, nil, nil, nil, nil, nil
}

// procAddr writes ap as /proc/net/udp's local_address column does: the
// address as 32-bit words in the machine's byte order, each in upper-case
// hex, then the port in hex.
func procAddr(ap netip.AddrPort) string {
	var b []byte
	if a := ap.Addr(); a.Is4() {
		v := a.As4()
		b = v[:]
	} else {
		v := a.As16()
		b = v[:]
	}
	var sb strings.Builder
	for i := 0; i < len(b); i += 4 {
		var w [4]byte
		binary.BigEndian.PutUint32(w[:], binary.NativeEndian.Uint32(b[i:i+4]))
		sb.WriteString(strings.ToUpper(hex.EncodeToString(w[:])))
	}
	sb.WriteString(":")
	p := strings.ToUpper(strconv.FormatUint(uint64(ap.Port()), 16))
	sb.WriteString(strings.Repeat("0", 4-len(p)) + p)
	return sb.String()
}

// Drain reads what waits in every routine socket of every link (steer.go),
// then in the peer's own socket, and gives each datagram to fn, in the
// order each socket received them (not across the two: Packet.At says
// when each arrived); Packet.Data is valid only until fn returns. The
// caller calls it at the start of a wake-up, before it acts on the event
// that woke it (a wake-up of its own timer may go without it while
// nothing the routine sockets can hold matters yet: hbd/daemon's tick):
// a peer's routine message sent before a message that wakes the caller
// is then read first. And once Drain returns, every
// datagram of a peer that arrived before the last one it gave fn has been
// given to fn or handed on by a reader goroutine (to Options.Peer or
// Packets): a caller that also takes what waits in its own queue has
// every peer's messages that came before that one. Packet.At orders them
// by arrival, but it rests on the kernel's wall-clock stamps (a clock
// step can misplace one): a caller that can read the order the peer sent
// them in should use it (hbd/daemon: its seq), and a datagram of the peer
// that arrives while Drain runs may be handed on before an earlier one
// Drain did not find; a caller that sees a gap in that order and calls
// Drain again, after taking what waits in its queue, has that earlier one
// too. Drain is called from one goroutine only. A routine socket in
// flood mode is read at once by its reader goroutine too (to Options.Peer
// or Packets, as a peer's own socket is), and by Drain under the lock
// that reader holds across each batch, as the peer's own socket is: what
// the reader read before has been handed on when Drain returns, and what
// waited in the socket, up to floodDrain datagrams, has been given to fn.
func (s *Set) Drain(fn func(Packet)) {
	s.drainMu.Lock()
	defer s.drainMu.Unlock()
	if s.closed.Load() {
		return
	}
	var now time.Time
	for _, l := range s.links {
		for _, r := range l.routine {
			if r.poll != nil {
				if now.IsZero() {
					now = time.Now()
				}
				s.pollQuiet(l, r, now)
			}
			if r.poll != nil {
				s.drainFlooded(l, r, fn)
			} else if n, over := s.drainOne(l, r, fn); n > floodDrain || over || n > 0 && r.dropped(l) {
				l.floodFound.Store(true)
				s.startPoll(l, r)
			}
			s.drainOwn(l, r, fn)
		}
	}
}

// dropped: the kernel dropped datagrams of r since the last look, by the
// socket's own count (SO_MEMINFO), which are then counted in the link's
// KernelDrops. A datagram's SO_RXQ_OVFL tells of drops only when one is
// queued after them; a few large datagrams forged to fill the buffer
// exactly leave none, and the peer's statuses behind them are dropped
// unseen. Asked after a drain that read something (a buffer that was
// full holds what filled it until a drain reads it), and when flood
// mode ends, with no reader.
func (r *routineSock) dropped(l *link) bool {
	mi, ok := sockMemInfo(r.fd)
	if !ok {
		return false
	}
	return r.moreDrops(l, mi[skMemInfoDrops])
}

// drainFlooded reads r in flood mode as drainOne does, under the lock its
// reader goroutine holds across each batch: a routine datagram of the
// peer that came before one of its other datagrams is then never in the
// reader's hands, nor still in the socket behind fewer than floodDrain
// datagrams, while the other one is given to the caller. What it reads
// counts as the reader's for the end of the flood mode (pollQuiet).
func (s *Set) drainFlooded(l *link, r *routineSock, fn func(Packet)) {
	r.mu.Lock()
	n, _ := s.drainOne(l, r, fn)
	r.mu.Unlock()
	r.count.Add(uint64(n))
}

// drainOne reads r until it is empty, or until it has read more than
// floodDrain datagrams (a flood may come faster than the caller takes
// them: the rest is left for flood mode's reader): how many it read and
// whether the kernel dropped any since the last read.
func (s *Set) drainOne(l *link, r *routineSock, fn func(Packet)) (n int, over bool) {
	if r.st == nil {
		r.st = newRecvState(s.readSize, oobSpace)
	}
	st := r.st
	for {
		before, since := time.Now(), r.emptySince
		st.recv(uintptr(r.fd))
		if st.errno != 0 || st.k < recvBatch {
			r.emptySince = before
		}
		if st.errno != 0 || st.k == 0 {
			return n, over
		}
		now := time.Now()
		for i := range st.k {
			n++
			p, ci, ok := s.packet(l, r.sp, st, i, now)
			if !since.IsZero() {
				p.At = ArrivalAfter(now, ci.kernelTime, since, WallStep(since, now))
			}
			p.At = r.order.next(p.At)
			if ci.hasOverflows && r.moreDrops(l, ci.overflows) {
				over = true
			}
			if !ok {
				continue
			}
			l.received.Add(1)
			l.routineRead.Add(1)
			fn(p)
		}
		// A drain that has read more than a peer sends between two
		// wake-ups stops there: the caller's loop must not be held for as
		// long as a flood outpaces it. The flood mode's reader takes the
		// rest.
		if st.k < recvBatch || n > floodDrain {
			return n, over
		}
	}
}

// drainOwn reads what waits in r's peer's own socket, after its routine
// socket: a non-routine datagram of the peer that came before a routine
// one just read may still wait there (its reader goroutine not woken yet)
// or be in its reader's hands (Drain waits for it to be handed on). It
// reads at most floodDrain datagrams (a multiple of recvBatch), each
// verified by fn on the caller's loop: the reader goroutine takes the
// rest of a flood.
func (s *Set) drainOwn(l *link, r *routineSock, fn func(Packet)) {
	o := r.own
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.st == nil {
		o.st = newRecvState(s.readSize, oobSpace)
	}
	st := o.st
	for n := 0; n < floodDrain; {
		if err := o.rc.Control(o.recv); err != nil || st.errno != 0 || st.k == 0 {
			return // closed, or empty
		}
		now := time.Now()
		for i := range st.k {
			n++
			p, ci, ok := s.packet(l, r.sp, st, i, now)
			if ci.hasOverflows {
				o.moreDrops(l, ci.overflows)
			}
			if !ok {
				continue
			}
			p.At = o.order.next(p.At)
			l.received.Add(1)
			fn(p)
		}
		if st.k < recvBatch {
			return
		}
	}
}

// ArrivalAfter is the arrival of a routine datagram read at now that came
// after since (its socket was found empty then), kernel its kernel stamp
// (zero: none). It may have waited longer than maxKernelAge (a routine
// socket waits for the caller's next wake-up, a keepalive or a
// deadtime), and its arrival is kept within since and now.
//
// The stamp is a wall-clock reading. When the wall clock stepped by more
// than maxWallStep while the socket waited (step, WallStep), a datagram
// that came before the step reads step older by its stamp, one that came
// after it does not: of the two readings, the later one that falls
// within since and now is taken. Taken as it stands, the stamp of a
// holder's status that waited across an NTP step forward of most of a
// deadtime (under ntpd's 128 ms threshold at keepalive 10 ms) would put
// it near since, a deadtime before the quiet passive's read, which would
// then take over from a live holder. Nor is the read time (now) taken for
// every datagram: a quiet passive reads at its holder's deadline, and a
// status stamped then arrives as late as the deadline it should have
// moved. Exported for tests of the daemon whose in-process links stamp as
// these do.
func ArrivalAfter(now, kernel, since time.Time, step time.Duration) time.Time {
	if kernel.IsZero() {
		return now
	}
	age := now.Sub(kernel) // wall clock difference
	waited := now.Sub(since)
	if step > maxWallStep || step < -maxWallStep {
		younger, older := age-step, age // came before the step, after it
		if step < 0 {
			younger, older = older, younger
		}
		switch {
		case younger >= 0 && younger <= waited:
			age = younger
		case older >= 0 && older <= waited:
			age = older
		default:
			age = younger
		}
	}
	if age <= 0 {
		return now
	}
	if age > waited {
		return since
	}
	return now.Add(-age)
}

// maxWallStep is the most the wall clock may move apart from the
// monotonic clock while a routine datagram waits, for its kernel stamp to
// be taken as it stands: an NTP slew (at most 500 ppm) moves it by under
// 2 ms over a wait of 3 s.
const maxWallStep = 5 * time.Millisecond

// WallStep is how far the wall clock stepped between since and now beyond
// the time that passed, both read by time.Now (with a monotonic reading):
// 0 when it did not step, or when either lacks a monotonic reading.
func WallStep(since, now time.Time) time.Duration {
	return now.Round(0).Sub(since.Round(0)) - now.Sub(since)
}

// startPoll puts r in flood mode: a reader goroutine on a duplicate of its
// descriptor, in the runtime's poller.
func (s *Set) startPoll(l *link, r *routineSock) {
	fd, err := unix.FcntlInt(uintptr(r.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		s.log.Warnf("%s %s: cannot read a flooded routine socket at once: dup: %v", l.plan.Kind, l.plan.Iface.Name, err)
		return
	}
	f := os.NewFile(uintptr(fd), "routine") // non-blocking: the poller watches it
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		s.log.Warnf("%s %s: cannot read a flooded routine socket at once: %v", l.plan.Kind, l.plan.Iface.Name, err)
		return
	}
	l.floods.Add(1)
	s.log.Warnf("%s %s: more routine heartbeats than a peer sends (a flood?): reading them at once", l.plan.Kind, l.plan.Iface.Name)
	r.poll, r.pollQuit, r.pollDone, r.seen, r.seenAt, r.quietSince = f, make(chan struct{}), make(chan struct{}), r.count.Load(), time.Now(), time.Time{}
	rd := s.routineReader
	rd.l, rd.sp, rd.raw, rd.count, rd.quit = l, r.sp, rawConn{rc: rc}, &r.count, r.pollQuit
	rd.shared = &r.sockShare
	done := r.pollDone
	s.wg.Add(1)
	go func() {
		defer close(done)
		s.read(rd)
	}()
}

// pollQuiet ends r's flood mode once the drains have found it quiet for
// quietFor.
func (s *Set) pollQuiet(l *link, r *routineSock, now time.Time) {
	c := r.count.Load()
	busy := c-r.seen > quietAllowance(now.Sub(r.seenAt), time.Duration(s.keepalive.Load()))
	r.seen, r.seenAt = c, now
	switch {
	case busy:
		r.quietSince = time.Time{}
		return
	case r.quietSince.IsZero():
		r.quietSince = now
		return
	case now.Sub(r.quietSince) < s.quietFor:
		return
	}
	r.stopPoll()
	r.emptySince = time.Time{}
	// What the flood made the kernel drop is counted now (the datagrams
	// still queued carry older counts) and starts no other.
	r.dropped(l)
	s.log.Infof("%s %s: routine heartbeats back to normal: read at wake-ups again", l.plan.Kind, l.plan.Iface.Name)
}

// quietAllowance is the most datagrams a routine socket in flood mode may
// have read over the interval between two drains for the drains to find it
// quiet: quietDrain per keepalive of the interval, and never less than
// quietDrain (a drain a keepalive or less after the last, or an unknown
// keepalive).
func quietAllowance(interval, keepalive time.Duration) uint64 {
	if keepalive <= 0 || interval <= keepalive {
		return quietDrain
	}
	return uint64(quietDrain * (interval / keepalive))
}

// TakeFloods appends to dst the name of each link on which, since the
// last call, a Drain found a routine socket flooded (more than
// floodDrain datagrams, or a kernel drop) and began its flood mode, each
// once, in the order of the media, and returns the result (dst as it was
// when there is none: no allocation). The statuses the socket's peer
// sent on that link since the previous Drain may then be lost: the
// kernel dropped what came behind the burst while the socket was full.
// Called after Drain, from the same goroutine, before the caller judges
// its peers by what the drain gave.
func (s *Set) TakeFloods(dst []string) []string {
	for _, l := range s.links {
		if l.floodFound.Swap(false) && !slices.Contains(dst, l.plan.Name) {
			dst = append(dst, l.plan.Name)
		}
	}
	return dst
}

// SetKeepalive changes Options.Keepalive (a reload of the timings that
// keeps the media).
func (s *Set) SetKeepalive(d time.Duration) { s.keepalive.Store(int64(d)) }

// stopPoll ends r's flood mode: closing the file takes the duplicate
// descriptor out of the poller, which wakes the reader with an error; quit
// tells it to return then.
func (r *routineSock) stopPoll() {
	close(r.pollQuit)
	r.poll.Close()
	<-r.pollDone
	r.poll, r.pollQuit, r.pollDone = nil, nil, nil
}
