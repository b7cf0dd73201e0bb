//go:build !noetcd

package daemon

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hbdproject/hbd/harc"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/etcdown"
	"github.com/hbdproject/hbd/hbd/logging"
	"github.com/hbdproject/hbd/hbd/monitor"
)

// The etcd backend (ha.cf `backend etcd`, docs/guide-etcd.md): instead
// of the Heartbeat core, links and peers, hbd/etcdown's ownership loop
// decides which groups run here, and the daemon gives it what the
// Heartbeat backend has too: harc with the group's fencing token, the
// monitors of the groups held here, the logs, the control socket, the
// reload. Nothing of this is made with `backend heartbeat`.

// EtcdLinked says whether this build runs `backend etcd` itself.
const EtcdLinked = true

// etcdBackend is a node's etcd side.
type etcdBackend struct {
	runner *etcdRunner // outlives a restart of the loop
	// stopping: a graceful stop is under way (SIGTERM).
	stopping atomic.Bool
	loop     *etcdLoop
	// next: the client of the loop a reload restarts with new etcd_
	// settings, started with the configuration of then once loop has
	// ended (its groups stopped and released, which may wait for a
	// cleanup: shutdown.go in hbd/etcdown) while the daemon serves its
	// socket.
	next *clientv3.Client
}

// etcdLoop is one run of the ownership loop, with its etcd client.
type etcdLoop struct {
	cli   *clientv3.Client
	owner *etcdown.Owner
	stop  context.CancelFunc
	done  chan struct{} // closed when the loop has released everything
	cause *loopStop     // why it stops, for the starts it interrupts
}

// loopStop is the cause with which the ownership loop ends the starts it
// interrupts (etcdown's Options.Stopping). harc takes it for
// harc.ErrStopping: an orderly stop, whose script cut short and rollback
// are information, not errors. Its text says why the loop stops, which
// is known only then: hbd stops (harc.ErrStopping's own text), or a
// reload restarts the loop.
type loopStop struct{ why atomic.Pointer[string] }

func (s *loopStop) Error() string {
	if why := s.why.Load(); why != nil {
		return *why
	}
	return harc.ErrStopping.Error()
}

func (s *loopStop) Is(target error) bool { return target == harc.ErrStopping }

// reloadRestart is why a reload that changed the etcd_ lines stops the
// loop it restarts.
const reloadRestart = "a reload restarts the ownership loop (the etcd settings changed)"

// etcdDialTimeout bounds etcdown.Dial's check of the TLS set-up.
const etcdDialTimeout = 10 * time.Second

// newEtcdClient makes the etcd client of cfg's etcd_ lines; it fails on
// a wrong TLS set-up, not when etcd does not answer (the loop waits).
func newEtcdClient(cfg *config.Config) (*clientv3.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), etcdDialTimeout)
	defer cancel()
	return etcdown.Dial(ctx, cfg)
}

// startEtcdLoop starts the ownership loop of cfg on cli. The loop does
// not end with the daemon's context: a stop releases the groups first.
func (d *Daemon) startEtcdLoop(cli *clientv3.Client, cfg *config.Config) *etcdLoop {
	o := etcdown.OptionsFromConfig(cfg, d.etcd.runner)
	cause := &loopStop{}
	o.Log, o.Started, o.Stopping = d.log.Logger, d.start, cause
	o.Wake = d.pages.wake // the loop's ticks stand for the heartbeats' wake-ups
	ctx, stop := context.WithCancel(context.Background())
	l := &etcdLoop{cli: cli, owner: etcdown.New(cli, o), stop: stop, done: make(chan struct{}), cause: cause}
	d.log.Infof("Backend etcd: %s, prefix %s, lease %s (groups stopped %s before it would expire unrenewed)",
		strings.Join(cfg.Etcd.Endpoints, " "), cfg.Etcd.Prefix, o.TTL, o.SlowestStop)
	go func() {
		defer close(l.done)
		if err := l.owner.Run(ctx); err != nil {
			d.log.Errorf("etcd: %v", err)
		}
	}()
	return l
}

// end begins to stop the loop (every group here stopped, the lease
// revoked); done is closed once it has. why is what the starts it
// interrupts ended by.
func (l *etcdLoop) end(why string) {
	l.cause.why.Store(&why)
	l.stop()
}

// etcdElsewhere returns nil: this build runs the etcd backend itself
// (etcd_none.go is the build that hands it on).
func etcdElsewhere(Options, *config.Config) error { return nil }

// runEtcd runs the node with the etcd backend until ctx ends or a
// SIGTERM/SIGINT arrives; it returns once the loop has stopped every
// group here and revoked the lease (others take over at once).
func (d *Daemon) runEtcd(ctx context.Context) error {
	runner, err := d.newRunner(d.cfg)
	if err != nil {
		return err
	}
	d.runner, d.rscTmp = runner, runner.Options().RscTmp
	d.monitors = d.newMonitors(runner)
	defer d.monitors.Close()
	cli, err := newEtcdClient(d.cfg)
	if err != nil {
		return err
	}
	// The runner's operations are the loop's; d.pages is set before the
	// loop starts.
	d.etcd = &etcdBackend{runner: newEtcdRunner(runner, d.cfg, d.monitors, &d.busy, func() { d.pages.request() })}

	srv, err := d.serveCtl(ctx)
	if err != nil {
		cli.Close()
		return err
	}
	defer srv.Close()
	d.log.Infof("Configuration validated. Starting heartbeat %s", d.opts.Version)
	d.ready()
	d.pages = startPageRelease(ctx, d.cfg.Initdead+d.cfg.Deadtime, d.log.Debugf)
	d.etcd.loop = d.startEtcdLoop(cli, d.cfg)
	defer func() { d.etcd.loop.cli.Close() }()
	d.watchEdits(ctx)

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	d.serveEtcd(ctx, sigs)
	d.log.Infof("%s Heartbeat shutdown complete.", d.cfg.ThisNode)
	return nil
}

