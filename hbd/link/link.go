// Package link drives the heartbeat media of ha.cf (ucast, ucast6, bcast,
// mcast, mcast6) as real UDP sockets.
//
// A link is what Heartbeat calls one: the media of one kind on one
// interface, named by the interface ("eth0"), so that logs can say
// "Link node2:eth0 up". The `ucast eth0 PEER` lines of ha.cf (usually one
// per node, ourselves included) are one link on eth0 that sends to every
// peer but ourselves; ucast lines over eth0 and eth1 are two links. When
// media of different kinds share an interface, the first kind in the order
// ucast, ucast6, bcast, mcast, mcast6 keeps the plain interface name and
// the others are named "IFACE/KIND" ("eth0" and "eth0/mcast"), whatever the
// order of the ha.cf lines.
//
// Each link has one socket per local address and port it listens on and
// one reader goroutine per socket. Received datagrams go to the caller's
// channel, dropped (and counted) when it is full. Send writes on the
// caller's goroutine, without waiting: a datagram the kernel has no room
// for is dropped and counted, so neither direction ever blocks the caller
// or the readers, and a datagram sent needs no hand-off to another
// goroutine. A caller that also gives Options.Others gets the datagrams
// from configured ucast peers' addresses on one channel (or, with
// Options.Peer, on the reader's goroutine) and all others on the second
// one, so that a flood from an address ha.cf does not name cannot crowd
// out a peer's heartbeats on their way to the caller. Before that, in the
// kernel, every ucast peer has a receive socket of its own, so such a
// flood cannot make the kernel drop a peer's datagrams either. The system
// calls on the sockets bypass the runtime's bookkeeping of blocking calls
// (rawsock.go).
//
// One wake-up per keepalive. A peer's routine messages (its status when
// nothing changed, its acknowledgements: cluster.Send.Routine) begin with
// wire.RoutinePrefix. On a ucast link the kernel sorts the datagrams
// itself (steer.go): the shared socket and, per peer, its own socket and
// a routine socket share the address and port (SO_REUSEPORT), and a
// classic BPF program picks the socket: a peer's routine datagrams go to
// its routine socket, which is outside the runtime's poller, so their
// arrival wakes nobody; the caller reads them at the start of each of its
// own wake-ups (Set.Drain), before the event that woke it, so a peer's
// routine message always reaches the caller before any later message of
// that peer on that link. The peer's other datagrams go to its own socket
// and are read at once, strangers' to the shared socket. Drain reads the
// peer's own socket too, after its routine one, under a lock its reader
// goroutine holds while it hands a datagram on: a datagram of the peer
// that came before a routine one Drain gives is never still on its way,
// and the caller orders the two ways (by Packet.At, or better by the
// order the peer sent them in: hbd/daemon's order.go). A node at rest
// thus wakes once a keepalive (its own timer), not twice. A routine socket
// flooded with datagrams forged with a peer's address is read at once
// for as long as the flood lasts (routine.go). Where the kernel refuses
// the program, or other sockets that could join the group share the
// address and port (another process's, or those of a steered set that a
// reload of the media replaces, open until the new set is: steergroup.go,
// Set.SharedAddress), the link opens as before steering (one warning):
// each peer's own socket is connected to it (openPeerSockets) and every
// datagram is read at once. Such a set's sockets do not count against a
// steered group bound beside it, so a caller that opens the media again
// once the old set is closed is steered again; while both are open, a
// peer's datagram reaches one of them (a steered group of IPv4 sockets,
// bound last, comes first), and each is read: at once, or at the caller's
// wake-ups from a routine socket. bcast and mcast links are
// not steered: their datagrams reach every socket bound to the address,
// and every one is read at once.
//
// Sockets: a ucast link binds Medium.Local if given (hbd's extension, so
// that nodes sharing a host each bind their own address at the same port),
// else the wildcard address; a bcast link binds the interface's broadcast
// address and sends to it; an mcast link binds its group, joins it on the
// interface and sends to it with the line's TTL and loop. Every socket is
// bound to its interface (SO_BINDTODEVICE). A ucast peer equal to our own
// address (Medium.Local, or an address of the interface when Local is not
// given) is not sent to. bcast always, and mcast with loop 1, hear our own
// datagrams back: the caller drops them by source node, as Heartbeat does.
package link

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/hbdproject/hbd/hbd/config"
)

