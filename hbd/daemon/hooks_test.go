package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHeartbeatHandler(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, script string
		want         bool
	}{
		// The shape of the heartbeat package's rc.d/ask_resources.
		{"heartbeat's own", "#!/bin/sh\n. /etc/ha.d/shellfuncs\n$HA_NOARCHBIN/ResourceManager takegroup $1\n", true},
		{"mach_down caller", "#!/bin/sh\n$HA_BIN/mach_down $HA_src\n", true},
		{"an operator's hook", "#!/bin/sh\necho \"$HA_src is $HA_st\" | mail -s heartbeat ops@example.org\n", false},
		{"missing", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			if tc.script != "" {
				if err := os.WriteFile(p, []byte(tc.script), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if got := heartbeatHandler(p); got != tc.want {
				t.Errorf("heartbeatHandler = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestHooksBounded: per event at most hookLimit hooks run at a time and
// hookQueue wait; the rest are dropped and the drop count is logged, at
// most once per hookLogEvery. Other events have their own bound.
func TestHooksBounded(t *testing.T) {
	lg, buf := testLogger()
	var wg sync.WaitGroup
	h := newHooks(context.Background(), t.TempDir(), &wg, lg)
	now := time.Unix(1000, 0)
	h.now = func() time.Time { return now }

	release := make(chan struct{})
	var mu sync.Mutex
	calls := map[string]int{}
	running, peak := 0, 0
	run := func(_ context.Context, event string, fields map[string]string) error {
		mu.Lock()
		calls[event]++
		running++
		peak = max(peak, running)
		mu.Unlock()
		<-release
		mu.Lock()
		running--
		mu.Unlock()
		return nil
	}
	const n = hookLimit + hookQueue + 5
	for i := 0; i < n; i++ {
		h.run(run, "ip-request", map[string]string{"seq": strconv.Itoa(i)})
	}
	h.run(run, "status", map[string]string{"st": "dead"})
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return calls["ip-request"] == hookLimit && calls["status"] == 1
	})
	if got := strings.Count(buf.String(), "hook run(s) dropped"); got != 1 {
		t.Errorf("%d drop lines after the first drops, want 1:\n%s", got, buf)
	}
	if !strings.Contains(buf.String(), "rc.d/ip-request: 1 hook run(s) dropped") {
		t.Errorf("first drop line does not say 1 dropped:\n%s", buf)
	}
	now = now.Add(hookLogEvery)
	h.run(run, "ip-request", nil) // dropped too: the line says 5 in all
	if !strings.Contains(buf.String(), "rc.d/ip-request: 5 hook run(s) dropped") {
		t.Errorf("no line with the 5 drops since the first line:\n%s", buf)
	}
	close(release)
	wg.Wait()
	if calls["ip-request"] != hookLimit+hookQueue || calls["status"] != 1 {
		t.Errorf("ran %v, want %d ip-request and 1 status", calls, hookLimit+hookQueue)
	}
	if peak > hookLimit+1 {
		t.Errorf("%d hooks ran at once, want at most %d per event", peak, hookLimit)
	}
}

// TestHooksSkipHeartbeatHandler: Heartbeat's own rc.d handler is not run,
// and said so once.
func TestHooksSkipHeartbeatHandler(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "rc.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rc.d", "ask_resources"), []byte("#!/bin/sh\n$HA_NOARCHBIN/ResourceManager takegroup $1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	lg, buf := testLogger()
	var wg sync.WaitGroup
	h := newHooks(context.Background(), dir, &wg, lg)
	ran := 0
	run := func(context.Context, string, map[string]string) error { ran++; return nil }
	for i := 0; i < 3; i++ {
		h.run(run, "ask_resources", nil)
		wg.Wait()
	}
	if ran != 0 {
		t.Errorf("Heartbeat's handler ran %d times", ran)
	}
	if got := strings.Count(buf.String(), "Not running rc.d/ask_resources"); got != 1 {
		t.Errorf("said %d times that it is not run, want once:\n%s", got, buf)
	}
}
