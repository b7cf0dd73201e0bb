package etcdown

import (
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// With etcd's authentication on, a node whose etcd user is missing or
// lacks the role only hears "etcdserver: permission denied", whatever
// is missing. authHint says which user needs what, so that the log line
// and `hbd status` point at the etcdctl commands that fix it.

// authHint returns what to add to err, a request's error, when etcd's
// authentication refused it: user is this node's etcd user (the common
// name of its client certificate, "" without one), prefix etcd_prefix.
// "" for any other error.
func authHint(err error, user, prefix string) string {
	switch {
	case errors.Is(err, rpctypes.ErrUserEmpty):
		return fmt.Sprintf(" (etcd's authentication is on and this node has no etcd user: give it a client certificate, etcd_cert and etcd_key, whose common name is an etcd user with readwrite on %s)", prefix)
	case !errors.Is(err, rpctypes.ErrPermissionDenied):
		return ""
	case user == "":
		return fmt.Sprintf(" (etcd's authentication is on: this node's etcd user, the common name of its client certificate, must exist and have a role with readwrite on %s)", prefix)
	}
	return fmt.Sprintf(" (etcd's authentication is on and this node's etcd user, %s, must exist and have a role with readwrite on %s: `etcdctl user add %s --no-password`, `etcdctl role grant-permission ROLE --prefix=true readwrite %s`, `etcdctl user grant-role %s ROLE`)",
		user, prefix, user, prefix, user)
}

// explained is err with authHint's words added, if any; nil stays nil.
func explained(err error, user, prefix string) error {
	if h := authHint(err, user, prefix); h != "" {
		return fmt.Errorf("%w%s", err, h)
	}
	return err
}
