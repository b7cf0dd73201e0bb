package link

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// Close closes every socket and waits for every goroutine of the set to
// return. Queued datagrams not yet written are discarded. It is safe to
// call more than once.
func (s *Set) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if s.stopCtx != nil {
			s.stopCtx()
		}
		close(s.done)
		s.closeErr = s.closeConns()
		s.wg.Wait()
	})
	return s.closeErr
}

// CloseDrain closes s as Close does, and first gives fn every datagram of
// a peer that waits in its sockets, which Close would discard: a set that
// a reload replaces holds what the peers sent before the new set was
// bound, read by nobody yet (an unsteered set's sockets, whose readers may
// not have run meanwhile, or a steered set's routine sockets). Its reader
// goroutines stop first, once they have handed on (Options.Peer or
// Packets) what they have read: the batch in hand, or all that waited
// in a socket that runs empty first; then every socket is read
// as Drain reads it, at most floodDrain datagrams each (more is a flood,
// not what a peer sends while a set is replaced), and the peers'
// datagrams are given to fn, in the order each socket received them
// (Packet.At orders them across sockets and the readers' hand-offs);
// the others' are left. fn is called on the caller's goroutine and
// Packet.Data is valid until it returns. A set closed already gives
// nothing.
func (s *Set) CloseDrain(fn func(Packet)) error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if s.stopCtx != nil {
			s.stopCtx()
		}
		close(s.done)
		s.stopReaders()
		s.drainLeft(fn)
		s.closeErr = s.closeConns()
		s.wg.Wait()
	})
	return s.closeErr
}

// stopReaders ends every reader goroutine of a closed set and waits for
// them, its sockets left open: a read deadline in the past wakes a reader
// waiting in the poller, which returns once its socket is empty or at the
// end of the batch in hand (read: the set is closed), whichever comes
// first, and a flooded routine socket's reader returns when its
// duplicate descriptor closes (stopPoll).
func (s *Set) stopReaders() {
	past := time.Unix(1, 0)
	for _, l := range s.links {
		for _, c := range slices.Concat(l.conns, l.peerConns) {
			_ = c.SetReadDeadline(past) // an error: closed already, its reader returns
		}
		s.drainMu.Lock()
		for _, r := range l.routine {
			if r.poll != nil {
				r.stopPoll()
			}
		}
		s.drainMu.Unlock()
	}
	s.wg.Wait()
}

// drainLeft reads what waits in every socket of s, whose readers have
// returned, and gives the peers' datagrams to fn (CloseDrain).
func (s *Set) drainLeft(fn func(Packet)) {
	s.drainMu.Lock()
	defer s.drainMu.Unlock()
	st := newRecvState(s.readSize, oobSpace)
	for _, l := range s.links {
		for _, r := range l.routine {
			s.drainOne(l, r, fn)
		}
		for i, c := range l.conns {
			s.drainConn(l, l.plan.Socks[i], c, st, fn)
		}
		for i, c := range l.peerConns {
			s.drainConn(l, l.plan.Socks[l.peerSock[i]], c, st, fn)
		}
	}
}

// drainConn reads c, a socket of l planned as sp that no reader reads any
// more, until it is empty or floodDrain datagrams are read, and gives fn
// those from a peer.
func (s *Set) drainConn(l *link, sp sockPlan, c *net.UDPConn, st *recvState, fn func(Packet)) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	recv := func(fd uintptr) { st.recv(fd) }
	for n := 0; n < floodDrain; {
		if err := rc.Control(recv); err != nil || st.errno != 0 || st.k == 0 {
			return // closed, or empty
		}
		now := time.Now()
		for i := range st.k {
			n++
			p, _, ok := s.packet(l, sp, st, i, now)
			if !ok || !s.peers[p.From.Addr().WithZone("")] {
				continue
			}
			l.received.Add(1)
			fn(p)
		}
		if st.k < recvBatch {
			return
		}
	}
}

func (s *Set) closeConns() error {
	var errs []error
	for _, l := range s.links {
		for _, c := range slices.Concat(l.conns, l.peerConns) {
			if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, fmt.Errorf("link %s: %w", l.plan.Name, err))
			}
		}
		s.drainMu.Lock()
		for _, r := range l.routine {
			if r.poll != nil {
				r.stopPoll() // its reader returns
			}
			if err := unix.Close(r.fd); err != nil {
				errs = append(errs, fmt.Errorf("link %s: %w", l.plan.Name, err))
			}
		}
		l.routine = nil
		s.drainMu.Unlock()
	}
	return errors.Join(errs...)
}