// Packet is one datagram received on a link.
type Packet struct {
	Link string         // link name, e.g. "eth0"
	From netip.AddrPort // sender address and port
	// Data is the datagram: the receiver's own on a channel; given to
	// Options.Peer, valid only until it returns.
	Data []byte
	// At is when the datagram arrived: time.Now() taken by the reader
	// goroutine as the read returned, moved back by the time the datagram
	// waited in the socket buffer according to the kernel's SO_TIMESTAMPNS
	// stamp (at most a couple of seconds; ignored if the wall clock
	// stepped), and never before the datagram its socket queued ahead of
	// it (arrivalOrder). It carries a monotonic clock reading, so it can
	// be compared with time.Now() safely. The kernel turns its stamps on
	// for the whole system a moment after the first socket asks for them
	// (from a work queue): a datagram that comes before is stamped when
	// it is read, which only the first moments after a start can see.
	At time.Time
}

// LinkStats counts what happened on one link since Open.
type LinkStats struct {
	Sent       uint64 // datagrams written (one per destination)
	SendErrors uint64 // datagrams whose write failed
	// QueueDrops counts the datagrams not sent because the socket's send
	// buffer was full (one per destination).
	QueueDrops   uint64
	Received     uint64 // datagrams read and delivered
	ReceiveDrops uint64 // datagrams read but dropped because their channel was full
	// PeerDrops counts the ReceiveDrops whose source is a ucast peer's
	// address: heartbeats lost in this process rather than on the wire.
	PeerDrops uint64
	// KernelDrops counts the datagrams the kernel dropped because a
	// socket's receive buffer was full (SO_RXQ_OVFL), as learnt with the
	// next datagram read from that socket, or, for a routine socket, by
	// the socket's own count (SO_MEMINFO) a drain looks at (routine.go):
	// each drop once.
	KernelDrops uint64
	// RoutineRead counts the routine datagrams read at the caller's
	// wake-ups (Set.Drain), among Received.
	RoutineRead uint64
	// Floods counts the times a routine socket was found flooded and read
	// at once for a while (routine.go).
	Floods uint64
	// Steered says that the kernel sorts the link's datagrams (steer.go);
	// false for bcast and mcast links, and where the kernel refused it.
	Steered bool
}

// Options configures Open.
type Options struct {
	// Packets receives every datagram read on any link (only those from
	// ucast peers' addresses when Others is set). Required. When it is
	// full the datagram is dropped and counted in ReceiveDrops.
	Packets chan<- Packet
	// Others, when set, receives the datagrams whose source address is
	// not the destination of any ucast or ucast6 line: strangers, and the
	// bcast and mcast datagrams, whose senders ha.cf does not name. A
	// flood from anywhere but a peer's address then fills Others and
	// never delays or drops what arrives on Packets. When it is full the
	// datagram is dropped and counted in ReceiveDrops.
	Others chan<- Packet
	// Peer, when set, is called on the reader's goroutine with every
	// datagram from a ucast peer's address, instead of sending it to
	// Packets: a caller that can check a datagram at once saves a
	// goroutine hand-off and a copy. It must not block; it returns false
	// when it dropped the datagram (counted in ReceiveDrops and
	// PeerDrops). Packet.Data is valid only until it returns.
	Peer func(Packet) bool
	// Log gets the startup lines and rate-limited send errors. Nil
	// discards them.
	Log logrus.FieldLogger
	// ErrorLogInterval is the least time between two logged send errors to
	// one destination; 0 means DefaultErrorLogInterval.
	ErrorLogInterval time.Duration
	// MaxDatagram is the longest datagram the caller accepts; 0 means any
	// (65535 bytes). A longer one is delivered clipped to MaxDatagram+1
	// bytes, so the caller can still tell it was too long, and a queue of
	// them holds bounded memory.
	MaxDatagram int
	// Alone says that this node has no peer to reach (ha.cf lists it
	// alone): a ucast link whose every line names this node's own address
	// is then what the configuration means, said at info level; with
	// peers it is warned of, since none hears this node on that link.
	Alone bool
	// SharedReadRate is the most datagrams a second read from each socket
	// that is not a ucast peer's own (see openPeerSockets); 0 means no
	// limit. Beyond it the kernel drops them (counted in KernelDrops), so
	// a flood costs this process a bounded share of the CPU. Each peer's
	// own socket is read without limit.
	SharedReadRate int

	// Keepalive is the peers' status interval: a routine socket in flood
	// mode is read at wake-ups again once the drains find no more than a
	// few of its datagrams per keepalive of the time between two of them
	// (routine.go). 0: a few per drain, however far apart. SetKeepalive
	// changes it.
	Keepalive time.Duration

	// attachSteering, when set, attaches the steering program instead of
	// the kernel's setsockopt (tests).
	attachSteering func(fd int, prog []unix.SockFilter) error
	// quietFor replaces the const quietFor when set (tests).
	quietFor time.Duration
}

