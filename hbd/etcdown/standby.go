package etcdown

import (
	"context"
	"fmt"
	"slices"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hbdproject/hbd/hbd/cluster"
)

// Standby and Takeover are Heartbeat's hb_standby and hb_takeover with the
// etcd backend. As with the Heartbeat backend (hbd/cluster/doc.go,
// "Releasing to a live peer"), they set which groups a node stands by
// for: such a node is not willing to hold them, so the placement rule
// gives them to another willing node, and it takes one back only when no
// willing node may hold it (the others are dead, in standby, failed). A
// node's flag for a group is PREFIX yield/NODE/GROUP, under NODE's lease,
// so every node's placement reads it and it lasts what Heartbeat's lasts:
// until the node starts the group (the claim deletes it), runs
// hbd takeover for it, another node gives it the group (hbd standby
// there), or its lease ends (a restart; also a cut-off from etcd, after
// which the node has stopped its groups anyway).

// maxTxnOps bounds the operations of one transaction, below etcd's
// default --max-txn-ops (128).
const maxTxnOps = 64

// Standby is hb_standby: this node stands by for the groups in class
// which (all, local, foreign or failback, relative to this node), and
// no other node stands by for them any more: they go to the other nodes
// and stay there while those may hold them. It needs this node to be a
// member and another live member to give them to.
func (w *Owner) Standby(ctx context.Context, which string) error {
	which, err := cluster.ParseWhich(which)
	if err != nil {
		return fmt.Errorf("standby: %w", err)
	}
	v, id, err := w.commandView(ctx, "standby", which)
	if err != nil {
		return err
	}
	w.log.Infof("Going standby [%s].", which)
	var ops []clientv3.Op
	for _, g := range w.inClass(which) {
		ops = append(ops, clientv3.OpPut(w.yieldKey(w.o.Node, g), "1", clientv3.WithLease(id)))
		for n := range v.yield {
			if n != w.o.Node && v.yield[n][g] {
				ops = append(ops, clientv3.OpDelete(w.yieldKey(n, g)))
			}
		}
	}
	if err := w.commitAs(ctx, w.o.Node, id, ops); err != nil {
		return fmt.Errorf("standby [%s]: %w", which, err)
	}
	return nil
}

// Takeover is hb_takeover: this node no longer stands by for the groups
// in class which (relative to this node), and every other live member
// stands by for them, so they come to this node. It needs this node to be
// a member, not in standby (hbd node standby), and another live member.
func (w *Owner) Takeover(ctx context.Context, which string) error {
	which, err := cluster.ParseWhich(which)
	if err != nil {
		return fmt.Errorf("takeover: %w", err)
	}
	v, id, err := w.commandView(ctx, "takeover", which)
	if err != nil {
		return err
	}
	if v.standby[w.o.Node] {
		return fmt.Errorf("takeover [%s]: %s is in standby: run hbd node online first", which, w.o.Node)
	}
	w.log.Infof("Taking over [%s] resources from the other nodes (hb_takeover).", which)
	groups := w.inClass(which)
	var mine []clientv3.Op
	for _, g := range groups {
		mine = append(mine, clientv3.OpDelete(w.yieldKey(w.o.Node, g)))
	}
	if err := w.commitAs(ctx, w.o.Node, id, mine); err != nil {
		return fmt.Errorf("takeover [%s]: %w", which, err)
	}
	for _, n := range v.live {
		if n == w.o.Node {
			continue
		}
		l := v.memberLease[n]
		var ops []clientv3.Op
		for _, g := range groups {
			ops = append(ops, clientv3.OpPut(w.yieldKey(n, g), "1", clientv3.WithLease(l)))
		}
		// A member gone meanwhile needs no flag: its lease took them.
		if err := w.commitAs(ctx, n, l, ops); err != nil {
			return fmt.Errorf("takeover [%s]: have %s stand by: %w", which, n, err)
		}
	}
	return nil
}

