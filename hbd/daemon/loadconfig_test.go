package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/testenv"
)

// TestLoadConfigAnnouncementEdge: a haresources whose groups fit one
// resource announcement (M of them) loads; one more group is refused at
// the start (Run) and by every load (LoadConfig, which hbd check and
// reloads use) with an error naming haresources, the line of group M+1
// and both counts.
func TestLoadConfigAnnouncementEdge(t *testing.T) {
	for _, keyLen := range []int{20, 60} {
		fit := announcementLimit(t, keyLen)
		for _, n := range []int{fit, fit + 1} {
			t.Run(fmt.Sprintf("%d groups of %d-byte keys", n, keyLen), func(t *testing.T) {
				files := maps.Clone(reloadFiles)
				files["haresources"] = groupLines(n, keyLen)
				dir := testenv.WriteConfigDir(t, files)
				cfg, diags := LoadConfig(dir, reloadLoad)
				if n == fit {
					if cfg == nil || len(cfg.Groups) != n {
						t.Errorf("%d groups do not load: %v", n, diags)
					}
					return
				}
				at := fmt.Sprintf("%s:%d: ", filepath.Join(dir, "haresources"), n)
				what := fmt.Sprintf("%d groups; at most %d fit", n, fit)
				refused := func(ds []config.Diag) bool {
					for _, d := range ds {
						if d.Severity == config.SevError && strings.HasPrefix(d.String(), at) && strings.Contains(d.Msg, what) {
							return true
						}
					}
					return false
				}
				if cfg != nil || !refused(diags) {
					t.Errorf("load: config %v, want an error %q ... %q: %v", cfg != nil, at, what, diags)
				}
				// (cancelled: were the configuration taken, the node
				// would stop at once)
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				err := Run(ctx, Options{ConfigDir: dir, Node: "node1", RunDir: t.TempDir(), StateDir: t.TempDir(), Load: reloadLoad, Stderr: io.Discard})
				var ce *ConfigError
				if !errors.As(err, &ce) || !refused(ce.Diags) {
					t.Errorf("start: %v, want a configuration error %q ... %q", err, at, what)
				}
			})
		}
	}
}