const (
	// DefaultErrorLogInterval spaces out repeated send errors in the log:
	// a cut cable fails every heartbeat, the log needs to say so once in a
	// while, not every second.
	DefaultErrorLogInterval = 10 * time.Second
	// maxDatagram is the largest UDP payload.
	maxDatagram = 65535
)

// Set is the open links of a node.
type Set struct {
	links  []*link
	byName map[string]*link
	log    logrus.FieldLogger
	// peers are the ucast destinations' addresses, without zone: a
	// datagram from one of them goes to Options.Packets. Read-only after
	// Open.
	peers map[netip.Addr]bool

	// readSize is the read buffer of every socket; routineReader is the
	// reader of a flooded routine socket but for its link, socket and
	// counter (startPoll).
	readSize      int
	routineReader reader
	quietFor      time.Duration // routine.go
	keepalive     atomic.Int64  // Options.Keepalive, ns (SetKeepalive)
	// drainMu keeps Drain and Close apart: they both change the routine
	// sockets' flood mode.
	drainMu sync.Mutex

	// shared says that a ucast link opened unsteered because other
	// sockets shared its address (SharedAddress).
	shared bool

	closed    atomic.Bool
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
	stopCtx   func() bool
	wg        sync.WaitGroup
}

type link struct {
	plan  linkPlan
	conns []*net.UDPConn
	raws  []rawConn // conns' descriptors, for sendto
	// peerConns are receive-only sockets, one per ucast peer, each bound
	// like conns[peerSock[i]] and connected to the peer (openPeerSockets).
	peerConns []*net.UDPConn
	peerSock  []int
	// peerOwn is, for each of peerConns, what Drain shares of it when the
	// link is steered (nil otherwise).
	peerOwn []*ownSock
	// routine are the peers' routine sockets, when the kernel steers the
	// link's datagrams (steer.go); owned by the goroutine that calls Drain.
	routine []*routineSock
	dsts    []sockaddr // plan.Targets' destinations as given to the kernel

	// mu serialises the senders: send's buffers and the send-error log.
	mu       sync.Mutex
	send     *sendState
	failures map[netip.AddrPort]*sendFailure
	every    time.Duration // least time between two logged send errors to one destination

	sent, sendErrors, queueDrops, received, receiveDrops, peerDrops, kernelDrops, routineRead, floods atomic.Uint64
	// floodFound: a Drain began a flood mode on the link since TakeFloods
	// (routine.go).
	floodFound atomic.Bool
}

