package etcdown

import (
	"sort"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// The keys under Options.Prefix (doc.go, "Keys"). A group key is the
// first resource of its haresources line and may hold slashes
// (IPaddr::10.0.0.1/24): it is always the last part of a key, and a key
// is split at its first slashes only.
const (
	dirMembers  = "members/"
	dirOwners   = "owners/"
	dirFailed   = "failed/"
	dirYield    = "yield/"
	dirStandby  = "settings/standby/"
	dirDisabled = "settings/disabled/"
	dirMove     = "settings/move/"
)

func (w *Owner) key(dir, name string) string { return w.o.Prefix + dir + name }

// failedKey records that group failed on node.
func (w *Owner) failedKey(node, group string) string {
	return w.o.Prefix + dirFailed + node + "/" + group
}

// yieldKey records that node stands by for group (standby.go).
func (w *Owner) yieldKey(node, group string) string {
	return w.o.Prefix + dirYield + node + "/" + group
}

// view is what etcd says: the live members, each group's owner (node,
// lease, the revision that created the key), the operator settings and
// the failures.
type view struct {
	live []string
	// joinedAt: the revision that created each live member's key (a
	// member that comes back gets a new one).
	joinedAt map[string]int64
	// memberLease: each live member's lease.
	memberLease map[string]clientv3.LeaseID
	holder      map[string]string
	leaseOf     map[string]clientv3.LeaseID
	// createdAt: the revision that created each owner key (the fencing
	// token).
	createdAt map[string]int64
	standby   map[string]bool
	disabled  map[string]bool
	moves     map[string]string
	failed    map[string]map[string]bool
	// yield maps a node to the groups it stands by for (standby.go).
	yield map[string]map[string]bool
}

// kv is one key's value as the view reads it.
type kv struct {
	key, value string
	lease      int64
	created    int64
}

// parseView reads the keys under prefix into a view; keys it does not
// know are ignored (a newer hbd may write more).
func parseView(prefix string, kvs []kv) view {
	v := view{
		joinedAt: map[string]int64{}, holder: map[string]string{}, leaseOf: map[string]clientv3.LeaseID{},
		createdAt: map[string]int64{},
		standby:   map[string]bool{}, disabled: map[string]bool{}, moves: map[string]string{},
		failed: map[string]map[string]bool{}, yield: map[string]map[string]bool{},
		memberLease: map[string]clientv3.LeaseID{},
	}
	for _, e := range kvs {
		rest, ok := strings.CutPrefix(e.key, prefix)
		if !ok {
			continue
		}
		switch {
		case cut(&rest, dirMembers):
			v.live = append(v.live, rest)
			v.joinedAt[rest] = e.created
			v.memberLease[rest] = clientv3.LeaseID(e.lease)
		case cut(&rest, dirOwners):
			v.holder[rest] = e.value
			v.leaseOf[rest] = clientv3.LeaseID(e.lease)
			v.createdAt[rest] = e.created
		case cut(&rest, dirStandby):
			v.standby[rest] = e.value == "1"
		case cut(&rest, dirDisabled):
			v.disabled[rest] = e.value == "1"
		case cut(&rest, dirMove):
			v.moves[rest] = e.value
		case cut(&rest, dirFailed):
			addNodeGroup(v.failed, rest)
		case cut(&rest, dirYield):
			addNodeGroup(v.yield, rest)
		}
	}
	sort.Strings(v.live)
	return v
}

// addNodeGroup adds NODE/GROUP, the rest of a key, to m.
func addNodeGroup(m map[string]map[string]bool, rest string) {
	node, group, ok := strings.Cut(rest, "/")
	if !ok {
		return
	}
	if m[node] == nil {
		m[node] = map[string]bool{}
	}
	m[node][group] = true
}

// cut removes dir from the front of *s if it is there.
func cut(s *string, dir string) bool {
	rest, ok := strings.CutPrefix(*s, dir)
	if ok {
		*s = rest
	}
	return ok
}
