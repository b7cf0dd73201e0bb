//go:build noetcd

package daemon

import (
	"context"
	"fmt"

	"github.com/hbdproject/hbd/hbd/config"
)

// This build leaves the etcd backend out (go build -tags noetcd, the
// installed hbd): the binary links no etcd client, so it is the Heartbeat
// backend's size and idle memory. `backend etcd` is run by the companion
// program hbd-etcd, which this one becomes (Options.ExecEtcd;
// docs/guide-etcd.md, "Two programs").

// EtcdLinked says whether this build runs `backend etcd` itself.
const EtcdLinked = false

// etcdBackend is never made in this build.
type etcdBackend struct{}

// etcdElsewhere hands `backend etcd` to the program that has it: it
// returns only when that failed, with the reason against ha.cf's
// `backend` line.
func etcdElsewhere(o Options, cfg *config.Config) error {
	msg := "backend etcd: this hbd was built without the etcd backend (go build -tags noetcd); use a build without that tag, or `backend heartbeat`"
	if o.ExecEtcd != nil {
		msg = "backend etcd: " + o.ExecEtcd().Error()
	}
	return &ConfigError{Diags: []config.Diag{{Pos: cfg.Etcd.Pos, Severity: config.SevError, Msg: msg}}}
}

// runEtcd is never reached: Run gave `backend etcd` to etcdElsewhere.
func (d *Daemon) runEtcd(context.Context) error {
	return etcdElsewhere(Options{}, d.cfg)
}

// applyEtcdConfig is never called: d.etcd is always nil.
func (d *Daemon) applyEtcdConfig(_ context.Context, _ *config.Config, _ map[string]bool, why string) {
	d.log.Errorf("Configuration reload (%s) refused: %v", why, fmt.Errorf("no etcd backend in this build"))
}
