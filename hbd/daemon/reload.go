package daemon

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hbdproject/hbd/harc"
	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/link"
	"github.com/hbdproject/hbd/hbd/logging"
	"github.com/hbdproject/hbd/hbd/wire"
)

// loadConfig reads the node's configuration directory as `hbd run` does,
// on the event loop, so without what the agents say of this machine
// (config.LoadOptions.HereLater): a reload has it logged apart
// (checkHere).
func (d *Daemon) loadConfig() (*config.Config, []config.Diag) {
	o := d.opts.Load
	o.HereLater = true
	return LoadConfig(d.opts.ConfigDir, o)
}

// checkHere logs, off the event loop, what the built-in agents say a
// start of cfg's resources would meet on this machine
// (config.CheckHere): an agent may read the whole routing table, and
// heartbeats do not wait for it. Warnings only: an interface may come
// later.
func (d *Daemon) checkHere(cfg *config.Config) {
	o := d.opts.Load
	d.opsWG.Add(1)
	go func() {
		defer d.opsWG.Done()
		for _, dg := range config.CheckHere(cfg, o) {
			d.log.Warn(dg.String())
		}
	}()
}

// LoadConfig reads and checks a configuration directory as the daemon
// does, at its start and at every reload: config.Load, then what only the
// core can tell, that its resource announcement fits one datagram with
// these groups and nodes (cluster.CheckAnnouncement; the Heartbeat
// backend only). Strict, and unless AnyMachine, the media are also
// checked against this machine as opening them would (link.Check): a
// start or a reload that would fail there is refused here, line by line.
// A Config comes back only when there is no error.
func LoadConfig(dir string, o config.LoadOptions) (*config.Config, []config.Diag) {
	cfg, diags := config.Load(dir, o)
	if cfg == nil || cfg.Backend == config.BackendEtcd {
		return cfg, diags
	}
	errs := cluster.CheckAnnouncement(cfg)
	if o.Strict && !o.AnyMachine {
		errs = append(errs, link.Check(cfg.Media)...)
	}
	if config.HasErrors(errs) {
		return nil, append(diags, errs...)
	}
	return cfg, append(diags, errs...)
}

// pendingChanges validates the files on disk and says what a reload would
// change; it applies nothing. It backs `hbd check` against a running node.
func (d *Daemon) pendingChanges() ([]config.Change, []config.Diag) {
	cfg, diags := d.loadConfig()
	if cfg == nil {
		return nil, diags
	}
	return config.Diff(d.cfg, cfg), diags
}

// reload reads all three files again, validates them together and, only
// if they are valid, applies what changed (applyConfig). An invalid edit
// is reported line by line and the running configuration stays. An edit
// noticed by the watcher (edited) that removes groups waits until they
// have stayed gone for a quiet period (removalHold); SIGHUP applies at
// once.
func (d *Daemon) reload(ctx context.Context, why string, edited bool) {
	cfg, diags := d.loadConfig()
	if cfg == nil {
		n := 0
		for _, dg := range diags {
			if dg.Severity == config.SevError {
				n++
				d.log.Error(dg.String())
			}
		}
		d.log.Errorf("Configuration reload (%s) refused: %d error(s) in %s; the running configuration stays", why, n, d.opts.ConfigDir)
		return
	}
	changes := config.Diff(d.cfg, cfg)
	if len(changes) == 0 {
		d.held = removalHold{}
		d.log.Debugf("Configuration reload (%s): nothing changed", why)
		return
	}
	if !edited {
		d.held = removalHold{}
	} else if !d.editReady(cfg, why, time.Now()) {
		return
	}
	for _, dg := range diags {
		d.log.Warn(dg.String())
	}
	d.applyConfig(ctx, cfg, changes, why)
	d.checkHere(cfg)
	d.pages.request() // parsing and applying ran code the heartbeats do not
}