// Open opens every medium as a link and starts its goroutines. They stop
// on Close or when ctx is done. An interface that does not exist, or a
// socket that cannot be set up, is an error naming the ha.cf line.
func Open(ctx context.Context, media []config.Medium, opts Options) (*Set, error) {
	if opts.Packets == nil && (opts.Peer == nil || opts.Others == nil) {
		return nil, errors.New("link: Options.Packets is nil")
	}
	if len(media) == 0 {
		return nil, errors.New("link: no media")
	}
	if opts.ErrorLogInterval <= 0 {
		opts.ErrorLogInterval = DefaultErrorLogInterval
	}
	readSize := maxDatagram
	if opts.MaxDatagram > 0 && opts.MaxDatagram < maxDatagram {
		readSize = opts.MaxDatagram + 1
	}
	log := opts.Log
	if log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		log = l
	}
	plans, err := plan(media, lookupIface)
	if err != nil {
		return nil, fmt.Errorf("link: %w", err)
	}
	s := &Set{byName: map[string]*link{}, log: log, done: make(chan struct{}), peers: map[netip.Addr]bool{}, readSize: readSize, quietFor: quietFor}
	s.keepalive.Store(int64(opts.Keepalive))
	if opts.quietFor > 0 {
		s.quietFor = opts.quietFor
	}
	notedEPERM, notedSteering := false, false
	for _, lp := range plans {
		l := &link{plan: lp, send: newSendState(), failures: map[netip.AddrPort]*sendFailure{}, every: opts.ErrorLogInterval}
		for _, t := range lp.Targets {
			l.dsts = append(l.dsts, toSockaddr(sysAddrPort(t.Dst, lp.Iface)))
			if lp.Kind == config.Ucast || lp.Kind == config.Ucast6 {
				s.peers[t.Dst.Addr().WithZone("")] = true
			}
		}
		s.links = append(s.links, l)
		s.byName[lp.Name] = l
		steered := false
		if l.steerable() {
			attach := opts.attachSteering
			if attach == nil {
				attach = attachSteering
			}
			err := l.openSteered(ctx, attach, &notedEPERM, log)
			if err == nil {
				steered = true
			} else {
				l.closeSockets()
				shared := errors.Is(err, errShared)
				s.shared = s.shared || shared
				switch {
				case notedSteering:
				case shared:
					// Either a reload's (the caller opens the
					// media again once the old ones are closed) or
					// another process's, which the caller says.
					notedSteering = true
					log.Infof("%s %s: not steered: %v", lp.Kind, lp.Iface.Name, err)
				default:
					notedSteering = true
					log.Warnf("%s %s: every heartbeat wakes the daemon: %v", lp.Kind, lp.Iface.Name, err)
				}
			}
		}
		if !steered {
			if err := l.openPlain(ctx, &notedEPERM, log); err != nil {
				s.closeConns()
				return nil, err
			}
		}
		for _, sk := range lp.Skipped {
			log.Debugf("%s: not sending to %s on %s: our own address", lp.Kind, sk, lp.Iface.Name)
		}
		if len(lp.Targets) == 0 {
			// Every line named an address of this node's: nothing is
			// sent on this link. Right for a one-node cluster (info);
			// with peers, they never hear this node on it (several
			// nodes on one host whose lines lack LOCAL: 127.0.0.1 is on
			// lo), which is warned of.
			var own []string
			for _, sk := range lp.Skipped {
				own = append(own, sk.Addr().String())
			}
			if opts.Alone {
				log.Infof("%s: started on port %d interface %s (receive only): every address its lines name is this node's own (%s), and ha.cf lists no other node", lp.Kind, lp.Socks[0].Bind.Port(), lp.Iface.Name, strings.Join(own, ", "))
			} else {
				log.Warnf("%s: started on port %d interface %s (receive only): every address its lines name is this node's own (%s), so it sends no heartbeat there and no peer hears this node on it; nodes that share a host each give their lines their own address (ucast IFACE PEER LOCAL)", lp.Kind, lp.Socks[0].Bind.Port(), lp.Iface.Name, strings.Join(own, ", "))
			}
		}
		for _, t := range lp.Targets {
			log.Infof("%s: started on port %d interface %s to %s", lp.Kind, t.Dst.Port(), lp.Iface.Name, t.Dst.Addr())
		}
	}
	others := opts.Others
	if others == nil {
		others = opts.Packets
	}
	s.routineReader = reader{size: readSize, out: opts.Packets, others: others, peer: opts.Peer}
	var readers []reader
	for _, l := range s.links {
		for i, c := range l.conns {
			readers = append(readers, reader{l: l, sp: l.plan.Socks[i], c: c, size: readSize, rate: opts.SharedReadRate, out: opts.Packets, others: others, peer: opts.Peer})
		}
		for i, c := range l.peerConns {
			r := reader{l: l, sp: l.plan.Socks[l.peerSock[i]], c: c, size: readSize, out: opts.Packets, others: others, peer: opts.Peer}
			if own := l.peerOwn[i]; own != nil {
				r.shared = &own.sockShare
			}
			readers = append(readers, r)
		}
	}
	for i := range readers {
		rc, err := newRawConn(readers[i].c)
		if err != nil {
			s.closeConns()
			return nil, fmt.Errorf("link: %s: %w", readers[i].l.plan.Name, err)
		}
		readers[i].raw = rc
	}
	for _, r := range readers {
		s.wg.Add(1)
		go s.read(r)
	}
	s.stopCtx = context.AfterFunc(ctx, func() { s.Close() })
	return s, nil
}

