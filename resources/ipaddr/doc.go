// Package ipaddr is hbd's built-in IPaddr / IPaddr2 resource agent: a
// floating IPv4 or IPv6 address on an interface, managed through netlink
// (no `ip` command), announced with gratuitous ARP (request and reply
// forms) or unsolicited neighbour advertisements, and kept in place while
// its group is held.
//
// The same agent serves three callers:
//
//   - the daemon, through New, Agent.Start/Stop/Status, Agent.Watch (hold
//     the address while the group is held: put it back when it vanishes,
//     re-announce periodically) and Agent.Announce (after a partition
//     heals);
//   - harc, which runs it as `hbd agent IPaddr2 ARGS... OP`;
//   - anyone who calls it as a resource script: hbd installed (or linked)
//     as /etc/ha.d/resource.d/IPaddr2 runs Main.
//
// stop removes only addresses hbd added: start writes a record (one small
// JSON file per address) under STATEDIR/hbd-ipaddr/ before adding the
// address, stop removes the address only when that record exists. STATEDIR
// is $HA_RSCTMP or /run/resource-agents, which lives as long as the
// addresses do. docs/agents.md tells the whole story for users.
//
// Files:
//
//	agent.go      Agent, its options, New and Close, the namespace it works in
//	locate.go     where the address goes (interface, prefix) and where it is
//	startstop.go  Start (add, record, label), Stop, StopDrained and Release
//	drain.go      a planned release's wait for the connections in flight
//	handover.go   a release's handover of the frames that come after it
//	burst.go      when announcements go out: bursts, Announce, the second burst
//	announce.go   what goes out: ARP and neighbour advertisement frames
//	watch.go      Watch: keep the address in place while the group is held
//	record.go     the records of the addresses hbd added
//	steps.go      the times of a start's steps, for its debug line
//	spec.go       the resource's arguments
//	main.go       Main and Run: the agent as a resource script
//	registry.go   its entries in hbd's registry of agents
package ipaddr
