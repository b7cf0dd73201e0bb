package daemon

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/logging"
	"github.com/hbdproject/hbd/hbd/testenv"
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
			buf := &testenv.LockedBuffer{}
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

// A ucast link whose only line names this node's own address sends
// nothing. The daemon warns of it only when ha.cf lists a peer, which
// then never hears this node; a node listed alone (a one-node cluster)
// says it at info level, and no WARN of the media is logged.
func TestReceiveOnlyWarnsOnlyWithPeers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nodes []string
		warn  bool
	}{
		{"one node", []string{"node1"}, false},
		{"two nodes", []string{"node1", "node2"}, true},
		{"three nodes", []string{"node1", "node2", "node3"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			probe, err := net.ListenUDP("udp4", &net.UDPAddr{})
			if err != nil {
				t.Fatal(err)
			}
			port := probe.LocalAddr().(*net.UDPAddr).Port
			probe.Close()
			cfg := loopConfig(tc.nodes...)
			cfg.Media = []config.Medium{{Kind: config.Ucast, Iface: "lo", Addr: netip.MustParseAddr("127.0.0.1"), Port: port}}
			d, _, buf := newTestDaemon(t, cfg, &fakeRunner{})
			ls, err := d.openLinks(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer ls.Close()
			if err := d.log.Sync(); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if !strings.Contains(out, "(receive only)") {
				t.Fatalf("log %q does not say the link is receive only", out)
			}
			if warned := strings.Contains(out, "WARN: ucast: started"); warned != tc.warn {
				t.Errorf("warned %v, want %v: %q", warned, tc.warn, out)
			}
			if !tc.warn && strings.Contains(out, "WARN") {
				t.Errorf("a WARN logged for a one-node cluster: %q", out)
			}
		})
	}
}