// openPeerSockets gives every peer of a ucast link a receive socket of its
// own: bound like the socket that sends to the peer (same address, port,
// interface and options) and connected to the peer's address with port 0,
// which Linux reads as "any source port". Linux delivers a unicast
// datagram to the bound socket that matches it best, and a connected one
// matching the source beats one that is not, so the peer's datagrams,
// whatever port the peer sends from (hbd sends from udpport, Heartbeat
// from another socket), queue in a buffer of their own: a flood from any
// other address fills the shared socket's buffer and cannot make the kernel
// drop them. Nothing is ever written on these sockets.
func (l *link) openPeerSockets(ctx context.Context) error {
	if l.plan.Kind != config.Ucast && l.plan.Kind != config.Ucast6 {
		return nil
	}
	type peer struct {
		sock int
		addr netip.Addr
	}
	seen := map[peer]bool{}
	for _, t := range l.plan.Targets {
		sp := l.plan.Socks[t.Sock]
		p := peer{t.Sock, t.Dst.Addr()}
		if sp.Role != roleUnicast || seen[p] {
			continue
		}
		seen[p] = true
		c, _, err := openSocket(ctx, l.plan.Iface, sp, false)
		if err != nil {
			return fmt.Errorf("%s: %s %s: socket for peer %s: %w", sp.Pos, l.plan.Kind, l.plan.Iface.Name, p.addr, err)
		}
		l.peerConns = append(l.peerConns, c)
		l.peerSock = append(l.peerSock, t.Sock)
		l.peerOwn = append(l.peerOwn, nil)
		if err := connectAnyPort(c, p.addr, l.plan.Iface); err != nil {
			return fmt.Errorf("%s: %s %s: socket for peer %s: %w", sp.Pos, l.plan.Kind, l.plan.Iface.Name, p.addr, err)
		}
	}
	return nil
}

// Links returns the link names, in the order their first ha.cf line came.
func (s *Set) Links() []string {
	names := make([]string, len(s.links))
	for i, l := range s.links {
		names[i] = l.plan.Name
	}
	return names
}

// Send writes data to every destination of every link. It never waits:
// a datagram the kernel has no room for in the socket's send buffer is
// dropped and counted as a QueueDrop. The caller may reuse data when Send
// returns.
func (s *Set) Send(data []byte) {
	if s.closed.Load() {
		return
	}
	for _, l := range s.links {
		s.writeOne(l, data)
	}
}

// SendOn writes data to the destinations of one link, like Send.
func (s *Set) SendOn(name string, data []byte) error {
	l, ok := s.byName[name]
	if !ok {
		return fmt.Errorf("link: no link %q", name)
	}
	if s.closed.Load() {
		return nil
	}
	s.writeOne(l, data)
	return nil
}

// SharedAddress tells whether a ucast link opened unsteered because
// other sockets that could join its group shared its address and port
// (steergroup.go): another process's, or those of the set a reload
// replaces, still open while this one opened. Once those are closed, the
// same media opened again steer.
func (s *Set) SharedAddress() bool { return s.shared }

// Stats returns the counters of every link, by name.
func (s *Set) Stats() map[string]LinkStats {
	m := make(map[string]LinkStats, len(s.links))
	for _, l := range s.links {
		m[l.plan.Name] = LinkStats{
			Sent:         l.sent.Load(),
			SendErrors:   l.sendErrors.Load(),
			QueueDrops:   l.queueDrops.Load(),
			Received:     l.received.Load(),
			ReceiveDrops: l.receiveDrops.Load(),
			PeerDrops:    l.peerDrops.Load(),
			KernelDrops:  l.kernelDrops.Load(),
			RoutineRead:  l.routineRead.Load(),
			Floods:       l.floods.Load(),
			Steered:      len(l.routine) > 0,
		}
	}
	return m
}

// sendFailure is the log state of one destination's send errors.
type sendFailure struct {
	logged     time.Time
	suppressed int
}

// writeOne sends one datagram to every destination of l, without
// waiting.
func (s *Set) writeOne(l *link, d []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, t := range l.plan.Targets {
		err := l.raws[t.Sock].sendto(l.send, d, &l.dsts[i])
		if err == nil {
			l.sent.Add(1)
			continue
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if errors.Is(err, syscall.EAGAIN) {
			l.queueDrops.Add(1)
			continue
		}
		l.sendErrors.Add(1)
		f := l.failures[t.Dst]
		if f == nil {
			f = &sendFailure{}
			l.failures[t.Dst] = f
		}
		now := time.Now()
		if !f.logged.IsZero() && now.Sub(f.logged) < l.every {
			f.suppressed++
			continue
		}
		entry := s.log.WithField("link", l.plan.Name)
		if f.suppressed > 0 {
			entry = entry.WithField("suppressed", f.suppressed)
		}
		entry.Errorf("%s_write: Unable to send HBcomm packet %s %s len=%d: %s",
			l.plan.Kind, l.plan.Iface.Name, t.Dst, len(d), errText(err))
		f.logged, f.suppressed = now, 0
	}
}

// errText is the errno text of err, capitalised as strerror(3) writes it
// ("Network is unreachable"), or err itself.
func errText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		t := errno.Error()
		if t != "" {
			return strings.ToUpper(t[:1]) + t[1:]
		}
	}
	return err.Error()
}
