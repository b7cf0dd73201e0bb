package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/link"
)

// loadConfig reads the node's configuration directory as `hbd run` does.
func (d *Daemon) loadConfig() (*config.Config, []config.Diag) {
	return config.Load(d.opts.ConfigDir, d.opts.Load)
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
// if they are valid, applies what changed. An invalid edit is reported
// line by line and the running configuration stays.
func (d *Daemon) reload(ctx context.Context, why string) {
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
		d.log.Debugf("Configuration reload (%s): nothing changed", why)
		return
	}
	for _, dg := range diags {
		d.log.Warn(dg.String())
	}
	areas := map[string]bool{}
	for _, c := range changes {
		areas[c.Area] = true
		d.log.Infof("Configuration change (%s): %s", why, c)
	}
	if areas["logging"] {
		if err := d.log.Apply(outputs(cfg)); err != nil {
			d.log.Errorf("new logging settings not applied: %v", err)
		}
	}
	if areas["auth"] {
		kr, err := keyring(cfg)
		if err != nil {
			d.log.Errorf("new keys not applied: %v", err)
			return
		}
		d.keys = kr
		d.intake.setKeys(kr)
	}
	if areas["media"] {
		if err := d.reopenLinks(ctx, cfg); err != nil {
			d.log.Errorf("new media not applied, keeping the old ones: %v", err)
			return
		}
	}
	restartPing := pingConfig(d.cfg) != pingConfig(cfg)
	d.cfg = cfg
	d.applyToCore(cfg, areas)
	if restartPing {
		d.startPing(ctx)
	}
	d.log.Infof("Configuration reloaded from %s", d.opts.ConfigDir)
}

// reopenLinks replaces the link set. The old sockets are closed first
// (the new ones usually bind the same port); if the new media cannot be
// opened, the old ones are opened again.
func (d *Daemon) reopenLinks(ctx context.Context, cfg *config.Config) error {
	old := d.cfg.Media
	d.links.Close()
	ctx = context.WithoutCancel(ctx)
	ls, err := link.Open(ctx, cfg.Media, d.intake.linkOptions(d.log.Logger))
	if err == nil {
		d.links = ls
		return nil
	}
	back, berr := link.Open(ctx, old, d.intake.linkOptions(d.log.Logger))
	if berr != nil {
		return fmt.Errorf("%w; and the old media failed to reopen: %v", err, berr)
	}
	d.links = back
	return err
}

// applyToCore gives resource operations and monitor checks a runner for
// the new configuration, then hands the state machine the configuration
// (it applies only the difference: new timings at once, new groups
// acquired by whoever should hold them, removed ones released, untouched
// ones untouched). The runner comes first so that the operations the core
// asks for at once run with the new settings.
func (d *Daemon) applyToCore(cfg *config.Config, areas map[string]bool) {
	if areas["groups"] || areas["other"] {
		if r, err := d.newRunner(cfg); err != nil {
			d.log.Errorf("resource runner not updated: %v", err)
		} else {
			d.runner = r
			d.monitors.SetRunner(r)
		}
	}
	if areas["timing"] || areas["nodes"] || areas["groups"] || areas["other"] {
		d.step(cluster.Reconfigure{Now: time.Now(), Config: cfg})
	}
}
