package harc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/logging"
	"github.com/sirupsen/logrus"
)

func TestStartStopOrder(t *testing.T) {
	f := newFixture(t, "A", "B", "C")
	r := f.runner()
	g := f.group("A::x::y", "B", "C::z")
	if err := r.Start(context.Background(), g); err != nil {
		t.Fatalf("Start: %v\n%s", err, f.log.text())
	}
	// The starts left to right; each resource's status before its start,
	// the statuses left to right too (one at a time, beside the starts).
	want := []string{"A x y start", "B start", "C z start"}
	if got := f.ops(false); !slices.Equal(got, want) {
		t.Fatalf("start ran %q, want %q", got, want)
	}
	all := f.ops(true)
	statuses := slices.DeleteFunc(slices.Clone(all), func(op string) bool { return !strings.HasSuffix(op, " status") })
	if w := []string{"A x y status", "B status", "C z status"}; !slices.Equal(statuses, w) {
		t.Fatalf("statuses ran %q, want %q", statuses, w)
	}
	for _, start := range want {
		st := strings.TrimSuffix(start, "start") + "status"
		if i, j := slices.Index(all, st), slices.Index(all, start); i < 0 || i > j {
			t.Errorf("%q not before %q in %q", st, start, all)
		}
	}
	for _, n := range []string{"A", "B", "C"} {
		if !f.exists(n + ".on") {
			t.Errorf("%s did not start", n)
		}
	}
	if err := r.Stop(context.Background(), g); err != nil {
		t.Fatalf("Stop: %v\n%s", err, f.log.text())
	}
	want = append(want, "C z stop", "B stop", "A x y stop")
	if got := f.ops(false); !slices.Equal(got, want) {
		t.Fatalf("start+stop ran %q, want %q", got, want)
	}

	// Heartbeat's lines, in order, tagged ResourceManager[PID].
	rs := filepath.Join(f.dir, "resource.d")
	wantLines := []string{
		"info: Acquiring resource group: node1 A::x::y B C::z",
		"info: Running " + rs + "/A x y start",
		"info: Running " + rs + "/B  start", // no arguments: two spaces, as Heartbeat
		"info: Running " + rs + "/C z start",
		"info: Releasing resource group: node1 A::x::y B C::z",
		"info: Running " + rs + "/C z stop",
		"info: Running " + rs + "/B  stop",
		"info: Running " + rs + "/A x y stop",
	}
	text := f.log.text()
	at := 0
	for _, w := range wantLines {
		i := strings.Index(text[at:], w)
		if i < 0 {
			t.Fatalf("log lacks %q (in order) in:\n%s", w, text)
		}
		at += i + len(w)
	}
	if e, ok := f.log.find("Acquiring resource group"); !ok || e.tag != "ResourceManager" || e.pid != 4242 ||
		!strings.HasPrefix(e.line, "ResourceManager[4242]: ") {
		t.Errorf("Acquiring line not tagged ResourceManager[4242]: %+v", e)
	}
	if e, ok := f.log.find(rs + "/B  start done. RC=0"); !ok || e.level != logrus.DebugLevel {
		t.Errorf("no debug line \"... done. RC=0\" for B: %+v\n%s", e, text)
	}
}

func TestStartSkipsWhatRuns(t *testing.T) {
	f := newFixture(t, "A", "B", "C")
	f.set("B.on", "")
	r := f.runner()
	if err := r.Start(context.Background(), f.group("A", "B", "C")); err != nil {
		t.Fatal(err)
	}
	want := []string{"A start", "C start"}
	if got := f.ops(false); !slices.Equal(got, want) {
		t.Fatalf("ran %q, want %q", got, want)
	}
	if _, ok := f.log.find("Resource B is already running"); !ok {
		t.Errorf("no line says B already runs:\n%s", f.log.text())
	}
}

// TestStatusReadBesideStart: the next resource's status runs while the
// start before it does, and its line is logged in Heartbeat's order all
// the same (after the start before it is done).
func TestStatusReadBesideStart(t *testing.T) {
	f := newFixture(t, "A", "B")
	f.set("A.slowstart", "0.5")
	r := f.runner()
	if err := r.Start(context.Background(), f.group("A", "B")); err != nil {
		t.Fatalf("Start: %v\n%s", err, f.log.text())
	}
	at := map[string]float64{}
	for _, rec := range f.records() {
		at[rec.name+" "+rec.args] = rec.at
	}
	if at["B status"] >= at["A start"]+0.4 {
		t.Errorf("B's status began %.3f s after A's start began: not beside it (A's start takes 0.5 s)", at["B status"]-at["A start"])
	}
	if at["B start"] < at["A start"]+0.5 {
		t.Errorf("B started %.3f s after A's start began, before A's start ended", at["B start"]-at["A start"])
	}
	text := f.log.text()
	done := strings.Index(text, "/A  start done. RC=0")
	status := strings.Index(text, "Status of B: stopped")
	if done < 0 || status < done {
		t.Errorf("\"Status of B\" not logged after A's start is done:\n%s", text)
	}
}

