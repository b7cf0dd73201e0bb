package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
)

// TestWatchConfigWaitsForQuiet: a burst of writes is reported once, only
// after the files have stayed unchanged for the quiet period.
//
// The times are the test's own: it may be held up on a loaded machine,
// so each check takes the bound that holds whatever the scheduler did.
// A time is read before the write it stands for (the watcher's quiet
// period cannot begin earlier) and a report's time when it is received
// (it was sent no later). A report during the burst is a bug when no
// pause between writes can have lasted the quiet period; when one may
// have (the test was held up), the watcher was right to report and the
// burst is tried again.
func TestWatchConfigWaitsForQuiet(t *testing.T) {
	untilTold(t, "for a quiet period during the burst", watchBurst)
}

// watchBurst writes a burst to a watched directory and checks how it is
// reported; false when the burst had a pause of the quiet period (the
// machine held the test up), which proves nothing either way.
func watchBurst(t *testing.T) bool {
	t.Helper()
	const (
		quiet  = 200 * time.Millisecond
		every  = quiet / 4
		writes = 8
	)
	dir := t.TempDir()
	hacf := filepath.Join(dir, config.HaCfFile)
	write := func(s string) (before, after time.Time) {
		t.Helper()
		before = time.Now()
		if err := os.WriteFile(hacf, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return before, time.Now()
	}
	write("keepalive 1\n")
	out := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lg, buf := testLogger()
	go watchConfig(ctx, dir, watchTiming{quiet: quiet, poll: time.Hour}, nil, out, lg)
	waitFor(t, func() bool { return strings.Contains(buf.String(), "Watching "+dir+" for edits") })

	var (
		last    time.Time     // before the latest write began
		longest time.Duration // the longest the files can have stayed unchanged between two writes
	)
	for i := 0; i < writes; i++ {
		before, after := write("keepalive " + strings.Repeat("1", i+2) + "ms\n")
		if i > 0 {
			longest = max(longest, after.Sub(last))
		}
		last = before
		select {
		case <-out:
			if max(longest, time.Since(last)) >= quiet {
				return false
			}
			t.Fatalf("reported after write %d, while the files were still being written (never unchanged for %s, the quiet period)", i+1, max(longest, time.Since(last)).Round(time.Millisecond))
		case <-time.After(every):
		}
	}
	select {
	case <-out:
		if since := time.Since(last); since < quiet {
			t.Errorf("reported %s after the last write, want at least the quiet period %s", since, quiet)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the burst was never reported")
	}
	select {
	case <-out:
		t.Error("the burst was reported twice")
	case <-time.After(3 * quiet):
	}
	return true
}

func TestRemovalHold(t *testing.T) {
	t0 := time.Unix(1000, 0)
	const quiet = time.Second
	type step struct {
		at      time.Duration
		removed []string
		ok      bool
		first   bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"no group removed: at once", []step{{0, nil, true, false}}},
		{"removed: held for a quiet period", []step{
			{0, []string{"web"}, false, true},
			{500 * time.Millisecond, []string{"web"}, false, false},
			{time.Second, []string{"web"}, true, false},
		}},
		{"back before the period: the hold ends, nothing stops", []step{
			{0, []string{"web"}, false, true},
			{500 * time.Millisecond, nil, true, false},
			{time.Second, []string{"web"}, false, true},
		}},
		{"another group gone: its own period", []step{
			{0, []string{"web"}, false, true},
			{900 * time.Millisecond, []string{"db", "web"}, false, true},
			{1500 * time.Millisecond, []string{"db", "web"}, false, false},
			{1900 * time.Millisecond, []string{"db", "web"}, true, false},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h removalHold
			for i, s := range tc.steps {
				ok, first, wait := h.ready(s.removed, t0.Add(s.at), quiet)
				if ok != s.ok || first != s.first {
					t.Fatalf("step %d (%v at %s): ok %v first %v, want %v %v", i, s.removed, s.at, ok, first, s.ok, s.first)
				}
				if !ok && (wait <= 0 || wait > quiet) {
					t.Errorf("step %d: wait %s", i, wait)
				}
			}
		})
	}
}

// TestEditRemovingGroupHeld: an edit that removes a group is held, and
// the daemon asks itself to reload again when the quiet period is over;
// then it applies.
func TestEditRemovingGroupHeld(t *testing.T) {
	cfg := loopConfig("node1")
	cfg.Groups = []config.Group{{Preferred: "node1", Resources: []config.Resource{{Spec: "web", Name: "web"}}}}
	d, _, buf := newTestDaemon(t, cfg, &fakeRunner{})
	d.watchTiming.quiet = 100 * time.Millisecond
	next := *cfg
	next.Groups = nil
	start := time.Now()
	if d.editReady(&next, "files changed", start) {
		t.Fatal("an edit removing web applied at once")
	}
	if !strings.Contains(buf.String(), "Configuration change (files changed) held: group(s) web gone from haresources") {
		t.Errorf("the log does not say the edit is held:\n%s", buf)
	}
	select {
	case <-d.reloads:
		if since := time.Since(start); since < d.watchTiming.quiet {
			t.Errorf("asked to reload again after %s, before the quiet period", since)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no reload asked for after the quiet period")
	}
	if !d.editReady(&next, "files changed", start.Add(d.watchTiming.quiet)) {
		t.Error("the edit is still held after the quiet period")
	}
}

// TestAutoreloadOff: with autoreload off no edit is reported; turning it
// on again (a reload) watches the files again.
func TestAutoreloadOff(t *testing.T) {
	cfg := loopConfig("node1")
	cfg.NoAutoReload = true
	d, _, buf := newTestDaemon(t, cfg, &fakeRunner{})
	d.watchTiming = watchTiming{quiet: 50 * time.Millisecond, poll: 100 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hacf := filepath.Join(d.opts.ConfigDir, config.HaCfFile)
	edit := func(s string) {
		t.Helper()
		if err := os.WriteFile(hacf, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	edit("keepalive 1\n")
	d.watchEdits(ctx)
	if !strings.Contains(buf.String(), "autoreload off: edits of "+d.opts.ConfigDir+" are applied on SIGHUP only") {
		t.Errorf("the log does not say autoreload is off:\n%s", buf)
	}
	time.Sleep(50 * time.Millisecond)
	edit("keepalive 2\n")
	select {
	case <-d.reloads:
		t.Fatal("an edit was reported with autoreload off")
	case <-time.After(500 * time.Millisecond):
	}

	next := *cfg
	next.NoAutoReload = false
	d.applyConfig(ctx, &next, config.Diff(d.cfg, &next), "SIGHUP")
	time.Sleep(50 * time.Millisecond)
	edit("keepalive 3\n")
	select {
	case <-d.reloads:
	case <-time.After(5 * time.Second):
		t.Fatal("an edit was not reported with autoreload on again")
	}
}

// TestPollConfig: the loop's wake-ups have the configuration watcher
// poll every watchTiming.poll while it runs, the first time at once, and
// never block on a watcher that has not taken the last one.
func TestPollConfig(t *testing.T) {
	t0 := time.Now()
	d := &Daemon{watchTiming: defaultWatchTiming, configPolls: make(chan time.Time, 1)}
	d.pollConfig(t0) // autoreload off: no watcher
	if len(d.configPolls) != 0 {
		t.Fatal("polled with no watcher")
	}
	d.watchStop = func() {}
	for _, step := range []struct {
		at   time.Duration
		want bool
	}{
		{0, true},
		{time.Second, false},
		{reloadPoll - time.Millisecond, false},
		{reloadPoll, true},
		{reloadPoll + time.Second, false},
		{3 * reloadPoll, true},
	} {
		now := t0.Add(step.at)
		d.pollConfig(now)
		select {
		case got := <-d.configPolls:
			if !step.want || !got.Equal(now) {
				t.Errorf("at +%v: polled with %v, want a poll: %v", step.at, got, step.want)
			}
		default:
			if step.want {
				t.Errorf("at +%v: no poll", step.at)
			}
		}
	}
	d.pollConfig(t0.Add(10 * reloadPoll))
	d.pollConfig(t0.Add(20 * reloadPoll)) // the last one not taken: no block
	if len(d.configPolls) != 1 {
		t.Fatalf("%d polls pending", len(d.configPolls))
	}
}
