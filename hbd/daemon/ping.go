package daemon

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/ping"
)

// sbEventQueue bounds the split-brain events (PingStatus, FenceDone)
// waiting for the event loop.
const sbEventQueue = 16

// startPing watches ha.cf's ping nodes (if any) until ctx ends; every
// change reaches the core as a PingStatus.
func (d *Daemon) startPing(ctx context.Context) {
	if d.pingStop != nil {
		d.pingStop()
		d.pingStop = nil
	}
	if len(d.cfg.Ping) == 0 {
		return
	}
	ctx, d.pingStop = context.WithCancel(ctx)
	var targets []ping.Target
	for _, pg := range d.cfg.Ping {
		targets = append(targets, ping.Target{Name: pg.Name, Hosts: pg.Hosts})
	}
	p := ping.New(targets, ping.Options{Deadping: d.cfg.Deadping, Log: d.log.Warnf})
	go func() {
		err := p.Run(ctx, func(s ping.Status) {
			if len(s.Down) > 0 {
				d.log.Infof("Ping nodes: %d of %d reachable (not answering within deadping %s: %s)", s.Reachable, s.Total, d.cfg.Deadping, strings.Join(s.Down, ", "))
			}
			select {
			case d.sbEvents <- cluster.PingStatus{Now: time.Now(), Reachable: s.Reachable, Total: s.Total}:
			case <-ctx.Done():
			}
		})
		if err != nil {
			d.log.Errorf("ping nodes are not watched: %v", err)
		}
	}()
}

// pingConfig is what the prober depends on, to tell whether a reload
// must restart it.
func pingConfig(c *config.Config) string {
	return fmt.Sprint(c.Ping, c.Deadping)
}
