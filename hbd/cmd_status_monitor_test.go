package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/monitor"
)

func TestPrintMonitors(t *testing.T) {
	now := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	last, next := now.Add(-90*time.Second), now.Add(4*time.Second)
	var b bytes.Buffer
	printMonitors(&b, []monitor.ResourceStatus{
		{Resource: "nginx", Group: "IPaddr2::10.0.0.1/24/eth0", State: "watching", Op: "monitor", Interval: "10s", Window: "10m0s",
			Restarts: 2, FailCount: 1, LocalRestarts: 1, LastFailure: &last, LastFailureReason: "monitor exit code 7", NextCheck: &next},
		{Resource: "db", Group: "db", State: "idle", Op: "auto", Interval: "5s", Window: "1m0s", Restarts: 0},
	}, now)
	out := b.String()
	for _, want := range []string{
		"MONITORED RESOURCE", "NEXT CHECK",
		"nginx", "watching", "1/2 in 10m0s", "1m30s ago: monitor exit code 7", "in 4s",
		"db", "idle", "0/0 in 1m0s",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	printMonitors(&b, []monitor.ResourceStatus{{Resource: "web", LastFailure: &last, LastFailureReason: "exit 1: \x1b]0;owned\a\nfake row"}}, now)
	if out := b.String(); strings.ContainsAny(out, "\x1b\a") || !strings.Contains(out, `exit 1: \x1b]0;owned\a\nfake row`) {
		t.Errorf("script output not escaped: %q", out)
	}
	b.Reset()
	printMonitors(&b, nil, now)
	if b.Len() != 0 {
		t.Errorf("no monitors printed %q", b.String())
	}
}
