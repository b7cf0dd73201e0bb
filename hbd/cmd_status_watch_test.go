package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/ctl"
)

// watchStatus is a two-node cluster: node2 holds the group.
func watchStatus(now time.Time) ctl.Status {
	return ctl.Status{
		PID: 42, Started: now.Add(-time.Minute),
		Cluster: cluster.Status{
			Node: "node1", State: "active", Generation: 7,
			Peers: []cluster.PeerStatus{{Name: "node2", State: "active", LastHeard: now, Generation: 9,
				Links: []cluster.LinkStatus{{Name: "eth0", State: "up", LastHeard: now}}}},
			Groups: []cluster.GroupStatus{{Key: "IPaddr2::10.0.0.5/24/eth0", Preferred: "node1", Holder: "node2", State: "running", Since: now}},
		},
	}
}

type fetched struct {
	st  func(ctl.Status) ctl.Status // applied to watchStatus; nil: unchanged
	err error
}

func TestWatch(t *testing.T) {
	now := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)
	same := fetched{}
	heardLater := fetched{st: func(s ctl.Status) ctl.Status {
		s.Cluster.Peers[0].LastHeard = now.Add(time.Second)
		s.Cluster.Peers[0].Links[0].LastHeard = now.Add(time.Second)
		s.Cluster.Peers[0].Late = 3 // counters are not changes
		return s
	}}
	failedOver := fetched{st: func(s ctl.Status) ctl.Status {
		s.Cluster.Groups[0].Holder = "node1"
		return s
	}}
	standby := fetched{st: func(s ctl.Status) ctl.Status {
		s.Cluster.Peers[0].InStandby = true
		return s
	}}
	linkDead := fetched{st: func(s ctl.Status) ctl.Status {
		s.Cluster.Peers[0].Links[0].State = "dead"
		return s
	}}
	fence := fetched{st: func(s ctl.Status) ctl.Status {
		s.Cluster.Fences = []cluster.FenceWait{{Node: "node2", Since: now, InFlight: true, Attempts: 1}}
		s.Cluster.StartsBlocked = "node2 is not fenced yet"
		return s
	}}
	down := fetched{err: fmt.Errorf("%w (no control socket at /run/heartbeat/hbd.sock)", ctl.ErrNotRunning)}
	stuck := fetched{err: errors.New("hbd's event loop did not take the request within 8s (stuck or far behind): nothing was done")}
	tests := []struct {
		name   string
		seq    []fetched
		tty    bool
		code   int
		shown  []string // what each drawn status holds, in order
		stderr string   // in stderr; "" means stderr stays empty
	}{
		{name: "one status per change", seq: []fetched{same, same, heardLater, failedOver, failedOver, standby, linkDead, fence, fence},
			shown: []string{"node2   running", "node1   running", "standby", "link eth0  dead", "node2: silent since 0s ago, being fenced (attempt 1)"}},
		{name: "daemon goes away and comes back", seq: []fetched{same, down, down, same},
			shown: []string{"node2   running", "hbd does not answer: hbd is not running", "node2   running"}},
		{name: "not running at first", seq: []fetched{down}, code: 3, stderr: "hbd status: hbd is not running"},
		{name: "running but not answering at first", seq: []fetched{stuck}, code: 1, stderr: "hbd status: hbd's event loop did not take the request"},
		{name: "terminal", seq: []fetched{same, failedOver}, tty: true, shown: []string{"node2   running", "node1   running"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			i := 0
			var out, errOut bytes.Buffer
			w := &watcher{name: "status", out: &out, errOut: &errOut, tty: tc.tty, interval: time.Millisecond,
				now: func() time.Time { return now },
				fetch: func() (ctl.Status, error) {
					f := tc.seq[i]
					if i++; i == len(tc.seq) {
						cancel() // the operator's Ctrl-C after the last one
					}
					st := watchStatus(now)
					if f.st != nil {
						st = f.st(st)
					}
					return st, f.err
				}}
			if code := w.run(ctx); code != tc.code {
				t.Fatalf("exit %d, want %d", code, tc.code)
			}
			if got := errOut.String(); tc.stderr == "" && got != "" || !strings.Contains(got, tc.stderr) {
				t.Errorf("stderr %q, want %q", got, tc.stderr)
			}
			s := out.String()
			if hasEsc := strings.Contains(s, "\x1b"); hasEsc != tc.tty {
				t.Errorf("escape codes: %v on a terminal: %v\n%q", hasEsc, tc.tty, s)
			}
			blocks := strings.Split(s, "=== ")[1:]
			if len(blocks) != len(tc.shown) {
				t.Fatalf("%d statuses shown, want %d:\n%s", len(blocks), len(tc.shown), s)
			}
			for j, want := range tc.shown {
				if !strings.Contains(blocks[j], want) {
					t.Errorf("status %d lacks %q:\n%s", j, want, blocks[j])
				}
			}
		})
	}
}

// The watch asks at most once per interval.
func TestWatchRate(t *testing.T) {
	now := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	n := 0
	w := &watcher{name: "mon", out: &bytes.Buffer{}, errOut: &bytes.Buffer{}, interval: 100 * time.Millisecond, now: time.Now,
		fetch: func() (ctl.Status, error) { n++; return watchStatus(now), nil }}
	w.run(ctx)
	// At most one request per interval (4: at 0, 100, 200 and 300 ms);
	// a loaded machine may make fewer, never more.
	if n < 1 || n > 4 {
		t.Errorf("%d status requests in 300ms at one per 100ms", n)
	}
}

func TestStatusFlags(t *testing.T) {
	now := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)
	tests := []struct {
		g    cluster.GroupStatus
		want string
	}{
		{cluster.GroupStatus{}, "-"},
		{cluster.GroupStatus{Disabled: true, MovedTo: "node2"}, "disabled,moved-to:node2"},
		{cluster.GroupStatus{MovedAway: "node1", Standby: true, Yielding: true}, "moved-away:node1,hb_standby,yielding"},
		{cluster.GroupStatus{Failed: true, FailCount: 2}, "failed-here(2,until cleanup)"},
		{cluster.GroupStatus{Failed: true, FailCount: 1, FailedUntil: now.Add(90 * time.Second)}, "failed-here(1,for 1m30s)"},
		{cluster.GroupStatus{FailCount: 3}, "failures(3)"},
	}
	for _, tc := range tests {
		if got := flags(groupFlags(tc.g, now)); got != tc.want {
			t.Errorf("%+v: flags %q, want %q", tc.g, got, tc.want)
		}
	}
	if got := flags(selfFlags(cluster.Status{InStandby: true, NoQuorum: true, Stopping: true})); got != "standby,no-quorum,stopping" {
		t.Errorf("self flags %q", got)
	}
}