// TestFailedStartEndsLookahead: a start that fails ends the status check
// running beside it (its script killed) before the rollback and before
// Start returns.
func TestFailedStartEndsLookahead(t *testing.T) {
	f := newFixture(t, "A", "B", "C")
	f.set("A.slowstart", "0.2")
	f.set("A.failstart", "")
	f.set("B.slowstatus", "30")
	f.opts.Timeout = hangTimeout
	r := f.runner()
	began := time.Now()
	err := r.Start(context.Background(), f.group("A", "B", "C"))
	if took := time.Since(began); took > hangTimeout {
		t.Errorf("Start took %v: it waited for B's status", took)
	}
	var se *StartError
	if !errors.As(err, &se) || se.Resource != "A" {
		t.Fatalf("err = %v; want a StartError of A", err)
	}
	if got, want := f.ops(false), []string{"A start", "A stop"}; !slices.Equal(got, want) {
		t.Errorf("ran %q, want %q", got, want)
	}
	if all := f.ops(true); !slices.Contains(all, "B status") || slices.Contains(all, "C status") {
		t.Errorf("ran %q: want B's status begun beside A's start, C's never", all)
	}
	if _, ok := f.log.find("Status of B"); ok {
		t.Errorf("B's status, cut short, was logged:\n%s", f.log.text())
	}
}

func TestStartFailureRollsBack(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(f *fixture)
		specs     []string
		failed    string
		wantOps   []string
		wantRC    int
		wantLines []string // in the error and the log
		timedOut  bool
	}{
		{
			name:      "middle resource fails",
			setup:     func(f *fixture) { f.set("B.failstart", "") },
			specs:     []string{"A", "B::1::2", "C"},
			failed:    "B::1::2",
			wantOps:   []string{"A start", "B 1 2 start", "B 1 2 stop", "A stop"},
			wantRC:    7,
			wantLines: []string{"starting B", "cannot start B: boom"},
		},
		{
			name:    "first resource fails",
			setup:   func(f *fixture) { f.set("A.failstart", "") },
			specs:   []string{"A", "B"},
			failed:  "A",
			wantOps: []string{"A start", "A stop"},
			wantRC:  7,
		},
		{
			name:     "start times out",
			setup:    func(f *fixture) { f.set("C.slowstart", "30"); f.opts.Timeout = hangTimeout },
			specs:    []string{"A", "B", "C"},
			failed:   "C",
			wantOps:  []string{"A start", "B start", "C start", "C stop", "B stop", "A stop"},
			wantRC:   -1,
			timedOut: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "A", "B", "C")
			tc.setup(f)
			r := f.runner()
			start := time.Now()
			err := r.Start(context.Background(), f.group(tc.specs...))
			if time.Since(start) > hangTimeout+5*time.Second {
				t.Errorf("Start took %v", time.Since(start))
			}
			if !errors.Is(err, ErrStartFailed) || errors.Is(err, ErrStopFailed) {
				t.Fatalf("err = %v, want ErrStartFailed only", err)
			}
			var se *StartError
			if !errors.As(err, &se) {
				t.Fatalf("err %T is not a *StartError", err)
			}
			if se.Resource != tc.failed || se.Result.ExitCode != tc.wantRC || se.Result.TimedOut != tc.timedOut {
				t.Errorf("StartError names %s rc %d timedOut %v; want %s rc %d timedOut %v",
					se.Resource, se.Result.ExitCode, se.Result.TimedOut, tc.failed, tc.wantRC, tc.timedOut)
			}
			if got := f.ops(false); !slices.Equal(got, tc.wantOps) {
				t.Errorf("ran %q, want %q", got, tc.wantOps)
			}
			for _, n := range tc.specs {
				name := strings.Split(n, "::")[0]
				if f.exists(name + ".on") {
					t.Errorf("%s still runs after the rollback", name)
				}
			}
			msg := err.Error()
			for _, w := range append([]string{tc.failed, filepath.Join(f.dir, "resource.d", strings.Split(tc.failed, "::")[0])}, tc.wantLines...) {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q: %s", w, msg)
				}
			}
			text := f.log.text()
			crit, ok := f.log.find("Giving up resources due to failure of " + tc.failed)
			if !ok || logging.LevelWord(crit.level) != "CRIT" {
				t.Errorf("no CRIT Giving up line:\n%s", text)
			}
			if !tc.timedOut && !strings.Contains(text, "ERROR: Return code 7 from "+filepath.Join(f.dir, "resource.d", strings.Split(tc.failed, "::")[0])) {
				t.Errorf("no Return code line:\n%s", text)
			}
			if tc.timedOut && !strings.Contains(text, "timed out after") {
				t.Errorf("no timeout line:\n%s", text)
			}
			for _, w := range tc.wantLines {
				if !strings.Contains(text, "ERROR: Last output of") || !strings.Contains(text, w) {
					t.Errorf("log lacks the output line %q:\n%s", w, text)
				}
			}
		})
	}
}

