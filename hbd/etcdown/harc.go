package etcdown

import (
	"context"
	"fmt"

	"github.com/hbdproject/hbd/harc"
	"github.com/hbdproject/hbd/hbd/config"
)

// HarcRunner runs groups through harc, each operation under the group's
// fencing token, so its scripts get HA_FENCING_TOKEN.
type HarcRunner struct {
	harc   *harc.Runner
	groups map[string]config.Group
}

// NewHarcRunner returns a Runner for groups (by their key) run by h.
func NewHarcRunner(h *harc.Runner, groups []config.Group) *HarcRunner {
	m := make(map[string]config.Group, len(groups))
	for _, g := range groups {
		m[g.Key()] = g
	}
	return &HarcRunner{harc: h, groups: m}
}

func (r *HarcRunner) group(key string) (config.Group, error) {
	g, ok := r.groups[key]
	if !ok {
		return config.Group{}, fmt.Errorf("no group %s in haresources", key)
	}
	return g, nil
}

// Start runs harc start of the group with its token.
func (r *HarcRunner) Start(ctx context.Context, key string, token int64) error {
	g, err := r.group(key)
	if err != nil {
		return err
	}
	return r.harc.Start(harc.WithFencingToken(ctx, token), g)
}

// Stop runs harc stop of the group with the token it was started with.
func (r *HarcRunner) Stop(ctx context.Context, key string, token int64) error {
	g, err := r.group(key)
	if err != nil {
		return err
	}
	return r.harc.Stop(harc.WithFencingToken(ctx, token), g)
}
