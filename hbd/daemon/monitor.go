package daemon

import (
	"context"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/monitor"
)

// The daemon's side of resource monitoring (ha.cf `monitor` lines). The
// core knows nothing of monitors: the daemon watches a group from the
// moment its start succeeded here (holdMonitors) until it runs any other
// operation of that group (runOp releases the watch and waits for it
// first), and tells the core when a watch gives a group up (groupFailed, cluster.GroupFailure).

// newMonitors builds the monitor set of the daemon's runner. Its
// failures come back to the event loop through d.monitorFails.
func (d *Daemon) newMonitors() *monitor.Set {
	d.monitorFails = make(chan monitor.Failure, 4)
	return monitor.New(monitor.Options{
		Runner: d.runner,
		Log:    d.log.Logger,
		Failed: func(ctx context.Context, f monitor.Failure) {
			select {
			case d.monitorFails <- f:
			case <-ctx.Done():
			}
		},
	})
}

// holdMonitors starts watching a group whose start just succeeded, with
// the definition it was started with. It runs before the core sees the
// OpDone (and before startWatch forgets the definition).
func (d *Daemon) holdMonitors(op cluster.OpDone) {
	if op.Op != cluster.OpStart || op.Result != cluster.ResultOK {
		return
	}
	g, ok := d.starting[op.Group]
	if !ok {
		g, ok = d.cfg.Group(op.Group)
	}
	if !ok {
		return
	}
	d.monitors.Hold(g, d.cfg.GroupMonitors(op.Group))
}

// groupFailed tells the core that a monitor gave a group up: the core
// releases it here and keeps it off this node until the failure expires
// (the group's failure_timeout) or `hbd cleanup GROUP`.
func (d *Daemon) groupFailed(f monitor.Failure) {
	d.step(cluster.GroupFailure{Now: time.Now(), Group: f.Group, Detail: f.Detail})
}