func TestStopFailure(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(f *fixture)
		wantErr    bool
		wantOps    []string
		wantInLog  []string
		wantReason string
	}{
		{
			name: "stop fails but the resource stopped: probably not LSB",
			setup: func(f *fixture) {
				f.set("B.failstop", "")
				f.set("B.stopanyway", "")
			},
			wantOps: []string{"C stop", "B stop", "B stop", "B stop", "A stop"},
			wantInLog: []string{
				"info: Retrying failed stop operation [B]",
				"ERROR: Resource script for B probably not LSB-compliant.",
				"WARN: it (B) MUST succeed on a stop when already stopped",
			},
		},
		{
			name:       "stop fails and the resource still runs: blocked",
			setup:      func(f *fixture) { f.set("B.failstop", "") },
			wantErr:    true,
			wantOps:    []string{"C stop", "B stop", "B stop", "B stop"},
			wantReason: `status output says "running"`,
			wantInLog: []string{
				"CRIT: Resource STOP failure: B:",
				"exit code 5 after 3 attempt(s)",
				`last output: "cannot stop B"`,
				"CRIT: Manual intervention required: B may still run here; the group A stays held by node1 and will not be started elsewhere.",
			},
		},
		{
			name: "silent status with exit code 0 is not proof of a stop",
			setup: func(f *fixture) {
				f.set("B.failstop", "")
				f.set("B.stopanyway", "")
				f.set("B.silentstatus", "")
			},
			wantErr:    true,
			wantOps:    []string{"C stop", "B stop", "B stop", "B stop"},
			wantReason: "exit code is 0",
			wantInLog:  []string{"CRIT: Resource STOP failure: B:"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "A", "B", "C")
			g := f.group("A", "B", "C")
			r := f.runner()
			if err := r.Start(context.Background(), g); err != nil {
				t.Fatal(err)
			}
			os.Remove(f.rec)
			tc.setup(f)
			err := r.Stop(context.Background(), g)
			if got := f.ops(false); !slices.Equal(got, tc.wantOps) {
				t.Errorf("ran %q, want %q", got, tc.wantOps)
			}
			text := f.log.text()
			for _, w := range tc.wantInLog {
				if !strings.Contains(text, w) {
					t.Errorf("log lacks %q:\n%s", w, text)
				}
			}
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("Stop: %v", err)
				}
				return
			}
			var se *StopError
			if !errors.Is(err, ErrStopFailed) || !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *StopError", err)
			}
			if se.Resource != "B" || se.Attempts != 3 || se.Result.ExitCode != 5 || !strings.Contains(se.Reason, tc.wantReason) {
				t.Errorf("StopError %+v", se)
			}
			for _, w := range []string{"B", "exit code 5", "stays held by node1"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if !f.exists("A.on") {
				t.Errorf("A was stopped although B, to its right, is stuck")
			}
		})
	}
}

