package daemon

import (
	"context"
	"time"

	"github.com/hbdproject/hbd/harc"
	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/monitor"
)

// The daemon's side of resource monitoring (ha.cf `monitor` lines). The
// core says when a group is watched: from cluster.WatchGroup (its start
// succeeded here; the action carries its monitor lines) until
// cluster.UnwatchGroup, just before any other operation of that group
// (which waits until the checks have stopped). The daemon tells the core
// when a monitor gives a group up (groupFailed, cluster.GroupFailure).

// newMonitors builds the monitor set, its checks run by r. Its failures
// come back to the event loop through d.monitorFails.
func (d *Daemon) newMonitors(r *harc.Runner) *monitor.Set {
	d.monitorFails = make(chan monitor.Failure, 4)
	return monitor.New(monitor.Options{
		Runner: r,
		Log:    d.log.Logger,
		Failed: func(ctx context.Context, f monitor.Failure) {
			select {
			case d.monitorFails <- f:
			case <-ctx.Done():
			}
		},
	})
}

// groupFailed tells the core that a monitor gave a group up: the core
// releases it here and keeps it off this node until the failure expires
// (the group's failure_timeout) or `hbd cleanup GROUP`.
func (d *Daemon) groupFailed(f monitor.Failure) {
	d.step(cluster.GroupFailure{Now: time.Now(), Group: f.Group, Detail: f.Detail})
}
