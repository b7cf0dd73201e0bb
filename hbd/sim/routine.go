package sim

import "github.com/hbdproject/hbd/hbd/cluster"

// Routine messages read as the daemon reads them (Config.RoutineReads):
// hbd/daemon reads its peers' routine messages from their own sockets
// at its wake-ups, before the event that woke it, and a tick whose core
// says RoutineCanWait leaves them there (its loop.go, tick). A routine
// message that arrives at a node therefore waits in the node's list until
// its next step, and is given to its core then with the time it arrived
// (the daemon's link.Packet.At), in the order it arrived; the checks
// count it as heard when it arrived; routineRead is when the node last
// read them (its clock). A node that crashes or restarts loses what
// waited (its sockets are gone), and its next run has read nothing. Those steps neither check
// the node's progress nor schedule its next Tick (world.reading): the
// event they come before does, as the daemon's loop sets its timer once
// the event is stepped (a Tick due already is the one they come before).

// waitRoutine keeps e, a message arriving at its receiver, for the
// receiver's next step when it is routine: true when it was kept.
func (w *world) waitRoutine(e *event) bool {
	if !w.c.RoutineReads || !e.routine || !e.arrived.IsZero() {
		return false
	}
	if drop, now := w.floodRoute(e); drop {
		return true
	} else if now {
		return false
	}
	x := w.nodes[e.node]
	e.run, e.arrived, e.clock = x.run, w.now, w.clock(e.node)
	e.viewed, e.stale = w.wallView(e)
	x.routine = append(x.routine, e)
	return true
}

// readRoutine gives node i's core what waits for it before ev, unless ev
// is a Tick that may go without it; first the floods that read found
// (flood.go).
func (w *world) readRoutine(i int, ev cluster.Event) {
	x := w.nodes[i]
	if !w.c.RoutineReads {
		return
	}
	if t, ok := ev.(cluster.Tick); ok && x.core.RoutineCanWait(t.Now, x.routineRead) {
		if len(x.routine) > 0 {
			w.res.RoutineWaits++
		}
		return
	}
	x.routineRead = w.clock(i)
	floods := w.floodsRead(i)
	if len(x.routine) == 0 && len(floods) == 0 {
		return
	}
	waiting := x.routine
	x.routine = nil
	w.reading = true
	if len(floods) > 0 {
		w.stepFlood(i, floods)
	}
	for _, e := range waiting {
		w.res.RoutineLate = max(w.res.RoutineLate, w.now.Sub(e.arrived))
		w.deliver(e)
	}
	w.reading = false
}