// commandView reads the keys from etcd (not this node's copy, which may
// lag behind a member that just joined) and returns them with this
// node's lease, or why command cmd for class which cannot act: this node
// is not a member, or no other node is (the Heartbeat backend ignores
// the command then).
func (w *Owner) commandView(ctx context.Context, cmd, which string) (view, clientv3.LeaseID, error) {
	resp, err := w.cli.Get(ctx, w.o.Prefix, clientv3.WithPrefix())
	if err != nil {
		return view{}, 0, fmt.Errorf("%s [%s]: read the members: %w", cmd, which, err)
	}
	v := parseView(w.o.Prefix, kvsOf(resp.Kvs))
	id, _ := w.lease.current()
	if id == 0 || v.memberLease[w.o.Node] != id {
		w.log.Warnf("%s [%s] ignored: this node is not a member (no lease in etcd)", cmd, which)
		return v, 0, fmt.Errorf("%s [%s] ignored: %s is not a member (it has no lease in etcd)", cmd, which, w.o.Node)
	}
	if !slices.ContainsFunc(v.live, func(n string) bool { return n != w.o.Node }) {
		w.log.Warnf("%s [%s] ignored: no other active node", cmd, which)
		return v, 0, fmt.Errorf("%s [%s] ignored: no other active node", cmd, which)
	}
	return v, id, nil
}

// inClass lists the groups in class which relative to this node.
func (w *Owner) inClass(which string) []string {
	var out []string
	_, groups := w.configured()
	for _, g := range groups {
		if cluster.InClass(which, g.Preferred, w.o.Node) {
			out = append(out, g.Key)
		}
	}
	return out
}

// commitAs commits ops, maxTxnOps at a time, each transaction only while
// node's member key is still under lease: an error when this node's no
// longer is, nothing more for another node's (it left). It records the writes in this node's copy and wakes the loop.
func (w *Owner) commitAs(ctx context.Context, node string, lease clientv3.LeaseID, ops []clientv3.Op) error {
	member := w.memberKey(node)
	for len(ops) > 0 {
		chunk := ops[:min(len(ops), maxTxnOps)]
		ops = ops[len(chunk):]
		resp, err := w.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.LeaseValue(member), "=", lease)).
			Then(chunk...).
			Commit()
		if err != nil {
			return fmt.Errorf("write to etcd: %w", err)
		}
		if !resp.Succeeded {
			if node == w.o.Node {
				return fmt.Errorf("%s is no longer a member (its lease changed)", node)
			}
			return nil
		}
		for _, op := range chunk {
			e := kv{key: string(op.KeyBytes()), value: string(op.ValueBytes())}
			if op.IsPut() {
				e.lease = int64(lease)
			}
			w.store.wrote(e, resp.Header.Revision, op.IsDelete())
		}
	}
	w.wake()
	return nil
}

// noteYields remembers the groups this node stands by for under lease
// id, while its copy of the keys shows its member key there (not when
// the lease is gone and the watch brought the deletion of its keys).
func (w *Owner) noteYields(id clientv3.LeaseID) {
	ok, gs := w.store.leased(w.memberKey(w.o.Node), w.yieldKey(w.o.Node, ""), int64(id))
	if ok {
		w.yields, w.yieldsOf = gs, id
	}
}

// carryYields writes under lease id the standby flags this node had
// under the lease before (noteYields), for the groups still configured,
// so that its new member key never shows it willing to hold them.
func (w *Owner) carryYields(ctx context.Context, id clientv3.LeaseID) error {
	if w.yieldsOf == 0 || w.yieldsOf == id {
		return nil
	}
	var ops []clientv3.Op
	var carried []string
	for _, g := range w.yields {
		if w.knownGroup(g) == nil {
			ops = append(ops, clientv3.OpPut(w.yieldKey(w.o.Node, g), "1", clientv3.WithLease(id)))
			carried = append(carried, g)
		}
	}
	for len(ops) > 0 {
		chunk := ops[:min(len(ops), maxTxnOps)]
		ops = ops[len(chunk):]
		resp, err := w.cli.Txn(ctx).Then(chunk...).Commit()
		if err != nil {
			return fmt.Errorf("write again the standby of this node under its new lease: %w", err)
		}
		for _, op := range chunk {
			w.store.wrote(kv{key: string(op.KeyBytes()), value: "1", lease: int64(id)}, resp.Header.Revision, false)
		}
	}
	if len(carried) > 0 {
		w.log.Infof("etcd: new lease %x: this node stands by again for %s, as under its lease before", id, strings.Join(carried, " "))
	}
	w.yieldsOf = id
	return nil
}
