//go:build !noetcd

package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/etcdown"
)

// etcdCommandTimeout bounds how long an operator command waits for etcd.
const etcdCommandTimeout = 5 * time.Second

// etcdCommand runs an operator command with the etcd backend: the
// settings (hbd node standby|online, hbd group disable|enable|move|clear)
// and the groups a node stands by for (hbd standby, hbd takeover) are
// keys in etcd that every node's placement reads, and hbd cleanup
// forgets this node's failures there. It waits for etcd, so it runs off
// the loop, with the configuration and loop of the moment it was asked.
func etcdCommand(ctx context.Context, cfg *config.Config, owner *etcdown.Owner, req ctl.Request) ctl.Response {
	ctx, cancel := context.WithTimeout(ctx, etcdCommandTimeout)
	defer cancel()
	if err := runEtcdCommand(ctx, cfg, owner, req); err != nil {
		return ctl.Response{Error: err.Error()}
	}
	return ctl.Response{OK: true}
}

func runEtcdCommand(ctx context.Context, cfg *config.Config, owner *etcdown.Owner, req ctl.Request) error {
	arg := func(i int) string {
		if len(req.Args) > i {
			return req.Args[i]
		}
		return ""
	}
	switch req.Cmd {
	case "standby":
		return owner.Standby(ctx, arg(0))
	case "takeover":
		return owner.Takeover(ctx, arg(0))
	case "cleanup":
		which := arg(0)
		if which == cluster.HoldAll {
			which = ""
		}
		if which != "" {
			g, err := cfg.FindGroup(which)
			if err != nil {
				return err
			}
			which = g.Key()
		}
		return owner.Cleanup(ctx, which)
	case "node":
		if arg(0) == "fenced" {
			return fmt.Errorf("node fenced is not used with `backend etcd`: no takeover waits for a fence; a node's groups are free once its lease has expired")
		}
	case "group":
		// Moved away from its holder: etcd says who holds it.
		if arg(0) == "move" && arg(1) != "" && arg(2) == "" {
			g, err := cfg.FindGroup(arg(1))
			if err != nil {
				return err
			}
			return owner.MoveGroup(ctx, g.Key(), "")
		}
	}
	c, err := settingsCommand(cfg, nil, req)
	if err != nil {
		return err
	}
	switch c.Kind {
	case cluster.CmdNodeStandby, cluster.CmdNodeOnline:
		return owner.SetNodeStandby(ctx, c.Node, c.Kind == cluster.CmdNodeStandby)
	case cluster.CmdGroupDisable, cluster.CmdGroupEnable:
		return owner.SetGroupDisabled(ctx, c.Which, c.Kind == cluster.CmdGroupDisable)
	case cluster.CmdGroupMove:
		return owner.MoveGroup(ctx, c.Which, c.Node)
	case cluster.CmdGroupClear:
		return owner.ClearMove(ctx, c.Which)
	}
	return fmt.Errorf("%s %s is not available with `backend etcd`", req.Cmd, arg(0))
}
