package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/ctl"
)

// TestPrintEtcdStatus: with the etcd backend, hbd status shows the lease
// (how long until this node would stop its groups), the members, each
// group's owner, token, settings and where it runs; a watch sees a new
// owner as a change, not the lease's remaining time.
func TestPrintEtcdStatus(t *testing.T) {
	now := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	until, stopBy := now.Add(3500*time.Millisecond), now.Add(700*time.Millisecond)
	st := ctl.Status{Node: "n1", PID: 42, Started: now.Add(-time.Minute), Backend: "etcd", Etcd: &ctl.EtcdStatus{
		Endpoints: []string{"http://e:2379"}, Prefix: "/hbd/", Lease: "6a6c", TTL: "4s", LeaseUntil: &until, StopBy: &stopBy,
		Members: []string{"n1", "n2"}, Standby: []string{"n3"},
		Groups: []ctl.EtcdGroup{
			{Key: "web", Preferred: "n1", Owner: "n1", Token: 17, Running: true, RunningToken: 17},
			{Key: "db", Preferred: "n2", Owner: "n2", Token: 9, MovedTo: "n2", FailedOn: []string{"n1"}},
			{Key: "old", Preferred: "n1", Disabled: true},
			{Key: "api", Preferred: "n1", Owner: "n1", Token: 21, Starting: true, RunningToken: 21},
			{Key: "mail", Preferred: "n2", Owner: "n1", Token: 23, Running: true, StopFailed: true, RunningToken: 23},
		},
	}}
	var b bytes.Buffer
	printStatus(&b, st, now)
	out := b.String()
	for _, want := range []string{
		"n1 (this node): active, backend etcd, pid 42, up 1m0s",
		"lease: 6a6c, TTL 4s, lives at least 3.5s more; groups stopped in 700ms unless renewed",
		"members (live lease): n1, n2", "in standby: n3",
		"web    n1         n1     17     -                         running (token 17)",
		"db     n2         n2     9      moved-to:n2,failed-on:n1  -",
		"old    n1         -      -      disabled                  -",
		"api    n1         n1     21     -                         starting (token 21)",
		"mail   n2         n1     23     -                         stop-failed (token 23)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}

	later := st
	e := *st.Etcd
	u2, s2 := until.Add(time.Second), stopBy.Add(time.Second)
	e.LeaseUntil, e.StopBy = &u2, &s2
	later.Etcd = &e
	if changeKey(st) != changeKey(later) {
		t.Errorf("a renewed lease counts as a change for the watch")
	}
	e.Groups = append([]ctl.EtcdGroup{{Key: "web", Preferred: "n1", Owner: "n2", Token: 20}}, e.Groups[1:]...)
	if changeKey(st) == changeKey(later) {
		t.Errorf("a new owner is not a change for the watch")
	}
}

// TestEtcdNodeAndGroupLists: hbd node list and hbd group list with the
// etcd backend show the members, standby, owners and settings.
func TestEtcdNodeAndGroupLists(t *testing.T) {
	st := ctl.Status{Node: "n1", Nodes: []string{"n1", "n2", "n3"}, GroupNames: map[string][]string{"web": {"web", "httpd"}},
		Etcd: &ctl.EtcdStatus{Members: []string{"n1", "n3"}, Standby: []string{"n3"},
			Groups: []ctl.EtcdGroup{{Key: "web", Owner: "n1", Token: 5, Disabled: true, StandsBy: []string{"n2", "n3"}}}}}
	var b bytes.Buffer
	printNodes(&b, st)
	printGroups(&b, st)
	for _, want := range []string{"n1    member (this node)", "n2    no lease", "n3    standby", "web    n1     5      disabled,hb_standby:n2,hb_standby:n3  httpd"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("lists lack %q:\n%s", want, b.String())
		}
	}
}