// serveEtcd serves signals, reloads, the control socket and the
// monitors' failures until the ownership loop has ended (after a stop).
func (d *Daemon) serveEtcd(ctx context.Context, sigs <-chan os.Signal) {
	beginStop := func() {
		if d.etcd.stopping.Swap(true) {
			d.log.Infof("Already stopping: the resources are being released first.")
			return
		}
		d.log.Infof("Heartbeat shutdown in progress. (%d)", os.Getpid())
		d.etcd.loop.stop()
	}
	for {
		select {
		case <-ctx.Done():
			// Cancelled from outside (tests): stop as on SIGTERM.
			beginStop()
			ctx = context.WithoutCancel(ctx)
		case s := <-sigs:
			if s != syscall.SIGHUP {
				beginStop()
				break
			}
			d.reopenLog()
			if !d.etcd.stopping.Load() {
				d.reload(ctx, "SIGHUP", false)
			}
		case <-d.reloads:
			if d.etcd.stopping.Load() {
				break
			}
			d.reload(ctx, "files changed", true)
		case c := <-d.calls:
			d.answerEtcd(c)
			d.pages.answered()
		case f := <-d.monitorFails:
			d.etcdGroupFailed(f)
		case <-d.etcd.loop.done:
			next := d.etcd.next
			d.etcd.next = nil
			if next == nil || d.etcd.stopping.Load() {
				if next != nil {
					next.Close()
				}
				return
			}
			d.etcd.loop.cli.Close()
			d.etcd.loop = d.startEtcdLoop(next, d.cfg)
		}
	}
}

// etcdUpdate is what a configuration changes in the ownership loop.
func etcdUpdate(cfg *config.Config) etcdown.Update {
	o := etcdown.OptionsFromConfig(cfg, nil)
	return etcdown.Update{Nodes: o.Nodes, Failback: o.Failback, Exclusive: o.Exclusive, Groups: o.Groups, SlowestStop: o.SlowestStop,
		FailbackDelay: o.FailbackDelay, FailureTimeouts: o.FailureTimeouts, InitDead: o.InitDead}
}

// applyEtcdConfig applies a valid configuration to a node with the etcd
// backend, all or nothing. What can fail is made first: the runner, and
// for a change of the etcd_ lines (endpoints, prefix, TLS, the lease,
// which follows the longest group unless set) a new etcd client. Then
// logging, the runner and the loop change together: the loop is given the
// new groups and placement settings (a group whose resources changed is
// stopped and placed again) or, when the etcd_ lines changed, restarted:
// this node's groups are stopped and its lease revoked, then the new loop
// places them again with the new lease (meanwhile the daemon serves its
// socket: a stop that fails keeps the old loop until hbd cleanup). A
// change of backend needs a restart of hbd.
func (d *Daemon) applyEtcdConfig(ctx context.Context, cfg *config.Config, areas map[string]bool, why string) {
	refuse := func(err error) {
		d.log.Errorf("Configuration reload (%s) refused: %v; nothing of it applied, the running configuration stays", why, err)
	}
	if cfg.Backend != d.cfg.Backend {
		refuse(fmt.Errorf("backend %s -> %s needs a restart of hbd", d.cfg.Backend, cfg.Backend))
		return
	}
	if areas["logging"] {
		if _, _, err := logging.ParseFacility(cfg.LogFacility); err != nil {
			refuse(fmt.Errorf("logfacility: %w", err))
			return
		}
	}
	runner, err := d.newRunner(cfg)
	if err != nil {
		refuse(err)
		return
	}
	var cli *clientv3.Client
	if areas["backend"] {
		if cli, err = newEtcdClient(cfg); err != nil {
			refuse(err)
			return
		}
	}
	if areas["logging"] {
		if err := d.log.Apply(outputs(cfg)); err != nil {
			d.log.Warnf("new logging settings: %v", err)
		}
	}
	d.runner = runner
	d.etcd.runner.set(runner, cfg)
	switch {
	case cli != nil:
		d.log.Infof("etcd: the etcd settings changed: restarting the ownership loop (this node's groups are stopped and released first, then placed again)")
		if d.etcd.next != nil {
			d.etcd.next.Close() // a restart under way: these settings replace its own
		} else {
			d.etcd.loop.end(reloadRestart)
		}
		d.etcd.next = cli
	case d.etcd.next != nil:
		// A restart under way: the new loop starts with this
		// configuration.
	default:
		u := etcdUpdate(cfg)
		for _, g := range cfg.Groups {
			if old, ok := d.cfg.Group(g.Key()); ok && !config.SameDefinition(old, g) {
				u.Restart = append(u.Restart, g.Key())
			}
		}
		d.etcd.loop.owner.Reconfigure(u)
	}
	d.cfg = cfg
	if areas["reload"] {
		d.watchEdits(ctx)
	}
	d.log.Infof("Configuration reloaded from %s", d.opts.ConfigDir)
}

// etcdGroupFailed: a monitor gave a group up. The loop stops and
// releases it and records the failure in etcd, so that the placement rule
// gives it to another node until its failure_timeout or hbd cleanup.
func (d *Daemon) etcdGroupFailed(f monitor.Failure) {
	d.log.Errorf("Resource group %s given up by its monitor: %s", f.Group, f.Detail)
	d.etcd.loop.owner.GiveUp(f.Group)
}
