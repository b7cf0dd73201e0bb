//go:build linux

package ipaddr

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/netlab"
	"github.com/hbdproject/hbd/hbd/testenv"
	"github.com/hbdproject/hbd/resources/agents"
)

// TestRunHandsOverOnlyToATaker: the daemon's in-process stop of a
// planned release hands over, and has the daemon wait for it (Linger),
// only when a node will take the address (RunOptions.Taker), drained
// first (RunOptions.Drain) or not (drain_time 0). The last node of a
// cluster (no taker) removes the address and hands nothing over: a
// handover there would hold the daemon's exit for its whole bound,
// waiting for an announcement no node will send.
func TestRunHandsOverOnlyToATaker(t *testing.T) {
	lab := netlab.NewT(t, "horun")
	h := addHost(t, lab, "a", "10.231.0.1/24")
	if err := h.WaitReady(context.Background()); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "rsctmp")
	for _, tc := range []struct {
		taker string
		drain time.Duration
		hand  bool
	}{
		{"", 10 * time.Millisecond, false},
		{"node2", 10 * time.Millisecond, true},
		{"", 0, false},
		{"node2", 0, true},
	} {
		t.Run(fmt.Sprintf("taker=%q,drain=%v", tc.taker, tc.drain), func(t *testing.T) {
			var lingers []<-chan struct{}
			out := &testenv.LockedBuffer{}
			o := agents.RunOptions{StateDir: dir, Debug: true, Stdout: out, Stderr: out, Drain: tc.drain, Taker: tc.taker,
				Linger: func(done <-chan struct{}) { lingers = append(lingers, done) }}
			run := func(op string) int { return Run(context.Background(), NameIPaddr2, []string{vip4 + "/24/eth0", op}, o) }
			var start, stop, status int
			if err := h.Do(func() error {
				start, stop, status = run("start"), run("stop"), run("status")
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			for _, done := range lingers {
				select {
				case <-done:
				case <-time.After(HandoverFor + 2*time.Second):
					t.Fatalf("a handover did not end within its bound (%v)", HandoverFor)
				}
			}
			t.Logf("agent's output:\n%s", out.String())
			if start != ExitOK || stop != ExitOK || status != ExitNotRunning {
				t.Fatalf("start %d, stop %d, status after the stop %d; want %d, %d, %d", start, stop, status, ExitOK, ExitOK, ExitNotRunning)
			}
			switch {
			case !tc.hand && len(lingers) > 0:
				t.Errorf("a release with no taker: %d handovers for the daemon to wait for, want none", len(lingers))
			case !tc.hand && tc.drain > 0 && !strings.Contains(out.String(), "nothing to hand over"):
				t.Errorf("a planned release with no taker: no debug line saying that nothing is handed over")
			case tc.hand && len(lingers) != 1:
				t.Errorf("a release to a taker: %d handovers for the daemon to wait for, want 1", len(lingers))
			}
		})
	}
}