// editReady says whether an edit may apply now; if it removes groups
// that have not stayed gone for a quiet period yet, it logs that the edit
// is held and asks for the reload again when the period is over.
func (d *Daemon) editReady(cfg *config.Config, why string, now time.Time) bool {
	removed := removedGroups(d.cfg, cfg)
	ok, first, wait := d.held.ready(removed, now, d.watchTiming.quiet)
	if ok {
		return true
	}
	if first {
		d.log.Infof("Configuration change (%s) held: group(s) %s gone from %s; the edit applies if they are still gone in %s (SIGHUP applies it at once)",
			why, strings.Join(removed, ", "), config.HaresourcesFile, wait.Round(time.Millisecond))
	}
	time.AfterFunc(wait, func() {
		select {
		case d.reloads <- struct{}{}:
		default:
		}
	})
	return false
}

// reloadPlan is what a reload has prepared, before anything of it is in
// force: nil fields are the ones that do not change.
type reloadPlan struct {
	keys   *wire.Keyring
	runner *harc.Runner
	links  Links // opened beside the old ones
}

// applyConfig applies a valid configuration all or nothing. Everything
// that can fail is prepared first, while the running configuration stays
// whole: the logging facility checked, the keys built, the core's
// acceptance asked, the runner made and, last, the new media opened
// beside the old ones (the sockets set SO_REUSEADDR, so the same port
// binds twice). If any step fails, what was prepared is closed, nothing
// changes, and the log says why. Only then is it all swapped in: logging,
// keys, links (the old ones closed after the new ones are in place),
// runner, the core's configuration, the ping prober. changes are
// config.Diff(d.cfg, cfg), which the caller has computed.
func (d *Daemon) applyConfig(ctx context.Context, cfg *config.Config, changes []config.Change, why string) {
	if len(changes) == 0 {
		d.log.Debugf("Configuration reload (%s): nothing changed", why)
		return
	}
	areas := map[string]bool{}
	for _, c := range changes {
		areas[c.Area] = true
		d.log.Infof("Configuration change (%s): %s", why, c)
	}
	if d.etcd != nil {
		d.applyEtcdConfig(ctx, cfg, areas, why)
		return
	}
	plan, err := d.prepareReload(ctx, cfg, areas)
	if err != nil {
		d.log.Errorf("Configuration reload (%s) refused: %v; nothing of it applied, the running configuration stays", why, err)
		return
	}
	if areas["logging"] || cfg.Keepalive != d.cfg.Keepalive { // the keepalive bounds the waits for the log
		if err := d.log.Apply(outputs(cfg)); err != nil {
			d.log.Warnf("new logging settings: %v", err)
		}
	}
	if plan.keys != nil {
		d.keys = plan.keys
		d.intake.setKeys(plan.keys)
	}
	if plan.links != nil {
		d.swapLinks(plan.links)
		if plan.links.SharedAddress() {
			d.resteer(ctx, cfg)
		}
	} else if cfg.Keepalive != d.cfg.Keepalive {
		d.links.SetKeepalive(cfg.Keepalive)
	}
	// The runner comes before the core sees the configuration, so the
	// operations it asks for at once run with the new settings.
	if plan.runner != nil {
		d.runner = plan.runner
		d.monitors.SetRunner(plan.runner)
	}
	restartPing := pingConfig(d.cfg) != pingConfig(cfg)
	d.cfg = cfg
	d.rt.want = int32(cfg.RealtimePriority()) // in force when the loop checks, after this event
	if coreAreas(areas) {
		d.step(cluster.Reconfigure{Now: time.Now(), Config: cfg})
	}
	if restartPing {
		d.startPing(ctx)
	}
	if areas["reload"] {
		d.watchEdits(ctx)
	}
	d.log.Infof("Configuration reloaded from %s", d.opts.ConfigDir)
}

// swapLinks puts ls in use and closes the links it replaces. The peers'
// messages that came before ls opened wait in the old links' sockets
// (what comes now goes to the new sockets), in their readers or in the
// loop's queue: the core takes them all, in the order they were sent, with
// what has come to ls meanwhile, as the loop's next turn would.
func (d *Daemon) swapLinks(ls Links) {
	old := d.links
	d.links, d.routineRead = ls, time.Time{}
	var err error
	if d.drainFn != nil {
		err = old.CloseDrain(d.drainFn)
	} else {
		err = old.Close()
	}
	if err != nil {
		d.log.Warnf("closing the old media: %v", err)
	}
	d.drainFrom(ls)
}

