package harc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadStatus(t *testing.T) {
	tests := []struct {
		name      string
		stdout    string
		rc        int
		timedOut  bool
		err       error
		heartbeat bool // running under StatusHeartbeat
		lsb       bool // running under StatusLSB
		strict    bool // stopped for sure (after a failed stop)
	}{
		{"LSB running", "nginx is running...\n", 0, false, nil, true, true, false},
		{"Running capitalised", "Running OK\n", 0, false, nil, true, true, false},
		{"OK alone", "OK\n", 0, false, nil, true, true, false},
		{"ok lower case is not OK", "ok\n", 0, false, nil, false, true, false},
		{"RUNNING upper case", "RUNNING\n", 0, false, nil, false, true, false},
		{"not running", "nginx is not running\n", 3, false, nil, false, false, true},
		{"NOT ... Running, any case", "Daemon NOT currently Running\n", 0, false, nil, false, true, true},
		{"not and running on two lines", "not\nrunning\n", 3, false, nil, true, false, false},
		{"not, space, across lines", "not \nrunning\n", 3, false, nil, false, false, true},
		{"nothing running is running", "nothing running\n", 0, false, nil, true, true, false},
		{"stopped with exit 3", "nginx is stopped\n", 3, false, nil, false, false, true},
		{"stopped with exit 0", "nginx is stopped\n", 0, false, nil, false, true, true},
		{"silent exit 0", "", 0, false, nil, false, true, false},
		{"silent exit 3", "", 3, false, nil, false, false, true},
		{"silent exit 1 (dead, pid file)", "", 1, false, nil, false, false, true},
		{"silent exit 4 (unknown)", "", 4, false, nil, false, false, true},
		{"running but exit 3", "is running\n", 3, false, nil, true, false, false},
		{"timed out", "", -1, true, nil, false, false, false},
		{"could not run", "", -1, false, errors.New("no such file"), false, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Result{Stdout: tc.stdout, Output: tc.stdout, ExitCode: tc.rc, TimedOut: tc.timedOut, Err: tc.err, PID: 1}
			if got, why := ReadStatus(StatusHeartbeat, r); got != tc.heartbeat || why == "" {
				t.Errorf("heartbeat rule: running=%v (%s), want %v", got, why, tc.heartbeat)
			}
			if got, why := ReadStatus(StatusLSB, r); got != tc.lsb || why == "" {
				t.Errorf("lsb rule: running=%v (%s), want %v", got, why, tc.lsb)
			}
			if got, why := stoppedForSure(r); got != tc.strict || why == "" {
				t.Errorf("strict: stopped=%v (%s), want %v", got, why, tc.strict)
			}
		})
	}
}

func TestStatusReadsStdoutOnly(t *testing.T) {
	f := newFixture(t)
	f.script("noisy", "#!/bin/sh\necho 'warning: something is running late' >&2\necho 'stopped'\n")
	r := f.runner()
	gs, err := r.Status(t.Context(), f.group("noisy"))
	if err != nil {
		t.Fatal(err)
	}
	if gs.Resources[0].Running || gs.State != GroupNone {
		t.Errorf("stderr's \"running\" counted: %+v", gs)
	}
}

func TestParseStopFailurePolicy(t *testing.T) {
	for in, want := range map[string]StopFailurePolicy{"block": StopFailureBlock, "Reboot": StopFailureReboot} {
		if got, err := ParseStopFailurePolicy(in); err != nil || got != want || (got.String() != in && in != "Reboot") {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if _, err := ParseStopFailurePolicy("ignore"); err == nil {
		t.Errorf("ignore accepted")
	}
	if _, err := New(Options{Node: "n", OnStopFailure: 7}); err == nil {
		t.Errorf("New accepted policy 7")
	}
}

func TestGroupStatus(t *testing.T) {
	f := newFixture(t, "A", "B")
	r := f.runner()
	g := f.group("A", "B")
	for _, tc := range []struct {
		on   []string
		want GroupState
	}{
		{nil, GroupNone},
		{[]string{"B"}, GroupSome},
		{[]string{"A", "B"}, GroupAll},
	} {
		for _, n := range []string{"A", "B"} {
			os.Remove(filepath.Join(f.ctl, n+".on"))
		}
		for _, n := range tc.on {
			f.set(n+".on", "")
		}
		gs, err := r.Status(context.Background(), g)
		if err != nil {
			t.Fatal(err)
		}
		if gs.State != tc.want || gs.Key != "A" || len(gs.Resources) != 2 {
			t.Errorf("on %v: %+v, want %v", tc.on, gs, tc.want)
		}
		for _, rs := range gs.Resources {
			wantOn := strings.Contains(strings.Join(tc.on, " "), rs.Resource)
			if rs.Running != wantOn {
				t.Errorf("on %v: %s running=%v (%s)", tc.on, rs.Resource, rs.Running, rs.Reason)
			}
		}
	}
	f.script("B", "#!/bin/sh\nsleep 5\n")
	f.opts.Timeout = 200 * time.Millisecond
	r = f.runner()
	gs, err := r.Status(context.Background(), g)
	if err == nil || gs.Resources[1].Running || !gs.Resources[1].Result.TimedOut {
		t.Errorf("status timeout: %+v, %v", gs, err)
	}
}
