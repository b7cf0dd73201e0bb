// Package cluster is hbd's core: a pure, deterministic state machine for
// membership and resource groups.
//
// The daemon feeds it events (Tick, Receive, RoutineFlood, Stop, OpDone,
// Command, Reconfigure, GroupFailure, PingStatus, FenceDone) and executes the
// actions it returns. The core has no goroutines, does no I/O, never
// reads the clock and draws no random numbers: every time it uses comes
// from an event, so the same events in the same order give the same actions.
// That is what hbd/sim relies on to run thousands of seeds of crashes,
// partitions and packet loss in seconds.
//
// # The boundary: the core decides, the daemon executes
//
// Every side effect of a decision is an action; the daemon (hbd/daemon)
// performs each as it comes, in order, and keeps no view of its own of
// peers, groups or messages: it does not compare the core's state before
// and after a Step, does not read a message again after Step, and never
// looks a group up by key (every group action carries its Spec).
//
//	Send          sign and send a message, on every link or on one
//	Log           write a log line
//	StartGroup    run harc start (Spec), then feed back OpDone
//	StopGroup     run harc stop (Spec: the definition started), then OpDone;
//	              a planned release drains (Drain) and names the live
//	              peer that takes the group next (Taker), "" for none
//	ProbeGroup    run harc status (Spec), then OpDone
//	AbandonStart  call off the start of the group under way if none of
//	              its start scripts has begun: a peer declared dead that
//	              may hold the group is heard again, or a peer says it
//	              holds the group; its OpDone says ResultAbandoned then,
//	              or how it ended
//	PrepareGroup  a live peer (From) releases a group this node starts
//	              next: read its statuses now (harc Prepare), for the
//	              StartGroup that follows; no OpDone
//	WatchGroup    the group's start succeeded: watch its built-in
//	              addresses and run its monitor lines (Monitors) until
//	              UnwatchGroup; a monitor that gives up comes back as
//	              GroupFailure
//	UnwatchGroup  stop that watch; emitted just before any other operation
//	              of a watched group, which runs only once the watch and the
//	              monitor checks have stopped
//	Reannounce    announce a kept group's addresses again (Spec), no OpDone
//	PeerState     a peer's state changed (init, up, active, dead): the
//	              daemon runs rc.d/status with HA_src and HA_st
//	RunHook       run rc.d/EVENT with the fields of a message the core
//	              accepted, once per message (ask_resources, hb_takeover,
//	              ip-request, ip-request-resp); never for a duplicate, a copy
//	              on another link, a replay or a stale generation
//	Fence         fence a peer, then feed back FenceDone
//	PersistSettings keep the cluster-wide operator settings in the
//	              state directory (atomically), for New at the next start
//	PeerGenerations keep the newest generation seen of each peer in the
//	              state directory (atomically), for New at the next start
//	              (Options.PeerGenerations)
//	Exit          the graceful stop is complete: the daemon exits
//	StandingStatus with Options.Standing: send this routine status every
//	              keepalive, seq rising, until the next StandingStatus
//	              (a nil Msg ends it); first among its Step's actions;
//	              the caller hands the node what it sent (Sent) before
//	              each Step
//
// Storage. A Send is a *Send; its message is complete but for the
// signature. Step's actions and their messages stay the caller's until it
// calls Recycle, after which the next Step builds its own in the same
// storage: the daemon recycles after executing them, so a steady-state
// heartbeat allocates nothing; a caller that keeps a message copies it
// (the simulation carries a Clone). The node keeps nothing of a message
// it received, nor of one it handed out: its history of sent messages
// (retransmissions) holds copies.
//
// The simulation (hbd/sim) executes the same actions against a virtual
// network and clock; the scenario files print the ones a story needs.
//
// # Membership, as Heartbeat 3.0.6 does it
//
// A node sends `status` st=init, then st=up, then a status every keepalive.
// Peers are tracked per node and per link from arrival times (the time the
// daemon's reader stamped on the Receive event): a link silent for deadtime
// is dead ("Link node2:eth0 dead."), a node silent on every link for
// deadtime is dead ("node node2: is dead"); a node never heard is declared
// dead initdead after this node started. A dead node heard again stays
// dead until its next status; silent for deadtime again before one
// comes (the partition is back), it is declared dead again, unless a
// fence of it succeeded since it was last heard. Once every configured
// node has been heard (or declared dead) the node asks one live peer for
// its node list (reqnodes → repnodes), then goes active ("Comm_now_up():
// updating status to active") and sends `starting`. It asks every second
// as Heartbeat does, but after ReqnodesPatience unanswered requests it
// logs once (WARN) that the peer does not seem to hear it and what to
// check in ha.cf, and waits twice as long before each next request, up
// to ReqnodesRetryMax (join.go); it stays up, taking no group, until an
// answer comes.
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
// Routine messages. A status that repeats the last one but for seq, ts and
// ld, sent while every peer is alive with every link up as at the last
// status, and every acknowledgement, is a routine Send (Send.Routine): it
// tells nobody anything but that this node is there. The daemon marks it
// on the wire (hbd_routine=1, its first field) and a receiver may read it
// at its own next wake-up instead of waking for it; liveness counts from its arrival time, so nothing but the moment it is
// read changes. A status after any change (its own fields, a peer's state,
// generation or links) is read at once, so a partition that heals, a
// restarted peer or a new state is news without delay.
//
// The standing status order (standing.go). With Options.Standing, a node
// beside peers that are all quiet (below), whose status is routine and
// whose last Step was calm, orders its routine status once
// (StandingStatus) instead of being stepped for each: the caller's
// sender stamps seq, ts and ld in a copy and sends it every keepalive
// (Standing.Fire), and hands the node what it sent before each Step
// (Sent), which keeps the node's seq, its history of sent messages
// (retransmissions are answered from it, byte for byte what went out)
// and its next status time. The order ends, first among the Step's
// actions, at any Step that is not calm (anything but a Tick or a
// Receive, news sent, a status or a view of the peers that changes, a
// stop); the node sends its statuses itself from the next one due.
// While it stands the node asks for a Tick only for its deadlines and
// when the quiet peer's next status is due (routineDue), then every
// keepalive until that status is read; a quiet peer's acknowledgement
// waits for that Tick to be read, which only delays the trimming it
// does.
//
// Replays. The highest generation seen of each peer survives this node's
// restarts: the core emits PeerGenerations whenever it rises, the daemon
// keeps it and gives it back (Options.PeerGenerations), and a message of
// an older generation is dropped even before the peer is heard in this
// run. A message whose ts (epoch seconds) is older than this node's clock
// by more than deadtime + MaxClockSkew (a day) + TimestampResolution is
// dropped as stale-timestamp (maxMessageAge): a capture cannot be
// replayed a day later, even to a node that just restarted and tracks no
// seq of the peer yet. The limit is wide because a refused peer looks
// dead: a merely drifting clock must never make a node take a live
// holder's groups. A drift past ClockWarnSkew is logged (WARN, hourly).
// NS_ messages carry no seq: they never make a peer alive, and their
// handlers log at most NSLogBurst lines per peer per LogEvery.
//
// # Quiet passive
//
// A node of a pair that holds nothing may send its status less often
// (ha.cf quiet_passive): who may, what its peer does, and why it is
// safe are written at the top of quiet.go.
//
// # Resource groups
//
// Every node knows every haresources group (its key is the first
// resource, config.Group.Key) and its preferred node. The daemon runs
// what the core decides through harc: StartGroup, StopGroup, ProbeGroup
// come back as OpDone events, any time later (heartbeats go on); the core
// keeps each group's state (stopped, probing, starting, running, stopping,
// failed, stop-failed) and never waits.
//
// Boot. A node probes every group (ProbeGroup → status) before it joins.
// A group found running that this run did not start (the daemon was
// killed, the machine was not) is stopped before the node joins: "release
// before join". The later start re-runs every script and so re-announces
// the address (Heartbeat's trap 2: status said running, nothing was
// re-announced, the VIP stayed dark for 32–40 s). The node joins
// (reqnodes/repnodes/starting, or initdead) only then, and starts nothing
// before it has joined and every live peer has announced its groups.
//
// Who holds a group. Every node computes the same rule from the same
// facts (membership and the peers' announcements; placement.go):
//
//	eligible(N, g): this node has quorum (or quorum is off); g is not
//	                disabled; N is active (joined), has announced its
//	                groups, is not stopping, is not in standby (hbd node
//	                standby); g was not moved away from N; g did not fail
//	                on N; no group before g in its exclusive set is held
//	                by or desired on N;
//	willing(N, g):  eligible, N does not stand by for g (hb_standby), and
//	                N reaches as many ping nodes as every other node
//	                eligible for g;
//	desired(g):
//	  0. the node an operator moved g to (hbd group move), if eligible;
//	  1. auto_failback on or legacy: the preferred node, if willing;
//	  2. the current holder, if willing (a group does not move needlessly;
//	     with auto_failback off this is "stays while its holder lives");
//	  3. the first willing node from the preferred node on, in ha.cf
//	     `node` order, wrapping (exactly one successor with 3+ nodes);
//	  4. the first eligible node so (a node standing by still takes a
//	     group nobody else can hold);
//	  5. nobody.
//
// Operator settings (settings.go): node standby, group disabled, group
// moved to or away from a node. Any node may change one (Command); each
// setting carries its own version (a counter one above every version
// the changing node knows, then its name), travels in every
// announcement (hbd_settings) and is merged newest-wins, so both sides of
// a healed partition agree; a change emits PersistSettings (an
// operator's at once, a peer's at most once per SettingsSaveEvery), and
// New starts from the persisted copy (Options.Settings). A running group this
// node may no longer hold by the settings is handed to desired(g) with the
// standby handshake, or stopped at once when desired(g) is nobody.
//
// A cleared setting (online, enable, clear) is kept as an empty value so
// that an older set of it, still held by a node that has not heard the
// clear (cut off, down), does not come back when that node is heard
// again: the clear is newer and wins. Once no node can bring an older
// value back, the cleared setting says nothing an absent one does not,
// and it is dropped (settingsgc.go); kept for good, those of a cluster
// whose operators move and clear groups, or whose group keys change with
// its reloads, would fill its announcements. A node drops cleared setting
// s when every peer of its configuration acknowledged it: the latest
// announcement heard from the peer (of its current run, or of its last
// one before it died; none yet after it was heard restarting) either
// carries s's setting at s's version or a newer one, or carries no
// version of it while its newest setting is at least as new as s (the
// peer holds no older value, and a change it makes later gets a version
// above s, so it wins over a copy of s another node still holds); or the
// peer is a Heartbeat node (it keeps no settings). What a peer announced
// is what it persisted (its announcements carry the settings of its last
// PersistSettings, which comes before the Send, and the daemon executes
// actions in order), so a dead peer restarts with no older value either. A peer never heard, or one added
// by a reload, holds the clear back until it announces: a cut-off node
// that still holds the older value keeps every other node's copy of the
// clear until it has taken it. The newest setting a node holds is never
// dropped, cleared or not: its next change's version is one above the
// newest it holds and must stay above every version it acknowledged (a
// Lamport clock); that costs one cleared setting at most. A cleared
// setting of a name not held here, from a peer that has not dropped it
// yet while every peer acknowledged it, is not taken unless it is newer
// than every setting held here (it is then the newest): it would be
// dropped at once, and taken back it would wait for acknowledgements
// that the peers which dropped it no longer send. Not covered: a node
// that comes back with a state file older than its last announcement (a
// restored backup), or a node in a peer's configuration but not in this
// one's (the middle of a reload that adds it); either may bring back a
// value older than a clear that every node of this configuration dropped.
//
// The settings must fit the announcement (settingsroom.go): the load
// check keeps SettingsReserve bytes for them in the worst case, and they
// may take all that the worst case leaves (SettingsRoom). An operator's
// command that would make hbd_settings longer is refused, logged, and
// changes nothing (the daemon asks CheckSettingsCommand first, so that
// the CLI gets the error); one that clears a setting is always taken.
// Only the settings of names configured here count (the others are a
// peer's, whose configuration may differ). A peer's settings are taken
// whatever their total length (the newest version must win everywhere)
// within the caps of the table (settingscap.go: a setting's name, value
// and origin, the table's count and bytes; what is over them is refused
// with a WARN at most once per LogEvery per peer, never kept, announced
// or persisted). Two sides of a partition that each filled the room, or
// a hostile peer, may together go past it: the announcement then carries
// the settings of configured names first, then the newest, as many as
// fit, and says it left some out (hbd_setspart), so that no peer reads a
// setting it lacks as acknowledged; it is always sent.
//
// Exclusive groups (ha.cf `exclusive`, config.Config.Exclusive; the
// first listed wins): N is not eligible for g while it holds, starts, or
// is desired(h) of a group h listed before g in g's set, so the higher
// group is placed first and the lower one goes elsewhere or nowhere. A
// node never starts g while it holds (starting, running, stopping,
// stop-failed, probing) another group of g's set: a running lower group
// is released there at once (no handshake), and the higher one starts
// after its OpDone (exclusive.go). This holds in every transition since
// every start goes through reconcile.
//
// legacy is treated like on between hbd nodes (Heartbeat's legacy means
// "on unless a peer runs nice_failback", which no hbd node does).
//
// Quorum (config.Config.Quorum; auto = on with 3+ nodes, quorum.go): a
// node counts itself and its live peers; with fewer than a majority of
// the ha.cf nodes nobody is eligible (as it sees it): it stops every
// running group at once (no handshake) and starts none. The majority
// starts nothing for two deadtimes after an ungraceful death of a peer
// (the cut-off node notices within a deadtime, or within the longer one
// it announced in its latest status, dt or hbd_dt: a reload there
// lengthened it first, or shortened it and the old one still applies;
// after a node lengthened its deadtime, a peer silent for the old one
// does not count for its majority until the peers have heard the new
// one; and it stops its groups meanwhile, all at once, also in the middle of a graceful stop; a peer
// that announced its graceful stop and fell silent still listing groups
// counts as ungraceful: a partition cut it off before it released them;
// a peer declared dead at initdead too: it may have run groups since
// before this node started), unless it fences that peer
// (fence_command, fence_aws): then the fence's success, which every
// start waits for anyway (safe.go), replaces the wait; and a node that
// regains quorum starts nothing for a deadtime (it hears the rest of the
// majority and what they hold first), or for two while a peer it does not
// hear did not stop gracefully (the change that gave it the majority may
// have cut that peer off just after it started a group the rest of the
// majority has not heard of). Without fencing, this holds when
// start and stop scripts end within about a deadtime; the simulation
// checks it with zero tolerance.
//
// When it starts a group. A node starts g only when desired(g) is itself
// and, for every live peer: the peer has announced its groups (of its
// current run), its latest announcement does not list g as held, no
// message it sent after that announcement is missing (asked for again:
// it may be a newer announcement, which a resent older done must not
// outrun; an hbd peer is asked to announce again once it is overdue,
// below), an hbd peer's latest announcement names this node as g's
// desired holder too (hbd_want), and no standby handoff from that peer
// for g is under way (acquire after its ask_resources info=done, or
// once the request lapses, below); and no peer declared dead has been
// heard again without the status that makes it live (it may hold g: the
// start waits until it is live and has announced, or is declared dead
// again). So a group only moves away
// from a live holder by that holder's decision: it released it and said
// so; or the holder is dead (deadtime); or it announced a graceful
// shutdown (at once, no deadtime: "Received shutdown notice").
//
// A message lost for good (seq.go). A peer resends a missing message
// on every request (NS_rexmit, every RexmitInterval) until it leaves its
// history of HistorySize messages, and only then answers NS_nak_rexmit:
// a start waiting for a message lost on every try would wait
// HistorySize keepalives (about 500 s at keepalive 1 s). So once a seq
// an hbd peer sent after its latest announcement has been asked for
// RexmitPatience times in vain (about a second), this node asks the peer
// to announce again (hbd_ask, at most every two keepalives while the
// seq stays overdue) and the start waits for that announcement instead,
// then reads it as every announcement, with every check above. Why this
// cannot start a group twice: a message changes what this node may start
// only by what it says of the sender's groups, and what each type could
// say is said again, or its loss is harmless:
//
//   - resource: the new announcement is a whole statement (held,
//     starting, failed, stop-failed, standby, want, settings, stopping)
//     made after the missing one, which could only have said an older
//     state;
//   - ask_resources info=done: it only ends a wait (a served standby
//     request), never allows what an announcement forbids; lost, the
//     request holds the peer's groups back until an announcement of the
//     peer says isstable=1 (it says so only once every handoff it began
//     is over) or the request lapses;
//   - ask_resources info=me or other: unanswered, the handoff is
//     cancelled after a deadtime and its holder keeps its groups;
//   - hb_takeover: this node does not stand by for the groups: none of
//     them moves for it;
//   - shutdone: the peer falls silent and is declared dead a deadtime
//     later, its death graceful or not by what its announcements said;
//   - status: the next one says the peer's state again; the other types
//     (starting, reqnodes, repnodes, ip-request…) say nothing of groups
//     that this node reads.
//
// The missing seq is still asked for; arriving late, it is read as any
// late message (an announcement older than the one applied is ignored).
// A Heartbeat peer ignores hbd_ask and announces only on a change: a
// start still waits for its missing message or its NAK (Heartbeat keeps
// 500 messages as well), which for its standby done is shorter than that
// request's lapse of an hour anyway.
//
// Calling a start off (abandon.go). A start under way whose start script
// has not begun is called off (AbandonStart) when a peer says it holds
// the group, and when a peer declared dead is heard again that may hold
// it: what that peer holds is unknown until it announces. It may hold g
// only if it held g by its last word (its latest announcement before its
// death: the copy may still run) or started g since, which needs it
// eligible for g. Two facts of its last word keep it not eligible
// whatever it has learnt since: g failed there and has no
// failure_timeout (only hbd cleanup lifts it), or its graceful stop was
// under way (a stopping run starts nothing). When one holds and it did not
// hold g, the start goes on ("Start of resource group g goes on: node2,
// heard again, cannot hold it (...)"). Every doubt calls the start off:
// no word (no announcement of its run before its death, or a Heartbeat
// peer, which does not announce its failures), a restart since (the runs
// between may have run anything, and a killed run's leftovers run until
// its successor's release before joining), a reload here since (the peer
// may have reloaded too). Left are changes made on the peer alone while
// it was cut off (an hbd cleanup of g there, or a reload there alone that
// gave g a failure_timeout): it may start g then, and its announcement,
// sent as soon as it hears this node, calls the start off if its script
// has not begun (testdata/calloffcleanup.txt); if it has, the duplicate
// is resolved as after any partition.
//
// Flap damping. A failback — the holder is willing to keep a running
// group but auto_failback prefers the returning preferred node — waits
// until that node has been up and joined (its first announcement of this
// run) for config.Config.FailbackDelay (ha.cf failback_delay). The holder
// logs the plan once with its countdown ("Failback of web to node1 in 2s
// (run hbd standby on node1 to cancel)"); a standby on the preferred node
// makes it unwilling and cancels it. A group nobody holds is started at
// once.
//
// Releasing to a live peer (failback, standby, the peer's hb_takeover) is
// Heartbeat's handshake, initiated by the holder: ask_resources
// rsc_hold=W info=me ("X wants to go standby [W]"); the peer answers
// info=other; the holder stops the groups (right to left is harc's job),
// then sends resource … isstable=0 info=standby and ask_resources info=done;
// the peer acquires, then sends resource … isstable=1 and ask_resources
// info=done ("Other node completed standby takeover"). A handoff nobody
// answers within deadtime is cancelled (and retried while the rule still
// wants it). A request overtaken by a later message of its sender that
// ends it (its done, a newer request, an hbd peer's announcement saying
// isstable=1) is not served: it would wait for a done already gone. A
// served request whose done never comes lapses: after Heartbeat's hour
// for a Heartbeat peer (its rsc_hold drops the groups before it stops
// them), after the longer of 30 s and four deadtimes for an hbd peer (its
// announcements list a group until its stop ends). hb_standby W sets this node's standby flag for the groups in
// W (relative to itself); hb_takeover W clears its own flags for W and
// sends hb_takeover; a peer receiving it stands by for the groups in W
// relative to the sender (Heartbeat's rc.d/hb_takeover: all→all,
// local→foreign, foreign→local). A peer's info=me clears our flags for the
// groups it gives us. A flag also clears when the node starts the group.
//
// Failures. A failed start (ResultFailed, harc rolled it back) marks the
// group failed here: this node is no longer eligible, announces it
// (hbd_failed), and the next node by the rule takes it. A failed stop
// (ResultStopFailed) keeps the group held as stop-failed: CRIT log, it
// stays in hbd_held so nobody starts it, and a graceful stop waits for it.
// CmdCleanup (hbd cleanup) retries the stop, and forgets a failed start.
// GroupFailure (the daemon's monitor gave a running group up after its
// local restarts) is a failure too: the group is stopped here at once (no
// handshake), announced in hbd_failed, and the next node by the rule takes
// it. A failure (of a start or a monitor) expires after the group's
// failure_timeout (config.Group.FailureTimeout; 0: never), or CmdCleanup
// clears it (and the fail count); with auto_failback on, an expired
// failure on the preferred node brings the group back to it.
// With a Heartbeat 3.0.6 peer a group that failed here stays down until an
// operator acts (Heartbeat gives no way to hand over a group never held).
//
// After a partition heals (two nodes hold a group): the keeper is the
// first holder from the preferred node on (the rule's order), skipping
// holders whose stop failed and hbd holders stopping gracefully (they
// release it anyway); every other holder stops it at once (no
// handshake) and the keeper emits Reannounce when it sees the duplicate and
// again when the other has released it. Except with a Heartbeat peer back
// from a partition (heartbeatGivesUp): Heartbeat 3.0.6 then gives up every
// group and restarts, and never announces an address again, so this node
// keeps its copy whoever prefers the group, emits Reannounce, and sends
// hb_takeover so that a peer that does not restart stands by for it; after
// heartbeatGiveUpWait with the copy still there, the rule applies. A peer that may hold copies of
// groups running here without saying so — it died to us (a partition,
// a daemon killed with its addresses in place) or restarted, unless it
// had stopped gracefully, or it is a Heartbeat peer that announced its
// shutdown — makes this node emit Reannounce for every running group it
// does not hold once it says what it holds (its next announcement, after
// its release before joining; its shutdone): clients may still point at
// it. Announcements lost while a peer
// was dead to us are asked for again (hbd_ask).
//
// Graceful stop (Stop). Every held group is released (StopGroup, one at a
// time, the last haresources line first), each release announced
// (hbd_stopping=1 lets hbd peers take each group at once); a group a live
// peer also holds (a healed partition) is released at once, beside the
// one in turn, so a duplicate lasts one stop script, not every stop
// before it, and so is a group whose monitor fails meanwhile (without a
// drain: its service is gone). A release in turn names the live peer
// the placement rule gives the group to (StopGroup.Taker), none when no
// peer is alive and willing or eligible: the last node's addresses are
// handed over to nobody. Then resource rsc_hold=none isstable=0
// info=shutdown, shutdone, and Exit. A second Stop changes nothing. With no
// groups configured, Stop sends shutdone and Exit at once.
//
// # Live reconfiguration (Reconfigure)
//
// The daemon validates new files and sends Reconfigure; the core applies
// only the difference. This node's name cannot change (ERROR, the old
// configuration stays). Timings take effect at once: the next status goes
// out within one new keepalive, and a shorter deadtime only applies one
// old deadtime after the reload (peers still sending at the old rate are
// not declared dead meanwhile); with quorum, a longer one counts for the
// quorum only once the peers have heard it (one new keepalive, the old
// deadtime and the longest the peers announced, at most the new one:
// they size their wait for this node, should it be cut off, by the
// deadtime it announced). auto_failback applies at the next
// decision. A removed peer is forgotten; an added one is expected and,
// if never heard, declared dead initdead after the reload. Groups:
//
//   - added: probed (listed in hbd_held while probed: it may run here
//     already; found running, it is stopped first), then placed by the
//     rule. It starts only once every live hbd peer's hbd_want names the
//     same holder, so in practice once every node has reloaded;
//   - removed: if held here, stopped (StopGroup with its old definition),
//     then forgotten; it is no longer in hbd_want, so a peer that has not
//     reloaded yet cannot start it either;
//   - changed (other resources or scripts): removed and added under the
//     same key — the old definition is stopped here (right to left, by
//     harc), then the new one is placed by the rule; while the old one
//     stops the group stays in hbd_held, so no node starts the new one
//     before; a failure of the old definition is forgotten;
//   - a new preferred node only: nothing stops; the rule (failback) moves
//     it if it should move;
//   - untouched: not touched.
//
// What a peer announces is kept for the groups configured here only
// (peerrsc.go, groupSet): a key this node does not have says nothing it
// acts on, and kept it would hold up to a datagram's worth of memory per
// list; that the peer listed another group held is kept as one bit
// (heldOther: it may still run it, so it has not given everything up). A
// reload forgets what the peers said of the groups it removed, and
// learns what they hold of those it added (rekeyPeers): a Heartbeat
// peer by its hold class, as its next announcement would say; an hbd
// peer is asked to announce again (hbd_ask, at once, then at most every
// two keepalives until it does), and until then one that listed another
// group held is taken to hold every added group, so that none starts
// here while it may run there.
//
// A group the reload gives this node does not start on the peers'
// consent to the old configuration's want: the node announces its new
// hbd_want first and starts only once every live hbd peer has answered
// an announcement that says it (hbd_seen, hbd_sync). Two nodes
// reloading at once, each to a configuration that gives the group to
// itself, would otherwise both start it on the other's old consent.
//
// Group actions carry the definition to run (StartGroup.Spec,
// StopGroup.Spec, ProbeGroup.Spec): the daemon never resolves a key
// against its configuration. A group removed while this node's daemon was
// down (killed, its processes left running) is unknown to the new run:
// hbd cannot stop it.
//
// # Messages
//
// Heartbeat's own, with the field order of the captures:
//
//	resource      rsc_hold rtype=full isstable [info]  (info: standby,
//	              shutdown; mach_down has no rtype/isstable)
//	ask_resources rsc_hold info=me|other|done
//	hb_takeover   rsc_hold
//	shutdone      st=dead
//
// rsc_hold is relative to the sender: local when it holds every group it
// prefers (also when it prefers none), foreign when it holds another
// node's group, all for both, none otherwise. A resource message from a
// Heartbeat peer (no hbd_ fields) is read the same way (2-node clusters).
//
// hbd's extension fields, after Heartbeat's (Heartbeat ignores them);
// lists are `|`-separated group keys:
//
//	hbd_held       groups the sender holds (starting, running, stopping,
//	               stop-failed)
//	hbd_starting   of those, the ones that are no copy to keep yet: a
//	               start under way (it may still be called off,
//	               abandon.go), a group new in the configuration being
//	               probed, one being released because a probe found it
//	               running; left out while there are none. A holder
//	               gives its copy up to such a one only once it runs
//	               (resolveConflict)
//	hbd_standby    groups it stands by for
//	hbd_failed     groups that failed to start there
//	hbd_want       KEY>NODE|… its desired holder of every group ("" nobody)
//	hbd_stopfailed groups whose stop failed there
//	hbd_stopping   1 while a graceful stop releases the groups
//	hbd_ask        nodes asked to announce their groups again
//	hbd_epoch      the announcement's epoch (hex; grows within a run)
//	hbd_seen       NODE:EPOCH|… the newest epoch seen from each peer
//	hbd_sync       1: the sender waits to start a group until every peer
//	               announces again, having seen this epoch
//	hbd_settings   KIND:VALUE:VERSION:ORIGIN:NAME|… the cluster-wide
//	               operator settings it holds (settings.go; cleared ones
//	               until every node has them); left out while there are
//	               none
//	hbd_setspart   1: hbd_settings leaves some of them out (they take
//	               more than an announcement has room for)
//	hbd_quietmax   ms: the longest status interval it honours from a
//	               quiet peer ("Quiet passive"); left out with
//	               quiet_passive off, and from an announcement that
//	               would not fit one datagram with it (and so from the
//	               worst case CheckAnnouncement counts)
//
// and in status messages hbd_ping=REACHED/TOTAL (its ping nodes),
// while a reload's longer old deadtime is still in force there and,
// with quorum, while dt carries the start bonus, hbd_dt (the deadtime it
// applies, ms: peers size their quorum wait by it), and while it
// announces or keeps quiet, hbd_quiet (its status interval, ms). The
// names are hbd/wire's (wire.FHbd*).
//
// A node announces (resource) when it joins, whenever any of these change
// (the end of a start only when a live peer holds the group too: otherwise
// hbd_starting says it with the next announcement), to every peer newly
// heard (restart, return after a partition), and when asked. Announcements
// carry the seq of the message: an older one arriving after a newer one is
// ignored. One longer than a datagram (wire.MaxDatagram, measured with
// wire.SignedLen) is not sent and counts as unsaid: ERROR (at most once
// per LogEvery), no seq used, no start while a peer is up, and the next
// reconcile tries again (annsize.go; CheckAnnouncement refuses, at load
// time, a configuration whose worst case, with SettingsReserve bytes of
// settings, does not fit).
//
// # Files
//
// The core is one Node; its files follow the seams of what it does.
//
//	node.go         Node, New, Step (the one entry point), time: NextTick,
//	                deadlines, markDead
//	join.go         joining: the node list request (reqnodes, retried
//	                with a back-off and one warning while no repnodes
//	                comes), commNowUp
//	send.go         what is sent: the outbox reused after Recycle, the
//	                status every keepalive, the fields every message
//	                carries, seq and the history of sent messages
//	peer.go         membership per peer and link: receive (generation,
//	                restart, age; the seq to track), dispatch (one case
//	                per message type), onStatus
//	seq.go          a peer's seqs: track (duplicates, replays, losses),
//	                acks, retransmission requests and answers, naks
//	hooks.go        RunHook and PeerState: what the daemon runs for
//	                accepted messages and peer state changes
//	events.go       the events (inputs); actions.go the actions (outputs)
//	groups.go       a group's state, the node's resource state, recheck
//	operations.go   boot (probe, release before join) and opDone: what
//	                a StartGroup, StopGroup or ProbeGroup came back with
//	abandon.go      calling off a start a returning peer or a peer's
//	                announcement made wrong (AbandonStart)
//	commands.go     operator commands (standby, takeover, cleanup, and
//	                the settings commands) and ParseWhich, the one check
//	                of their argument
//	settings.go     cluster-wide operator settings: versions, merge,
//	                encoding, what they forbid this node
//	settingsgc.go   what each peer announced of them, and the cleared
//	                settings every peer acknowledged, dropped
//	settingsroom.go their room in an announcement: the commands that
//	                would not fit, refused; what an announcement carries
//	                when they take more
//	settingscap.go  the caps of the table: what a peer or a state file
//	                may put in it
//	peerrsc.go      what peers say about groups (resource, ask_resources,
//	                hb_takeover, shutdone) and the named calls membership
//	                makes: peerJoined, peerDied, peerRestarted, peerAdded,
//	                peerRemoved
//	placement.go    the placement rule, a pure function of facts:
//	                eligible, willing, desired, holders, exclusive sets,
//	                ping nodes (table tests: placement_test.go)
//	view.go         the facts this node takes from its state for the rule
//	reconcile.go    reconcile after an event that changed what it reads,
//	                or a tick past a deadline it depends on (a tick with
//	                neither skips it): what is against what the rule
//	                wants; canStart (the peers' consent); conflicts
//	handoff.go      handshakes: standby handoffs, acquisitions, takeovers
//	gracefulstop.go Stop: release every group, shutdone, Exit
//	announce.go     this node's resource message (rsc_hold, hbd_ fields)
//	annsize.go      its size: the worst case checked at load time, and
//	                an announcement too long to send
//	exclusive.go    exclusive sets: no start beside another group of the set
//	failures.go     failed starts and monitors, their expiry, failback delay
//	quorum.go       quorum and the waits after a death or regaining it
//	safe.go, ping.go, fence.go
//	                split-brain protection: profile safe, ping nodes,
//	                fencing
//	reconfigure.go  Reconfigure, and the path New takes too: an empty node
//	                given its first configuration (timings, peers, links,
//	                groups), which must be complete (config.CheckTimings)
//	quiet.go        quiet passive: a node that holds nothing sends its
//	                status less often; the peer's longer deadline
//	status.go       Status, GroupStatus and Timings for `hbd status`
//
// # The path of a received packet
//
// The daemon's reader verifies the signature (hbd/wire) and hands Receive
// to Step (node.go). receive (peer.go) drops what is malformed, from an
// unknown node, of an older generation, too old by its ts, a duplicate or
// a replay (each counted by DropReason); a newer generation is a restart (peerRestarted);
// the peer and the link are heard (hearLink; peerJoined if it was silent
// or dead). A message for this node goes to dispatch, which emits RunHook
// for hook types (hooks.go) and hands it on: status to onStatus (state
// changes become PeerState, ping counts go to ping.go), shutdone to
// peerShutdown and markDead, resource, ask_resources and hb_takeover to
// peerrsc.go, reqnodes and repnodes to joining. Then Step advances time
// (advance, sbAdvance) and, if anything the rule reads changed and asks
// for it at once (recheck), runs reconcile; what may wait (touch: a seq
// found missing, a link's state) is reconciled at the next tick. A
// status that changes nothing (the peer's state, its ping count, no seq
// missing) runs no reconcile, nor does the tick after it.
//
// # The path of a takeover
//
// A peer falls silent. A Tick (node.go) finds it past its deadline
// (checkTimeouts) and markDead declares it dead: split-brain protection
// decides whether to fence it first (sbPeerDead, safe.go), peerDied
// (peerrsc.go) records its groups as being taken over and forgets what it
// announced, and PeerState tells the daemon. reconcile (reconcile.go)
// then asks the rule (view.go builds the facts, placement.go answers) who
// should hold each group; for a group desired here it checks canStart
// (every live peer has announced and consents, no fence or quorum wait:
// safe.go, quorum.go; nothing of its exclusive set runs here:
// exclusive.go) and startGroup (operations.go) emits StartGroup. The
// daemon runs harc start and feeds back OpDone; opDone marks the group
// running and emits WatchGroup (a start called off with AbandonStart
// before its first start script, abandon.go, comes back as
// ResultAbandoned: the group is stopped, not failed, and the rule
// decides again); once no group of the dead peer's is starting or still
// to start here, the next reconcile logs "mach_down takeover complete"
// (progressTakeovers, handoff.go: starts of other groups do not hold it
// back) and announce (announce.go) tells the peers what this node now
// holds.
package cluster
