package sim

import (
	"fmt"
	"strconv"

	"github.com/hbdproject/hbd/hbd/cluster"
)

// CheckBoundary: the actions a daemon executes without tracing them here
// keep their contract (hbd/cluster/doc.go, "The boundary"):
//   - WatchGroup comes only from the OpDone of a successful start of that
//     group, for a group not watched yet, with that group's Spec;
//   - no StartGroup, StopGroup or ProbeGroup of a watched group comes
//     before its UnwatchGroup, and no UnwatchGroup of a group not watched;
//   - Exit leaves no group watched;
//   - Reannounce carries the group's Spec;
//   - PrepareGroup carries the group's Spec, names a peer as the node
//     releasing it, and never comes for a group running here (watched);
//   - AbandonStart comes only while a start of the group runs (a
//     StartGroup without its OpDone yet), at most once per start, and
//     names a peer;
//   - PeerState says what the core's view of the peer is after the step;
//   - RunHook comes only from a Receive of a message of that type, from a
//     peer of the generation the core knows, and once per message (src,
//     hg, seq) per run, however the network duplicates it.
//
// None of these actions but AbandonStart is traced.
const CheckBoundary = "boundary"

// boundaryState is one daemon run's view of the boundary actions.
type boundaryState struct {
	watched map[string]bool
	hooks   map[string]bool // src/hg/seq of the messages a hook ran for
	// starting: the groups whose start runs (true once called off)
	starting map[string]bool
}

func (w *world) checkBoundary(i int, ev cluster.Event, acts []cluster.Action) {
	n := w.nodes[i]
	b := &n.bd
	if b.watched == nil {
		b.watched, b.hooks, b.starting = map[string]bool{}, map[string]bool{}, map[string]bool{}
	}
	bad := func(format string, args ...any) {
		w.violate(CheckBoundary, n.name+": "+fmt.Sprintf(format, args...))
	}
	if op, ok := ev.(cluster.OpDone); ok && op.Op == cluster.OpStart {
		delete(b.starting, op.Group)
	}
	peerStates := map[string]string{}
	for _, a := range acts {
		switch a := a.(type) {
		case cluster.WatchGroup:
			op, ok := ev.(cluster.OpDone)
			if !ok || op.Op != cluster.OpStart || op.Result != cluster.ResultOK || op.Group != a.Group {
				bad("WatchGroup %s on %T, not on its start's OpDone ok", a.Group, ev)
			}
			if b.watched[a.Group] {
				bad("WatchGroup %s, already watched", a.Group)
			}
			if a.Spec.Key() != a.Group {
				bad("WatchGroup %s carries the Spec of %s", a.Group, a.Spec.Key())
			}
			b.watched[a.Group] = true
		case cluster.UnwatchGroup:
			if !b.watched[a.Group] {
				bad("UnwatchGroup %s, not watched", a.Group)
			}
			delete(b.watched, a.Group)
		case cluster.StartGroup:
			w.checkUnwatched(b, bad, "StartGroup", a.Group)
			b.starting[a.Group] = false
		case cluster.AbandonStart:
			called, ok := b.starting[a.Group]
			switch {
			case !ok:
				bad("AbandonStart %s, whose start does not run", a.Group)
			case called:
				bad("AbandonStart %s twice for one start", a.Group)
			}
			if a.Peer == "" || a.Peer == n.name {
				bad("AbandonStart %s names %q as the peer heard again", a.Group, a.Peer)
			}
			b.starting[a.Group] = true
		case cluster.StopGroup:
			w.checkUnwatched(b, bad, "StopGroup", a.Group)
		case cluster.ProbeGroup:
			w.checkUnwatched(b, bad, "ProbeGroup", a.Group)
		case cluster.PrepareGroup:
			if a.Spec.Key() != a.Group {
				bad("PrepareGroup %s carries the Spec of %q", a.Group, a.Spec.Key())
			}
			w.checkUnwatched(b, bad, "PrepareGroup", a.Group)
			if a.From == "" || a.From == n.name {
				bad("PrepareGroup %s names %q as the releasing peer", a.Group, a.From)
			}
		case cluster.Reannounce:
			if a.Spec.Key() != a.Group {
				bad("Reannounce %s carries the Spec of %q", a.Group, a.Spec.Key())
			}
		case cluster.Exit:
			if len(b.watched) > 0 {
				bad("Exit with groups watched: %v", b.watched)
			}
		case cluster.PeerState:
			peerStates[a.Node] = a.State
		case cluster.RunHook:
			w.checkHook(n, b, bad, ev, a)
		}
	}
	for peer, st := range peerStates {
		if view, _, _ := n.core.PeerView(peer); view != st {
			bad("PeerState %s=%s, but the core sees it %s", peer, st, view)
		}
	}
}

func (w *world) checkUnwatched(b *boundaryState, bad func(string, ...any), what, group string) {
	if b.watched[group] {
		bad("%s %s while it is watched (no UnwatchGroup first)", what, group)
	}
}

func (w *world) checkHook(n *simNode, b *boundaryState, bad func(string, ...any), ev cluster.Event, a cluster.RunHook) {
	r, ok := ev.(cluster.Receive)
	if !ok || r.Msg.Value("t") != a.Event || r.Msg.Value("src") != a.Fields["src"] {
		bad("RunHook %s on %T, not on a Receive of that message", a.Event, ev)
		return
	}
	src, hg, seq := a.Fields["src"], a.Fields["hg"], a.Fields["seq"]
	if _, gen, _ := n.core.PeerView(src); strconv.FormatUint(gen, 16) != hg {
		bad("RunHook %s for %s's generation %s, the core knows %x", a.Event, src, hg, gen)
	}
	key := src + "/" + hg + "/" + seq
	if b.hooks[key] {
		bad("RunHook %s twice for the message %s", a.Event, key)
	}
	b.hooks[key] = true
}