// resteer opens media again once the links a reload replaced are closed:
// the new ones opened beside them, on the same addresses and ports, so
// their ucast links could not steer (every heartbeat would wake the node
// until the next reload of the media). The links in use stay open until
// the others are, so heartbeats go out and are read throughout. If the
// address is still shared (another process's sockets), the links in use
// stay.
func (d *Daemon) resteer(ctx context.Context, cfg *config.Config) {
	ls, err := d.openLinks(context.WithoutCancel(ctx), cfg)
	if err != nil {
		d.log.Warnf("new media opened again to steer them: %v; every heartbeat wakes the daemon until the next reload of the media", err)
		return
	}
	if ls.SharedAddress() {
		ls.Close()
		d.warnShared(cfg.Media)
		return
	}
	d.swapLinks(ls)
	d.log.Infof("new media opened again once the old ones closed: steered")
}

// warnShared says that links in use are not steered because another
// process's sockets share their address and port, and what that costs
// besides the wake-ups: the kernel gives each datagram to one of the
// sockets only, so two nodes of one host that both bind the wildcard
// address (ucast lines without LOCAL) may not hear each other at all. It
// names the first such line of media.
func (d *Daemon) warnShared(media []config.Medium) {
	where := ""
	for _, m := range media {
		if (m.Kind == config.Ucast || m.Kind == config.Ucast6) && !m.Local.IsValid() && m.Pos.File != "" {
			where = " (" + m.Pos.String() + ": no LOCAL address)"
			break
		}
	}
	d.log.Warnf("heartbeat media: another process's sockets share a ucast address and port of this node%s: the kernel gives each datagram to one of them only, so if it is another node's hbd the two may not hear each other (nodes that share a host each bind their own address: ucast IFACE PEER LOCAL); and every heartbeat wakes the daemon", where)
}

// coreAreas says whether a change in these areas concerns the core.
func coreAreas(areas map[string]bool) bool {
	return areas["timing"] || areas["nodes"] || areas["groups"] || areas["other"]
}

// prepareReload prepares every part of a reload that can fail, changing
// nothing in force; on an error nothing it made is left open.
func (d *Daemon) prepareReload(ctx context.Context, cfg *config.Config, areas map[string]bool) (reloadPlan, error) {
	var p reloadPlan
	if areas["backend"] && cfg.Backend != d.cfg.Backend {
		return p, fmt.Errorf("backend %s -> %s needs a restart of hbd", d.cfg.Backend, cfg.Backend)
	}
	if areas["logging"] {
		if _, _, err := logging.ParseFacility(cfg.LogFacility); err != nil {
			return p, fmt.Errorf("logfacility: %w", err)
		}
	}
	if areas["auth"] {
		kr, err := keyring(cfg)
		if err != nil {
			return p, fmt.Errorf("keys: %w", err)
		}
		p.keys = kr
	}
	if coreAreas(areas) {
		if err := d.core.CheckConfig(cfg); err != nil {
			return p, err
		}
	}
	if areas["groups"] || areas["other"] {
		r, err := d.newRunner(cfg)
		if err != nil {
			return p, fmt.Errorf("resource runner: %w", err)
		}
		p.runner = r
	}
	if areas["media"] {
		ls, err := d.openLinks(context.WithoutCancel(ctx), cfg)
		if err != nil {
			return p, fmt.Errorf("new media: %w (the old ones stay open)", err)
		}
		p.links = ls
	}
	return p, nil
}

// openLinks opens a link set for cfg's media, feeding this daemon's
// intake. A node that ha.cf lists alone has no peer to reach, so links it
// sends nothing on are no fault (link.Options.Alone).
func (d *Daemon) openLinks(ctx context.Context, cfg *config.Config) (Links, error) {
	opts := d.intake.linkOptions(d.log.Logger)
	opts.Alone = len(cfg.Nodes) <= 1
	opts.Keepalive = cfg.Keepalive
	ls, err := link.Open(ctx, cfg.Media, opts)
	if err != nil {
		return nil, err
	}
	return ls, nil
}
