package etcdown

import (
	"context"
	"fmt"
	"slices"
	"sort"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hbdproject/hbd/hbd/cluster"
)

// The operator settings, cluster-wide: keys under PREFIX settings/ that
// outlive every lease (doc.go, "Keys"). Any node may change them; every
// node's placement reads them, so they act everywhere at once and hold
// across restarts until an operator changes them again. Their values are
// those of cluster.Setting (SettingStandby, SettingDisabled, SettingMove).
// The calls wait for etcd as long as their context allows.

// SetNodeStandby puts node ("" this node) in standby (it may hold no
// group: it releases what it holds) or back online.
func (w *Owner) SetNodeStandby(ctx context.Context, node string, on bool) error {
	if node == "" {
		node = w.o.Node
	}
	if nodes, _ := w.configured(); !slices.Contains(nodes, node) {
		return fmt.Errorf("node standby: unknown node %s", node)
	}
	return w.setting(ctx, dirStandby, node, flag(on))
}

// SetGroupDisabled disables group (it stops everywhere and starts
// nowhere) or enables it again.
func (w *Owner) SetGroupDisabled(ctx context.Context, group string, on bool) error {
	if err := w.knownGroup(group); err != nil {
		return fmt.Errorf("group disable: %w", err)
	}
	return w.setting(ctx, dirDisabled, group, flag(on))
}

// MoveGroup moves group to node, where it stays whenever node may hold
// it; node "": away from the node that holds it now, which may not hold
// it until ClearMove.
func (w *Owner) MoveGroup(ctx context.Context, group, node string) error {
	if err := w.knownGroup(group); err != nil {
		return fmt.Errorf("group move: %w", err)
	}
	if node != "" {
		if nodes, _ := w.configured(); !slices.Contains(nodes, node) {
			return fmt.Errorf("group move %s: unknown node %s", group, node)
		}
		return w.setting(ctx, dirMove, group, ">"+node)
	}
	return w.moveAway(ctx, group)
}

// moveTries bounds moveAway's transactions while the holder it reads
// keeps changing.
const moveTries = 5

// moveAway moves group away from the node that holds it when the move
// is written: one transaction writes !HOLDER only if the owner key is
// still the one HOLDER was read from (its create revision, the fencing
// token), so that a handover between the read and the write cannot
// leave the move naming the node that held it before. The first try
// takes the holder from this node's copy of the keys, so that it is
// usually the only request; a try whose key changed reads it anew in
// the same transaction and tries again with it.
func (w *Owner) moveAway(ctx context.Context, group string) error {
	owner, move := w.key(dirOwners, group), w.key(dirMove, group)
	cur, _ := w.store.get(owner)
	for range moveTries {
		if cur.created == 0 {
			// Nobody holds it as far as this node knows: etcd says.
			resp, err := w.cli.Get(ctx, owner)
			if err != nil {
				return fmt.Errorf("group move %s: read its owner: %w", group, err)
			}
			if len(resp.Kvs) == 0 {
				return fmt.Errorf("group move %s: no node holds it; name the node to move it to", group)
			}
			cur = kvOf(resp.Kvs[0])
		}
		value := "!" + cur.value
		resp, err := w.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(owner), "=", cur.created)).
			Then(clientv3.OpPut(move, value)).
			Else(clientv3.OpGet(owner)).
			Commit()
		if err != nil {
			return fmt.Errorf("group move %s: write %s: %w", group, move, err)
		}
		if resp.Succeeded {
			w.store.wrote(kv{key: move, value: value}, resp.Header.Revision, false)
			w.wake()
			return nil
		}
		cur = kv{}
		if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
			cur = kvOf(kvs[0])
		}
	}
	return fmt.Errorf("group move %s: its holder changed at each of %d tries; try again", group, moveTries)
}

// ClearMove forgets group's move: the placement rule as usual.
func (w *Owner) ClearMove(ctx context.Context, group string) error {
	if err := w.knownGroup(group); err != nil {
		return fmt.Errorf("group clear: %w", err)
	}
	return w.setting(ctx, dirMove, group, "")
}

// Settings returns the operator settings recorded in etcd, as
// cluster.Setting values (Version: the key's revision, Origin: "etcd"),
// sorted by kind and name.
func (w *Owner) Settings(ctx context.Context) ([]cluster.Setting, error) {
	resp, err := w.cli.Get(ctx, w.o.Prefix+"settings/", clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("read the settings: %w", err)
	}
	var out []cluster.Setting
	v := parseView(w.o.Prefix, kvsOf(resp.Kvs))
	rev := resp.Header.Revision
	add := func(kind string, m map[string]string) {
		for name, value := range m {
			out = append(out, cluster.Setting{Kind: kind, Name: name, Value: value, Version: uint64(rev), Origin: "etcd"})
		}
	}
	add(cluster.SettingStandby, flags(v.standby))
	add(cluster.SettingDisabled, flags(v.disabled))
	add(cluster.SettingMove, v.moves)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// setting writes one setting; the empty value deletes its key.
func (w *Owner) setting(ctx context.Context, dir, name, value string) error {
	key := w.key(dir, name)
	var rev int64
	if value == "" {
		resp, err := w.cli.Delete(ctx, key)
		if err != nil {
			return fmt.Errorf("delete %s: %w", key, err)
		}
		rev = resp.Header.Revision
	} else {
		resp, err := w.cli.Put(ctx, key, value)
		if err != nil {
			return fmt.Errorf("write %s: %w", key, err)
		}
		rev = resp.Header.Revision
	}
	w.store.wrote(kv{key: key, value: value}, rev, value == "")
	w.wake()
	return nil
}

func (w *Owner) knownGroup(group string) error {
	_, groups := w.configured()
	for _, g := range groups {
		if g.Key == group {
			return nil
		}
	}
	return fmt.Errorf("unknown resource group %s", group)
}

func flag(on bool) string {
	if on {
		return "1"
	}
	return ""
}

// flags keeps the set entries of m, as "1" values.
func flags(m map[string]bool) map[string]string {
	out := map[string]string{}
	for k, on := range m {
		if on {
			out[k] = "1"
		}
	}
	return out
}
