//go:build !noetcd

package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/etcdown"
)

// etcdStatusTimeout bounds the etcd read of one `hbd status`.
const etcdStatusTimeout = 2 * time.Second

// answerEtcd answers a control request with the etcd backend. The status
// and the operator commands wait for etcd, so they are answered off the
// loop.
func (d *Daemon) answerEtcd(c ctlCall) {
	switch c.req.Cmd {
	case "status":
		cfg, owner := d.cfg, d.etcd.loop.owner
		go func() { c.reply <- d.etcdStatus(cfg, owner) }()
	case "pending":
		c.reply <- d.answer(c.req)
	case "node", "group", "cleanup", "standby", "takeover":
		cfg, owner := d.cfg, d.etcd.loop.owner
		go func() { c.reply <- etcdCommand(context.Background(), cfg, owner, c.req) }()
	case "settings":
		c.reply <- ctl.Response{Error: "settings clear is not used with `backend etcd`: etcd keeps the settings, which hbd node and hbd group change"}
	default:
		c.reply <- ctl.Response{Error: fmt.Sprintf("unknown command %q", c.req.Cmd)}
	}
}

// etcdStatus is `hbd status` with the etcd backend: this node's lease,
// the members and each group's owner and fencing token as etcd has them,
// the monitors.
func (d *Daemon) etcdStatus(cfg *config.Config, owner *etcdown.Owner) ctl.Response {
	ctx, cancel := context.WithTimeout(context.Background(), etcdStatusTimeout)
	defer cancel()
	snap, err := owner.Snapshot(ctx)
	es := &ctl.EtcdStatus{
		Endpoints: cfg.Etcd.Endpoints, Prefix: cfg.Etcd.Prefix, TTL: snap.TTL.String(),
		Revision: snap.Revision, Members: snap.Members, Standby: snap.Standby, Stopping: d.etcd.stopping.Load(),
	}
	if snap.Lease != 0 {
		es.Lease = fmt.Sprintf("%x", snap.Lease)
		es.LeaseUntil, es.StopBy = &snap.Until, &snap.StopBy
	}
	if err != nil {
		es.Error = err.Error()
	}
	st := ctl.Status{
		Node: cfg.ThisNode, PID: os.Getpid(), Started: d.start, ConfigDir: d.opts.ConfigDir,
		Monitors: d.monitors.Status(cfg.Monitors), Nodes: cfg.Nodes, GroupNames: map[string][]string{},
		Backend: string(config.BackendEtcd), Etcd: es, Log: d.log.Health(),
	}
	for _, g := range cfg.Groups {
		k := g.Key()
		st.GroupNames[k] = cfg.GroupNames(g)
		eg := ctl.EtcdGroup{Key: k, Preferred: g.Preferred}
		if o, ok := snap.Owners[k]; ok {
			eg.Owner, eg.Token = o.Node, o.Token
		}
		if t, ok := snap.Held[k]; ok {
			eg.Running, eg.StopFailed, eg.RunningToken = true, snap.StopFailed[k], t
		} else if t, ok := snap.Starting[k]; ok {
			eg.Starting, eg.RunningToken = true, t
		}
		eg.Disabled, eg.FailedOn, eg.StandsBy = snap.Disabled[k], snap.FailedOn[k], snap.StandsBy[k]
		eg.MovedTo, eg.MovedAway = cluster.ParseMove(snap.Moves[k])
		es.Groups = append(es.Groups, eg)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return ctl.Response{Error: err.Error()}
	}
	return ctl.Response{OK: true, Data: b}
}
