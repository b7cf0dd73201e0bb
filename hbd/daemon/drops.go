package daemon

import (
	"bytes"
	"container/list"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/logging"
	"github.com/hbdproject/hbd/hbd/wire"
)

const (
	// dropTableSize is how many senders of rejected datagrams are
	// remembered one by one; the least recently seen is forgotten first and
	// its counts go to the evicted totals. A flood whose every datagram
	// claims another name costs this many entries, no more.
	dropTableSize = 256
	// dropSummaryEvery is the least time between two log lines about one
	// drop reason: the first drop is logged in full, the rest summarised.
	dropSummaryEvery = time.Minute
	// dropTop is how many senders a summary line names.
	dropTop = 3
	// maxClaimed bounds the bytes of a claimed node name that are kept.
	maxClaimed = 32
)

// dropKey names who sent a rejected datagram: the node name the packet
// claims (unverified, escaped and clipped, for the operator's eyes only)
// and its address.
type dropKey struct {
	Claimed string
	From    netip.Addr
}

func (k dropKey) String() string {
	if k.Claimed == "" {
		return k.From.String()
	}
	return fmt.Sprintf("%s (claims to be %s)", k.From, k.Claimed)
}

type dropEntry struct {
	key    dropKey
	counts [wire.NumDropReasons]uint64
	// window counts the drops of each reason since that reason's current
	// summary window began, to name the top senders.
	window [wire.NumDropReasons]uint64
	last   time.Time
}

// reasonLog is the log state of one drop reason. The first drop of a
// reason is logged in full and opens a window; when the window is
// dropSummaryEvery old, the drops that came after the first are summarised
// in one line and a new window opens, or, if there were none, the reason
// goes quiet and its next drop is logged in full again.
type reasonLog struct {
	open    bool      // a window is open: the first drop was logged
	since   time.Time // when the window opened
	n       uint64    // drops after the first in the window
	senders uint64    // senders among them (one evicted and seen again counts again)
}

// dropTable counts the datagrams rejected before they reach the core (bad
// framing or signature; the core counts its own: replays, stale
// generations, unknown nodes). Its memory is bounded whatever arrives, its
// totals per reason are exact, and it decides which drops are logged. It
// is safe for concurrent use: the receive path adds, the event loop takes
// snapshots for `hbd status`.
type dropTable struct {
	mu      sync.Mutex
	size    int
	byKey   map[dropKey]*list.Element
	lru     list.List // of *dropEntry, most recently seen first
	evicted [wire.NumDropReasons]uint64
	nEvict  uint64
	reasons [wire.NumDropReasons]reasonLog
}

func newDropTable(size int) *dropTable {
	t := &dropTable{size: size, byKey: make(map[dropKey]*list.Element, size)}
	t.lru.Init()
	return t
}

// add counts one drop. It reports whether this drop opens its reason's log
// window and should be logged in full now.
func (t *dropTable) add(k dropKey, r wire.DropReason, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entry(k)
	e.counts[r]++
	e.last = now
	rl := &t.reasons[r]
	if !rl.open {
		*rl = reasonLog{open: true, since: now}
		return true
	}
	if e.window[r] == 0 {
		rl.senders++
	}
	e.window[r]++
	rl.n++
	return false
}

// entry finds or makes k's entry and marks it most recently seen. A new
// entry in a full table takes over the least recently seen one.
func (t *dropTable) entry(k dropKey) *dropEntry {
	if el, ok := t.byKey[k]; ok {
		t.lru.MoveToFront(el)
		return el.Value.(*dropEntry)
	}
	if t.lru.Len() < t.size {
		e := &dropEntry{key: k}
		t.byKey[k] = t.lru.PushFront(e)
		return e
	}
	el := t.lru.Back()
	e := el.Value.(*dropEntry)
	for r, n := range e.counts {
		t.evicted[r] += n
	}
	t.nEvict++
	delete(t.byKey, e.key)
	*e = dropEntry{key: k}
	t.byKey[k] = el
	t.lru.MoveToFront(el)
	return e
}

