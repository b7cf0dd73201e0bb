package daemon

import (
	"bytes"
	"net/netip"
	"sort"
	"time"

	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/wire"
)

// dropLogEvery bounds how often one (sender, reason) pair is logged.
const dropLogEvery = time.Minute

// dropKey names who sent a rejected datagram: the node name the packet
// claims (unverified, for the operator's eyes only) and its address.
type dropKey struct {
	Claimed string
	From    netip.Addr
}

type dropEntry struct {
	counts  [wire.NumDropReasons]uint64
	lastLog [wire.NumDropReasons]time.Time
	last    time.Time
}

// dropCounter counts the datagrams the daemon rejects before they reach
// the core (bad framing or signature); the core counts its own (replays,
// stale generations, unknown nodes).
type dropCounter struct {
	m map[dropKey]*dropEntry
}

// add counts one drop and says whether it should be logged now.
func (d *dropCounter) add(k dropKey, r wire.DropReason, now time.Time) bool {
	if d.m == nil {
		d.m = make(map[dropKey]*dropEntry)
	}
	e := d.m[k]
	if e == nil {
		e = &dropEntry{}
		d.m[k] = e
	}
	e.counts[r]++
	e.last = now
	if !e.lastLog[r].IsZero() && now.Sub(e.lastLog[r]) < dropLogEvery {
		return false
	}
	e.lastLog[r] = now
	return true
}

func (d *dropCounter) snapshot() []ctl.DropStat {
	out := make([]ctl.DropStat, 0, len(d.m))
	for k, e := range d.m {
		s := ctl.DropStat{Claimed: k.Claimed, From: k.From.String(), Reasons: map[string]uint64{}, LastSeen: e.last}
		for r, n := range e.counts {
			if n > 0 {
				s.Reasons[wire.DropReason(r).String()] = n
			}
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Claimed != out[j].Claimed {
			return out[i].Claimed < out[j].Claimed
		}
		return out[i].From < out[j].From
	})
	return out
}

// claimedSource digs the src= field out of a datagram that failed to
// decode, so the log can say who it pretends to come from. It is never
// trusted for anything else; the result is clipped and printable.
func claimedSource(b []byte) string {
	i := bytes.Index(b, []byte("(0)src="))
	if i < 0 {
		return ""
	}
	rest := b[i+len("(0)src="):]
	end := bytes.IndexAny(rest, ",\n")
	if end < 0 || end > 64 {
		return ""
	}
	name := rest[:end]
	for _, c := range name {
		if c <= ' ' || c > '~' {
			return ""
		}
	}
	return string(name)
}
