package etcdown

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/sirupsen/logrus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
)

// Runner starts and stops groups (the daemon's runs them through harc),
// each with the group's fencing token. Start must return when ctx ends
// (the watchdog ends a start still running at stopBy, then stops the
// group once Start has returned). Different groups are
// started and stopped concurrently (maxParallel at a time; every held
// group at once when the lease is about to expire or is gone); one
// group's Start and Stop are never called at once.
//
// A Start that fails is followed by a Stop of the group (a half-started
// group is never left behind), unless its error is ErrRolledBack: the
// Start itself stopped again all it had started, and a second stop
// would run the group's stop scripts twice.
type Runner interface {
	Start(ctx context.Context, group string, token int64) error
	Stop(ctx context.Context, group string, token int64) error
}

// ErrRolledBack marks (errors.Is) the error of a Start that stopped
// again, before it returned, everything of the group it had started.
var ErrRolledBack = errors.New("the start was rolled back")

// Options configure an Owner.
type Options struct {
	// Node is this node's name; Nodes every node, in ha.cf order.
	Node  string
	Nodes []string
	// Failback is auto_failback on (or legacy); Exclusive ha.cf's
	// exclusive sets; Groups every group in haresources order.
	Failback  bool
	Exclusive [][]string
	Groups    []cluster.PlacedGroup
	// Prefix starts every key (ends with "/").
	Prefix string
	// User is this node's etcd user when etcd's authentication is on:
	// the common name of its client certificate ("" without one). Only
	// for messages: a refused request names it.
	User string
	// TTL is the lease's (whole seconds, as etcd grants them).
	TTL time.Duration
	// SlowestStop bounds the stop of any group (resource_timeout times
	// the resources of the longest group).
	SlowestStop time.Duration
	// FailbackDelay is failback_delay: a group returns to its preferred
	// node once that node has been a member this long.
	FailbackDelay time.Duration
	// InitDead is ha.cf's initdead: for that long after Started, this
	// node leaves a free group to its preferred node while that node has
	// not come up yet (initdead.go); 0: no wait. Started is when the
	// node started (the daemon's start, which a restart of the loop
	// keeps); zero: when Run began.
	InitDead time.Duration
	Started  time.Time
	// FailureTimeouts is each group's failure_timeout: how long a failed
	// start keeps it off this node (0 or absent: until Owner.Cleanup).
	FailureTimeouts map[string]time.Duration
	// Interval is how often the lease is renewed and the placement
	// checked again (from this node's copy of the keys: no request to
	// etcd); 0: TTL/10.
	Interval time.Duration
	// SafetyPoll is how often the keys are read in full and the watch
	// begun again, in case the watch missed a change; 0: TTL.
	SafetyPoll time.Duration
	Runner     Runner
	// Stopping is the cause (context.Cause) with which the Runner's
	// starts under way end when Run's context ends: an orderly stop,
	// which the Runner may tell from a failure (hbd/daemon gives harc's
	// ErrStopping); nil: ErrStopping.
	Stopping error
	// Log gets the loop's messages; nil: discarded.
	Log logrus.FieldLogger
	// Wake, if set, is called on the loop's goroutine with the time of
	// each of its Interval ticks: periodic chores of the caller's (hbd's
	// file-page checks) ride on them rather than on a timer of their own.
	Wake func(now time.Time)
}

// ErrStopping is the default Options.Stopping.
var ErrStopping = errors.New("the ownership loop is stopping")

// OptionsFromConfig returns the Options a validated configuration implies.
func OptionsFromConfig(c *config.Config, r Runner) Options {
	o := Options{
		Node:        c.ThisNode,
		Nodes:       c.Nodes,
		Failback:    c.AutoFailback != config.FailbackOff,
		Exclusive:   c.Exclusive,
		Prefix:      c.Etcd.Prefix,
		User:        c.Etcd.User,
		TTL:         c.Etcd.Lease,
		SlowestStop: c.ResourceTimeout,
		Runner:      r,

		FailbackDelay:   c.FailbackDelay,
		FailureTimeouts: map[string]time.Duration{},
		InitDead:        c.Initdead,
	}
	for _, g := range c.Groups {
		o.Groups = append(o.Groups, cluster.PlacedGroup{Key: g.Key(), Preferred: g.Preferred})
		o.FailureTimeouts[g.Key()] = g.FailureTimeout
		if s := time.Duration(len(g.Resources)) * c.ResourceTimeout; s > o.SlowestStop {
			o.SlowestStop = s
		}
	}
	return o
}

// ClientConfig returns the etcd client configuration of ha.cf's etcd_
// lines, with the TLS files loaded.
func ClientConfig(c *config.Config) (clientv3.Config, error) {
	cc := clientv3.Config{Endpoints: c.Etcd.Endpoints, DialTimeout: 5 * time.Second}
	if c.Etcd.CACert == "" && c.Etcd.Cert == "" {
		return cc, nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.Etcd.CACert != "" {
		pem, err := os.ReadFile(c.Etcd.CACert)
		if err != nil {
			return cc, fmt.Errorf("etcd_cacert: %w", err)
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM(pem) {
			return cc, fmt.Errorf("etcd_cacert %s: no PEM certificate in it", c.Etcd.CACert)
		}
	}
	if c.Etcd.Cert != "" {
		cert, err := tls.LoadX509KeyPair(c.Etcd.Cert, c.Etcd.Key)
		if err != nil {
			return cc, fmt.Errorf("etcd_cert/etcd_key: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	cc.TLS = t
	return cc, nil
}
