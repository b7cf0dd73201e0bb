package link

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// reader is one reader goroutine's socket and settings.
type reader struct {
	l    *link
	sp   sockPlan
	c    *net.UDPConn
	raw  rawConn
	size int // read buffer: the kernel clips a longer datagram to it
	// rate is the most datagrams a second it reads; 0 means no limit.
	rate        int
	out, others chan<- Packet
	peer        func(Packet) bool // Options.Peer
	count       *atomic.Uint64    // when set, counts the datagrams read
	// quit, when set and closed, ends the reader at its socket's next
	// error (a flooded routine socket's file, closed: routine.go).
	quit <-chan struct{}
	// shared, when set, is what the reader shares with Drain, which reads
	// the socket too (a steered peer's own socket, or its routine socket
	// in flood mode): its lock is held across each batch, and the socket's
	// SO_RXQ_OVFL counter as counted and the arrivals given are its.
	shared *sockShare
}

// sockShare is what a reader goroutine and Drain share of a socket they
// both read: mu is held from each read until the batch is handed on.
type sockShare struct {
	mu    sync.Mutex
	drops uint32 // the socket's drop count as last seen (moreDrops)
	order arrivalOrder
}

// moreDrops takes drops, a reading of the socket's count of the
// datagrams the kernel dropped for a full buffer (a datagram's
// SO_RXQ_OVFL: the count when it was queued; or SO_MEMINFO's: the count
// now), and adds to l's KernelDrops what it has counted beyond the
// count as last seen: whether it did. Readings of the one counter come
// in any order (a datagram queued before a drop may be read after the
// socket's count was looked at), so one that is not ahead of the last
// (modulo 2^32, as the kernel's counter wraps) counts nothing: no drop
// is counted twice.
func (sh *sockShare) moreDrops(l *link, drops uint32) bool {
	d := drops - sh.drops
	if int32(d) <= 0 {
		return false
	}
	l.kernelDrops.Add(uint64(d))
	sh.drops = drops
	return true
}

// quitting tells whether r's quit is closed.
func (r *reader) quitting() bool {
	select {
	case <-r.quit:
		return true
	default:
		return false
	}
}

// readSlice is the time over which a reader's rate is kept: it reads at
// most rate/100 datagrams in each slice of 10 ms, then waits for the next.
const readSlice = 10 * time.Millisecond

// read is the reader goroutine of one socket. It reads, stamps and sorts
// datagrams by source address (peers to out, or to the peer function,
// the rest to others): the others are decoded on the receiving side, so
// the reader keeps up with the socket however expensive a stranger's
// datagram is to verify. A reader with a rate
// pauses when it has read its share of a slice: a flood beyond the rate
// is then dropped by the kernel, at no cost to this process.
func (s *Set) read(r reader) {
	defer s.wg.Done()
	l := r.l
	st := newRecvState(r.size, oobSpace)
	perSlice := 0
	if r.rate > 0 {
		perSlice = max(1, r.rate/int(time.Second/readSlice))
	}
	var sliceStart time.Time
	inSlice := 0
	pause := time.NewTimer(0)
	defer pause.Stop()
	sh := r.shared
	var mu *sync.Mutex
	if sh == nil {
		sh = new(sockShare) // the reader's alone
	} else {
		mu = &sh.mu
	}
	order := &sh.order
	hand := func(i int) bool {
		now := time.Now()
		if perSlice > 0 {
			if inSlice++; inSlice >= perSlice {
				if !s.wait(pause, readSlice-now.Sub(sliceStart)) {
					return false
				}
				sliceStart, inSlice = time.Now(), 0
			}
		}
		p, ci, ok := s.packet(l, r.sp, st, i, now)
		if ci.hasOverflows {
			sh.moreDrops(l, ci.overflows)
		}
		if r.count != nil {
			r.count.Add(1)
		}
		if !ok {
			return true
		}
		p.At = order.next(p.At)
		fromAddr := p.From.Addr()
		peer := s.peers[fromAddr.WithZone("")]
		if peer && r.peer != nil {
			if r.peer(p) {
				l.received.Add(1)
			} else {
				l.receiveDrops.Add(1)
				l.peerDrops.Add(1)
			}
			return true
		}
		p.Data = slices.Clone(p.Data)
		dst := r.others
		if peer {
			dst = r.out
		}
		select {
		case dst <- p:
			l.received.Add(1)
		default:
			l.receiveDrops.Add(1)
			if peer {
				l.peerDrops.Add(1)
			}
		}
		return true
	}
	// Once the set is closed, the reader stops after the batch in hand:
	// a socket flooded faster than it is read never runs empty, and
	// CloseDrain, on the caller's loop, waits for the readers (what is
	// left is read there, a bounded number).
	got := func(i int) bool {
		return hand(i) && (i < st.k-1 || !s.closed.Load())
	}
	// An error other than EAGAIN (an ICMP error reported on a connected
	// peer socket, a clipped control message): wait a little, so as not
	// to spin on one that persists, then read on.
	failed := func(syscall.Errno) bool { return s.wait(pause, 10*time.Millisecond) }
	for {
		err := r.raw.receive(st, mu, got, failed)
		if err == nil || errors.Is(err, net.ErrClosed) || s.closed.Load() || r.quitting() {
			return // got or failed saw the set closed, or the socket is
		}
		if !s.wait(pause, 10*time.Millisecond) {
			return
		}
	}
}

// packet is the i-th datagram of st's last batch, read from a socket
// of l planned as sp, as a Packet (its Data in st's buffer), with what its
// control messages say; false when the datagram is not the link's (a
// broadcast or multicast one on a unicast socket).
func (s *Set) packet(l *link, sp sockPlan, st *recvState, i int, now time.Time) (Packet, cmsgInfo, bool) {
	data, oob, rawFrom := st.datagram(i)
	ci := parseCmsgs(oob)
	if sp.Role == roleUnicast && ci.dst.IsValid() && (ci.dst.IsMulticast() || slices.Contains(sp.Broadcasts, ci.dst)) {
		return Packet{}, ci, false // belongs to a bcast or mcast link on the same port
	}
	from, scope := fromSockaddr(rawFrom)
	fromAddr := from.Addr().Unmap()
	if scope != 0 {
		// Name the zone ourselves: Go's index-to-name cache belongs
		// to the process's network namespace, maybe not the socket's.
		if int(scope) == l.plan.Iface.Index || ci.ifindex == l.plan.Iface.Index {
			fromAddr = fromAddr.WithZone(l.plan.Iface.Name)
		} else {
			fromAddr = fromAddr.WithZone(strconv.Itoa(int(scope)))
		}
	}
	return Packet{
		Link: l.plan.Name,
		From: netip.AddrPortFrom(fromAddr, from.Port()),
		Data: data,
		At:   arrival(now, ci.kernelTime),
	}, ci, true
}

// wait waits for d (nothing if d <= 0) on t; false means the set closed.
func (s *Set) wait(t *time.Timer, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t.Reset(d)
	select {
	case <-s.done:
		return false
	case <-t.C:
		return true
	}
}
