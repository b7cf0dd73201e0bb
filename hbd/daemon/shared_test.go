package daemon

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/logging"
)

// The warning of a ucast address shared with another process says what
// it costs (the two may not hear each other) and names the line without
// a LOCAL address, when there is one.
func TestWarnSharedNamesTheLineWithoutLocal(t *testing.T) {
	withLocal := loMedium(694)
	withLocal.Pos = config.Pos{File: "/etc/ha.d/ha.cf", Line: 8}
	without := withLocal
	without.Local = netip.Addr{}
	without.Pos.Line = 9
	for _, tc := range []struct {
		name  string
		media []config.Medium
		where string
	}{
		{"one line without LOCAL", []config.Medium{withLocal, without}, " (/etc/ha.d/ha.cf:9: no LOCAL address):"},
		{"every line with LOCAL", []config.Medium{withLocal}, ":"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf := &logBuffer{}
			lg, err := logging.New(logging.Options{Outputs: logging.Outputs{Debug: 1}, Stderr: buf})
			if err != nil {
				t.Fatal(err)
			}
			(&Daemon{log: lg}).warnShared(tc.media)
			out := buf.String()
			for _, want := range []string{"WARN: heartbeat media: another process's sockets share a ucast address and port of this node" + tc.where, "may not hear each other", "ucast IFACE PEER LOCAL", "every heartbeat wakes the daemon"} {
				if !strings.Contains(out, want) {
					t.Errorf("log %q does not say %q", out, want)
				}
			}
			if n := strings.Count(out, "\n"); n != 1 {
				t.Errorf("%d lines logged, want 1: %q", n, out)
			}
		})
	}
}