func TestStopFailureReboot(t *testing.T) {
	f := newFixture(t, "A")
	marker := filepath.Join(f.ctl, "rebooted")
	f.opts.OnStopFailure = StopFailureReboot
	f.opts.RebootCommand = []string{"/bin/sh", "-c", `echo "$0 $1" > "$CTL/rebooted"`, "reboot", "-nf"}
	f.opts.StopRetries = -1
	r := f.runner()
	g := f.group("A")
	if err := r.Start(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	f.set("A.failstop", "")
	err := r.Stop(context.Background(), g)
	if !errors.Is(err, ErrStopFailed) {
		t.Fatalf("err = %v, want ErrStopFailed", err)
	}
	b, rerr := os.ReadFile(marker)
	if rerr != nil || strings.TrimSpace(string(b)) != "reboot -nf" {
		t.Errorf("reboot command did not run (%v, %q)", rerr, b)
	}
	if got := f.ops(false); !slices.Equal(got, []string{"A start", "A stop"}) {
		t.Errorf("ran %q: StopRetries -1 means one stop run", got)
	}
	if !strings.Contains(f.log.text(), "CRIT: Resource STOP failure. Reboot required!") {
		t.Errorf("log:\n%s", f.log.text())
	}
}

func TestRollbackStopFailureIsBoth(t *testing.T) {
	f := newFixture(t, "A", "B")
	f.set("A.failstop", "")
	f.set("B.failstart", "")
	r := f.runner()
	err := r.Start(context.Background(), f.group("A", "B"))
	if !errors.Is(err, ErrStartFailed) || !errors.Is(err, ErrStopFailed) {
		t.Fatalf("err = %v; want ErrStartFailed and ErrStopFailed", err)
	}
	if !strings.Contains(err.Error(), "rollback failed") {
		t.Errorf("error: %v", err)
	}
}

// TestCancelKillsAndRollsBack: a start whose context ends kills the
// running script and stops what had started, right to left. Ended with
// ErrStopping (the daemon stops in order), nothing of it is logged as an
// error; ended otherwise, the interrupted script and the acquisition are.
func TestCancelKillsAndRollsBack(t *testing.T) {
	tests := []struct {
		name      string
		cause     error // nil: a plain cancel (context.Canceled)
		errorLogs bool
	}{
		{"cancelled", nil, true},
		{"stopping in order", ErrStopping, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "A", "B")
			f.set("B.slowstart", "30")
			r := f.runner()
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			done := make(chan error, 1)
			go func() { done <- r.Start(ctx, f.group("A", "B")) }()
			f.waitOp("B start", 1) // cancel B's start, not A's
			cancel(tt.cause)
			canceled := time.Now()
			err := <-done
			if took := time.Since(canceled); took > 3*time.Second {
				t.Errorf("Start took %v after cancel", took)
			}
			cause := context.Canceled
			if tt.cause != nil {
				cause = tt.cause
			}
			if !errors.Is(err, ErrStartFailed) || !errors.Is(err, cause) {
				t.Fatalf("err = %v; want ErrStartFailed wrapping %v", err, cause)
			}
			want := []string{"A start", "B start", "B stop", "A stop"}
			if got := f.ops(false); !slices.Equal(got, want) {
				t.Errorf("ran %q, want %q", got, want)
			}
			var errs []string
			for _, e := range f.log.all() {
				if e.level <= logrus.ErrorLevel {
					errs = append(errs, e.line)
				}
			}
			if e, ok := f.log.find("interrupted at B"); !ok {
				t.Errorf("no line says the acquisition was interrupted:\n%s", f.log.text())
			} else if tt.errorLogs != (e.level == logrus.ErrorLevel) {
				t.Errorf("%q logged at %s", e.line, e.level)
			}
			if tt.errorLogs != (len(errs) > 0) {
				t.Errorf("error lines %q; want some: %v", errs, tt.errorLogs)
			}
		})
	}
}

func TestSameGroupSerialized(t *testing.T) {
	f := newFixture(t, "A")
	f.set("A.slowstart", "0.3")
	r := f.runner()
	g := f.group("A")
	done := make(chan error, 1)
	go func() { done <- r.Start(context.Background(), g) }()
	f.waitOp("A start", 1) // the start holds the group
	if err := r.Stop(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := []string{"A start", "A stop"}
	if got := f.ops(false); !slices.Equal(got, want) {
		t.Errorf("ran %q, want %q", got, want)
	}
	if f.exists("A.on") {
		t.Errorf("A runs after start then stop")
	}
	// A busy group's lock gives up with ctx: a start that hangs until it
	// is canceled holds the group.
	f.set("A.slowstart", "30")
	startCtx, stopStart := context.WithCancel(context.Background())
	defer stopStart()
	go func() { done <- r.Start(startCtx, g) }()
	f.waitOp("A start", 2)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := r.Stop(ctx, g); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stop on a busy group: %v", err)
	}
	stopStart()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("the hanging start, canceled: %v", err)
	}
}
