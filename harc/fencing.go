package harc

import (
	"context"
	"strconv"
)

// FencingTokenVar is the variable that carries a group's fencing token to
// its scripts: the etcd revision that made this node the group's owner
// (hbd/etcdown). It grows with every change of owner, so a service can
// refuse a holder whose token is lower than one it has already seen.
const FencingTokenVar = "HA_FENCING_TOKEN"

type fencingTokenKey struct{}

// WithFencingToken returns a context under which every script a Start,
// Stop or RunResource runs gets HA_FENCING_TOKEN=token. The token belongs
// to one operation of one group, not to the runner, hence the context.
func WithFencingToken(ctx context.Context, token int64) context.Context {
	return context.WithValue(ctx, fencingTokenKey{}, token)
}

// fencingEnv is the HA_FENCING_TOKEN entry of ctx, if it carries one.
func fencingEnv(ctx context.Context) []string {
	if t, ok := ctx.Value(fencingTokenKey{}).(int64); ok {
		return []string{FencingTokenVar + "=" + strconv.FormatInt(t, 10)}
	}
	return nil
}
