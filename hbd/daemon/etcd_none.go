//go:build noetcd

package daemon

import (
	"context"
	"fmt"

	"github.com/hbdproject/hbd/hbd/config"
)

// This build leaves the etcd backend out (go build -tags noetcd): the
// binary links no etcd client, so it is the Heartbeat backend's size and
// idle memory (docs/guide-etcd.md, "A build without it").

// etcdBackend is never made in this build.
type etcdBackend struct{}

// runEtcd refuses `backend etcd`.
func (d *Daemon) runEtcd(context.Context) error {
	return &ConfigError{Diags: []config.Diag{{Pos: d.cfg.Etcd.Pos, Severity: config.SevError,
		Msg: "backend etcd: this hbd was built without the etcd backend (go build -tags noetcd); use a build without that tag, or `backend heartbeat`"}}}
}

// applyEtcdConfig is never called: d.etcd is always nil.
func (d *Daemon) applyEtcdConfig(_ context.Context, _ *config.Config, _ map[string]bool, why string) {
	d.log.Errorf("Configuration reload (%s) refused: %v", why, fmt.Errorf("no etcd backend in this build"))
}
