package cluster

// Placement is what a backend that keeps membership and ownership outside
// Heartbeat's protocol knows (hbd/etcdown: the nodes with a live etcd
// session, the owner of each group's key). Desired answers with the same
// rule as the core (placement.go), so a group goes where the Heartbeat
// backend would put it.
type Placement struct {
	// Nodes is ha.cf's node order (every configured node).
	Nodes []string
	// Failback: auto_failback is on or legacy.
	Failback bool
	// Exclusive lists ha.cf's exclusive sets of group keys, in order.
	Exclusive [][]string
	// Groups is every group, in haresources order.
	Groups []PlacedGroup
	// Live is the set of nodes alive (their session is live).
	Live []string
	// Holders maps a group key to the node that holds it.
	Holders map[string]string
	// Standby: the nodes an operator put in standby (they may hold no
	// group); Disabled: the groups an operator disabled (nobody may hold
	// them); Moves: a group's move as SettingMove writes it (">NODE": to
	// that node whenever it may hold the group, "!NODE": never on NODE).
	Standby  map[string]bool
	Disabled map[string]bool
	Moves    map[string]string
	// Failed maps a node to the groups that failed there: it is not
	// eligible for them.
	Failed map[string]map[string]bool
	// StandsBy maps a node to the groups it stands by for (hb_standby,
	// hb_takeover): it is not willing to hold them, and holds one only
	// when no willing node may.
	StandsBy map[string]map[string]bool
}

// PlacedGroup is a group as Placement sees it: its key and preferred node.
type PlacedGroup struct{ Key, Preferred string }

// Desired returns the node that should hold each group by the placement
// rule (doc.go, "Who holds a group"), "" for nobody. The backend provides
// agreement, so quorum is taken as held: a node without a live session
// is not in Live.
func (p Placement) Desired() map[string]string {
	f := facts{nodes: p.Nodes, quorum: true, failback: p.Failback, exclusive: p.Exclusive}
	for _, g := range p.Groups {
		to, away := ParseMove(p.Moves[g.Key])
		f.groups = append(f.groups, groupFacts{key: g.Key, pref: g.Preferred, disabled: p.Disabled[g.Key], moveTo: to, away: away})
	}
	for _, n := range p.Live {
		m := memberFacts{name: n, active: true, offline: p.Standby[n], failed: p.Failed[n], standby: p.StandsBy[n], held: map[string]bool{}}
		for k, h := range p.Holders {
			if h == n {
				m.held[k] = true
			}
		}
		f.members = append(f.members, m)
	}
	out := make(map[string]string, len(f.groups))
	for i := range f.groups {
		out[f.groups[i].key] = f.desired(&f.groups[i])
	}
	return out
}