// dropSummary is one reason's drops after the first in a window.
type dropSummary struct {
	Reason  wire.DropReason
	N       uint64
	Senders uint64
	For     time.Duration
	Top     []dropCount // the senders with the most drops of the reason, most first (ties: most recent first)
}

type dropCount struct {
	Key dropKey
	N   uint64
}

func (s dropSummary) String() string {
	top := make([]string, len(s.Top))
	for i, c := range s.Top {
		top[i] = fmt.Sprintf("%s %d", c.Key, c.N)
	}
	return fmt.Sprintf("Dropped %d packets (%s) from %d sources in the last %s; top: %s",
		s.N, s.Reason.String(), s.Senders, s.For.Round(time.Second), strings.Join(top, ", "))
}

// anyOpen says whether a drop reason's summary window is open: only then
// can summaries return anything.
func (t *dropTable) anyOpen() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, rl := range t.reasons {
		if rl.open {
			return true
		}
	}
	return false
}

// summaries closes every window at least dropSummaryEvery old and returns
// the summaries of those that saw more drops.
func (t *dropTable) summaries(now time.Time) []dropSummary {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []dropSummary
	for r := range t.reasons {
		rl := &t.reasons[r]
		if !rl.open || now.Sub(rl.since) < dropSummaryEvery {
			continue
		}
		if rl.n == 0 {
			*rl = reasonLog{}
			continue
		}
		out = append(out, dropSummary{Reason: wire.DropReason(r), N: rl.n, Senders: rl.senders,
			For: now.Sub(rl.since), Top: t.top(wire.DropReason(r))})
		*rl = reasonLog{open: true, since: now}
	}
	return out
}

// top returns the senders with the most drops of r in r's window, and
// clears their window counts for the next one.
func (t *dropTable) top(r wire.DropReason) []dropCount {
	var top []dropCount
	for el := t.lru.Front(); el != nil; el = el.Next() {
		e := el.Value.(*dropEntry)
		n := e.window[r]
		if n == 0 {
			continue
		}
		e.window[r] = 0
		i := len(top)
		for i > 0 && top[i-1].N < n {
			i--
		}
		if i < dropTop {
			top = slices.Insert(top, i, dropCount{e.key, n})
			top = top[:min(len(top), dropTop)]
		}
	}
	return top
}

// snapshot copies the table for `hbd status`: at most the table's size of
// senders, most recently seen first, and the evicted totals (nil if none).
func (t *dropTable) snapshot() ([]ctl.DropStat, *ctl.EvictedDrops) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]ctl.DropStat, 0, t.lru.Len())
	for el := t.lru.Front(); el != nil; el = el.Next() {
		e := el.Value.(*dropEntry)
		out = append(out, ctl.DropStat{Claimed: e.key.Claimed, From: e.key.From.String(),
			Reasons: reasonCounts(e.counts), LastSeen: e.last})
	}
	if t.nEvict == 0 {
		return out, nil
	}
	return out, &ctl.EvictedDrops{Senders: t.nEvict, Reasons: reasonCounts(t.evicted)}
}

func reasonCounts(c [wire.NumDropReasons]uint64) map[string]uint64 {
	m := map[string]uint64{}
	for r, n := range c {
		if n > 0 {
			m[wire.DropReason(r).String()] = n
		}
	}
	return m
}

// claimedSource digs the src= field out of a datagram that failed to
// decode, so the log and `hbd status` can say who it pretends to come
// from. It is never trusted for anything else: at most maxClaimed bytes
// are kept ("..." marks a clipped name), escaped as logging.Escape does so
// that it cannot forge log lines or drive a terminal.
func claimedSource(b []byte) string {
	i := bytes.Index(b, []byte("(0)src="))
	if i < 0 {
		return ""
	}
	name := b[i+len("(0)src="):]
	if end := bytes.IndexAny(name, ",\n"); end >= 0 {
		name = name[:end]
	}
	if len(name) > maxClaimed {
		return logging.Escape(string(name[:maxClaimed])) + "..."
	}
	return logging.Escape(string(name))
}
