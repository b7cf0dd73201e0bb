// Package etcdown owns resource groups through etcd leases: the etcd
// backend's ownership loop (docs/guide-etcd.md).
//
// # Keys
//
// Each node holds one lease of TTL Options.TTL and writes, under it:
//
//	PREFIX members/NODE   NODE     its membership: the node is live while
//	                               the key exists (written again at the
//	                               next pass if it is missing)
//	PREFIX owners/GROUP   NODE     its ownership of GROUP, created only if
//	                               the key does not exist (a txn on
//	                               CreateRevision == 0)
//
// and, outside any lease, the operator settings (settings.go), which
// every node's placement reads:
//
//	PREFIX settings/standby/NODE   1     NODE may hold no group
//	PREFIX settings/disabled/GROUP 1     GROUP runs nowhere
//	PREFIX settings/move/GROUP     >NODE GROUP goes to NODE (whenever
//	                               !NODE NODE may hold it), or never to NODE
//
// and, under the lease of the node where a start failed or a monitor
// gave the group up (failures.go), written and deleted at each pass to
// follow the failures the node knows of:
//
//	PREFIX failed/NODE/GROUP       1     NODE may not hold GROUP
//
// and, under NODE's lease, written by hbd standby there or hbd takeover
// on another node, and by NODE again under its next lease if it loses
// one (standby.go):
//
//	PREFIX yield/NODE/GROUP        1     NODE stands by for GROUP: it
//	                               holds it only when no other node may
//
// A group's key (its first resource) may hold slashes: it always ends a
// key, and keys are split at their first slashes only (keys.go).
//
// The revision that created the owner key is the fencing token: it grows
// with every change of owner, so a service can refuse a holder whose token
// is older than one it has seen (HA_FENCING_TOKEN for the group's scripts).
//
// # Placement
//
// hbd's rule decides, not a race: a node keeps a copy of the keys under
// the prefix, fed by a watch (store.go, watch.go), and at every change and
// every Options.Interval asks cluster.Placement.Desired (the same rule as
// the Heartbeat backend: preferred node, auto_failback, exclusive sets)
// who should hold each group, with the live members as membership, the
// operator settings, the failures and the groups each node stands by
// for. It campaigns only for the groups the rule gives it, starts one
// only after its txn created the owner key (the same txn deletes its
// standby for the group), and releases (stop, then delete the key) a
// group the rule gives to another live node. Claims, starts and releases of different groups run in
// parallel, maxParallel at a time (parallel.go), each claim its own txn so
// that each group's token is its own key's revision. An owner key of its
// own lease that it did not know of (a write whose answer a timeout lost)
// would block the group: the node starts the group on it once etcd
// confirms the key, or deletes it. With auto_failback and failback_delay,
// a holder keeps a group whose preferred node joined less than
// failback_delay ago (failback.go).
//
// # Requests
//
// At rest a node sends etcd one lease renewal per Interval and, every
// Options.SafetyPoll (default: the TTL), one read of the whole prefix and
// a new watch, in case the watch missed a change; it writes only to act.
// So with the default TTL/10 renewals, a node sends about 12 requests per
// TTL (TestQuietAtRest counts them).
//
// # Cut off
//
// The lease is renewed every Interval, apart from the loop, so a long
// start does not delay renewals. After a renewal sent at t0 succeeds, the
// lease lives on the servers until at least t0 + TTL. The node must have
// stopped its groups by then, so it starts stopping them at
//
//	stopBy = t0 + TTL − SlowestStop − 2·Interval
//
// (2·Interval: one loop period, and one etcd call timing out), every
// group at once so that SlowestStop bounds them all, and starts nothing
// that would still run then. A watchdog apart from the loop, with its
// own timer (watchdog.go), does it when stopBy arrives, whatever a pass
// is doing: it ends the starts under way (a start cut short so is
// stopped, not recorded as the group's failure: the lease failed, not
// the group) and stops every group, those being released included.
// A node past stopBy drops its lease (a new one is granted once etcd
// answers again; the old one is revoked if it still exists), so the
// groups it held are free for others once the old lease expires or is
// revoked — never before this node stopped them. The groups whose owner
// keys are gone already (the lease expired, or was revoked by hand) are
// stopped all at once too. hbd check requires
// TTL ≥ 2·SlowestStop (config.MinEtcdLease), and Interval defaults to
// TTL/10, so a node that renews normally is never near stopBy.
//
// # Files
//
//	owner.go         Owner, Run: the loop (renew, reconcile)
//	shutdown.go      the graceful stop, which waits for a failed stop
//	watchdog.go      the watchdog: every group stopped at the stop-by time
//	lease.go         the lease: grant, renew, the stop-by time
//	config.go        Options, Runner and the client configuration from ha.cf
//	dial.go          Dial: the client, its TLS set-up checked first
//	keys.go          the keys and the view read from them
//	store.go         this node's copy of the keys
//	watch.go         the watch that keeps it, and the safety poll
//	settings.go      the operator settings: standby, disable, move
//	failures.go      failed starts, recorded so a node does not retry them
//	stopfailed.go    a stop that fails before a release: the key is kept
//	failurelog.go    requests to etcd that keep failing, logged once a minute
//	standby.go       Standby, Takeover: hb_standby and hb_takeover
//	failback.go      failback_delay
//	snapshot.go      Snapshot: what hbd status shows
//	reconfigure.go   Reconfigure, GiveUp: a reload's changes, a monitor's give-up
//	parallel.go      each: the groups' claims, starts and stops, in parallel
package etcdown
