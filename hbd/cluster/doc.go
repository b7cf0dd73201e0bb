// Package cluster is hbd's core: a pure, deterministic state machine for
// membership (and, in the next step, resource groups).
//
// The daemon feeds it events (Tick, Receive, Stop) and performs the actions
// it returns (Send, Log). The core has no goroutines, does no I/O, never
// reads the clock and draws no random numbers: every time it uses comes
// from an event, so the same events in the same order give the same actions.
// That is what hbd/sim relies on to run thousands of seeds of crashes,
// partitions and packet loss in seconds.
//
// # Membership, as Heartbeat 3.0.6 does it
//
// A node sends `status` st=init, then st=up, then a status every keepalive.
// Peers are tracked per node and per link from arrival times (the time the
// daemon's reader stamped on the Receive event): a link silent for deadtime
// is dead ("Link node2:eth0 dead."), a node silent on every link for
// deadtime is dead ("node node2: is dead"); a node never heard is declared
// dead initdead after this node started. Once every configured node has
// been heard (or declared dead) the node asks one live peer for its node
// list (reqnodes → repnodes), then goes active ("Comm_now_up(): updating
// status to active") and sends `starting`.
//
// Every message but the NS_ ones carries seq (one counter for all types)
// and the generation hg. Per peer the core keeps the highest generation
// seen and the last seq: older generations are dropped (stale), a higher
// one is a restart, a seq seen before is a duplicate, a gap is logged as
// lost packets and asked for again with NS_rexmit; the core keeps the
// messages it sent (a bounded history) and sends them again on request,
// and acknowledges peers' messages with NS_ackmsg about every 10 messages,
// as Heartbeat does, so that a Heartbeat peer's history does not fill up.
//
// # Where issue 4 (resource groups) plugs in
//
//   - Node.dispatch: one case per message type; resource, ask_resources,
//     hb_takeover, ip-request(-resp) and stonith get their cases there.
//   - Node.sendMessage: every control message goes through it, so it gets a
//     seq and lands in the retransmit history.
//   - Node.markDead / the shutdone case: the membership transitions that
//     trigger takeover (peer dead; peer announced a graceful shutdown).
//   - Node.commNowUp: where the initial resource acquisition starts.
//   - New events (group operation done, operator command, new config) are
//     new Event types handled in Step; new actions (start/stop a group)
//     are new Action types.
package cluster
