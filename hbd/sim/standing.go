package sim

import (
	"fmt"
	"strings"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/wire"
)

// The standing status order (hbd/cluster's standing.go), executed as the
// daemon's sender executes it: at each send due, on the node's own clock,
// the order's status is stamped and sent without a Step of the core, and
// what was sent is handed to the core before its next Step (step). A
// paused or dead daemon sends nothing (deferPaused, the run check); a
// resumed one sends at once what came due, as the daemon's sender does
// once its loop parks again.

// simLoad is the ld every simulated node reads.
const simLoad = "0.00 0.00 0.00 1/100 1"

// scheduleStanding queues node i's next send of its order, if one stands.
func (w *world) scheduleStanding(i int) {
	n := w.nodes[i]
	due, on := n.standing.Due()
	if !on {
		return
	}
	at := due.Add(-n.skew)
	if n.standingAt.Equal(at) && n.standingRun == n.run && at.After(w.now) {
		return // queued already (one due by now may have been dropped: deferPaused)
	}
	n.standingAt, n.standingRun = at, n.run
	w.push(&event{at: at, kind: evStanding, node: i, run: n.run})
}

// standingSend is an evStanding: node i's order sends its status, unless
// the event is stale (another run, the order ended or moved).
func (w *world) standingSend(e *event) {
	n := w.nodes[e.node]
	if !n.alive || n.run != e.run {
		return
	}
	due, on := n.standing.Due()
	if !on || !due.Add(-n.skew).Equal(e.at) {
		return // superseded
	}
	w.standingFire(e.node)
	w.scheduleStanding(e.node)
}

// standingFire sends node i's order's status now.
func (w *world) standingFire(i int) {
	n := w.nodes[i]
	m := n.standing.Fire(w.clock(i), simLoad)
	w.res.StandingSends++
	if w.tracing {
		w.trace("%s#%d standing", n.name, n.run)
		w.trace("  %s send %s", n.name, summary(m))
	}
	w.send(i, &cluster.Send{Msg: m, Routine: true})
}

func standingSummary(a *cluster.StandingStatus) string {
	if a.Msg == nil {
		return "standing off"
	}
	return fmt.Sprintf("standing seq=%x every %s: %s", a.Seq, fmtDur(a.Every), summary(a.Msg))
}

// checkSeqStream holds node i's message m, about to be sent, to
// CheckSeqStream.
func (w *world) checkSeqStream(i int, m *wire.Message) {
	v, ok := m.Get(wire.FSeq)
	if !ok {
		return // NS_ messages
	}
	seq, err := wire.ParseHex(v)
	n := w.nodes[i]
	if err != nil || n.sent == nil {
		return
	}
	var b strings.Builder
	for _, f := range m.Fields {
		b.WriteString(f.Name)
		b.WriteByte('=')
		b.Write(f.Value)
		b.WriteByte('\n')
	}
	body := b.String()
	switch {
	case seq > n.sentHigh:
		if n.sentHigh != 0 && seq != n.sentHigh+1 {
			w.violate(CheckSeqStream, fmt.Sprintf("%s sent seq %d after %d", n.name, seq, n.sentHigh))
		}
		n.sentHigh = seq
		n.sent[seq] = body
		if seq > cluster.HistorySize {
			delete(n.sent, seq-cluster.HistorySize)
		}
	default:
		if first, ok := n.sent[seq]; ok && first != body {
			w.violate(CheckSeqStream, fmt.Sprintf("%s sent seq %d again not as it first sent it:\n%s\nthen:\n%s", n.name, seq, first, body))
		}
	}
}
