package daemon

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hbdproject/hbd/hbd/link"
	"github.com/hbdproject/hbd/hbd/wire"
)

// Queues between the links and the event loop. The links sort datagrams by
// source address: those from ucast peers' addresses are verified on the
// link's reader goroutine (intake.peer) and go to the loop at once;
// everything else (strangers, bcast and mcast) waits in otherQueue for the
// intake's goroutine. A flood from anywhere but a peer's address
// therefore fills otherQueue and is dropped there by the reader, is never
// verified on the loop, and the peers' heartbeats keep their own way in.
const (
	otherQueue = 256
	// verifiedQueue holds verified messages the loop has not taken yet:
	// seconds of every peer's heartbeats if the loop is held up (a
	// reload), beyond which a peer's message is dropped and counted in
	// the link's PeerDrops.
	verifiedQueue = 1024
	// summaryCheck is how often the intake looks for drop summaries due,
	// while a drop reason's summary window is open.
	summaryCheck = time.Second
	// sharedReadRate bounds the datagrams a second read from each socket
	// that is not a ucast peer's own (link.Options.SharedReadRate): far
	// above what any cluster's heartbeats need on bcast or mcast, and low
	// enough that reading and verifying a flood takes a small share of one
	// core; the kernel drops the rest before this process sees them.
	sharedReadRate = 20000
)

// received is a datagram that decoded and verified, as the event loop
// gets it: Gen and Seq are when its sender sent it (sendKey, order.go),
// read where it was verified.
type received struct {
	Link     string
	At       time.Time
	Msg      *wire.Message
	Gen, Seq uint64
}

// receivedOf is p, verified as m.
func receivedOf(p link.Packet, m *wire.Message) received {
	gen, seq := sendKey(m)
	return received{Link: p.Link, At: p.At, Msg: m, Gen: gen, Seq: seq}
}

// intake decodes and verifies received datagrams off the event loop, so
// that the loop only ever sees messages signed with a key of authkeys: a
// flood of garbage or forged datagrams costs the loop nothing, and its
// drops are counted in a bounded table and logged in summaries from
// here, never on the loop. Datagrams from peers' addresses are verified
// on the links' reader goroutines (peer), the others on the intake's own
// goroutine (run), which reads them only when it has nothing else to do.
type intake struct {
	keys   atomic.Pointer[wire.Keyring]
	drops  *dropTable
	log    logrus.FieldLogger
	others chan link.Packet
	out    chan received
	// dropped tells run that peer dropped a datagram, so that it looks
	// for the drop summaries due.
	dropped chan struct{}
	// msgs are messages to decode into (*wire.Message): the loop gives
	// each back (release) once the core has taken it, so a heartbeat's
	// decoding reuses the storage of an earlier one.
	msgs sync.Pool
}

func newIntake(keys *wire.Keyring, log logrus.FieldLogger) *intake {
	in := &intake{
		drops:   newDropTable(dropTableSize),
		log:     log,
		others:  make(chan link.Packet, otherQueue),
		out:     make(chan received, verifiedQueue),
		dropped: make(chan struct{}, 1),
	}
	in.keys.Store(keys)
	return in
}

// linkOptions are the link options that feed this intake.
func (in *intake) linkOptions(log logrus.FieldLogger) link.Options {
	return link.Options{Peer: in.peer, Others: in.others, Log: log, MaxDatagram: wire.MaxDatagram, SharedReadRate: sharedReadRate}
}

// peer verifies a datagram from a peer's address on the link's reader
// goroutine and hands the message to the loop: one goroutine hand-off
// per heartbeat instead of two. It never blocks; false means the
// message was dropped for a full queue (a datagram that fails to verify
// was taken, counted in the drop table).
func (in *intake) peer(p link.Packet) bool {
	m := in.check(p)
	if m == nil {
		return true
	}
	select {
	case in.out <- receivedOf(p, m):
		return true
	default:
		return false
	}
}

// check verifies a datagram from a peer's address off the intake's
// goroutine: a datagram that fails is counted, and run told to look for
// drop summaries.
func (in *intake) check(p link.Packet) *wire.Message {
	m := in.verify(p)
	if m == nil {
		select {
		case in.dropped <- struct{}{}:
		default: // run has been told already
		}
	}
	return m
}

// setKeys makes kr verify every datagram from now on (a reload).
func (in *intake) setKeys(kr *wire.Keyring) { in.keys.Store(kr) }

// run verifies the datagrams of others until ctx ends. It looks for drop
// summaries due only while a summary window is open, so an intake that
// drops nothing never wakes on its own.
func (in *intake) run(ctx context.Context) {
	check := time.NewTimer(summaryCheck)
	check.Stop()
	defer check.Stop()
	var checkC <-chan time.Time // nil (never ready) while no window is open
	for {
		var p link.Packet
		select {
		case p = <-in.others:
		case <-in.dropped:
			if checkC == nil {
				check.Reset(summaryCheck)
				checkC = check.C
			}
			continue
		case now := <-checkC:
			in.logSummaries(now)
			checkC = nil
			if in.drops.anyOpen() {
				check.Reset(summaryCheck)
				checkC = check.C
			}
			continue
		case <-ctx.Done():
			return
		}
		m := in.verify(p)
		if m == nil {
			if checkC == nil {
				check.Reset(summaryCheck)
				checkC = check.C
			}
			continue
		}
		select {
		case in.out <- receivedOf(p, m):
		case <-ctx.Done():
			return
		}
	}
}

// release gives back a message verify returned, once nothing refers
// to it any more: the core keeps nothing of a message it received.
func (in *intake) release(m *wire.Message) { in.msgs.Put(m) }

// verify decodes p with the current keys into a released message, or a
// new one; a datagram that fails is counted and, if it opens its
// reason's log window, logged.
func (in *intake) verify(p link.Packet) *wire.Message {
	m, _ := in.msgs.Get().(*wire.Message)
	if m == nil {
		m = &wire.Message{}
	}
	err := in.keys.Load().DecodeInto(m, p.Data)
	if err == nil {
		return m
	}
	in.release(m)
	r := wire.Reason(err)
	k := dropKey{Claimed: claimedSource(p.Data), From: p.From.Addr()}
	if in.drops.add(k, r, p.At) {
		in.log.Warnf("Dropped packet from %s on %s: %v (further %s drops are counted and summarised at most once every %s)",
			k, p.Link, err, r.String(), dropSummaryEvery)
	}
	return nil
}

func (in *intake) logSummaries(now time.Time) {
	for _, s := range in.drops.summaries(now) {
		in.log.Warn(s.String())
	}
}
