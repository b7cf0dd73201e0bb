package cluster

import (
	"strings"
	"testing"
	"time"
)

// TestLogLinesClipPeerText: a log line that quotes what a peer sent (an
// unknown node's name, a status, a node list, a malformed setting)
// quotes at most maxLoggedText bytes of it and says how long it was: a
// datagram's worth of text per message must not reach the log.
func TestLogLinesClipPeerText(t *testing.T) {
	long := strings.Repeat("y", 5000)
	cases := []struct {
		name string
		kv   []string
		src  string // the sender, if not node2
		want string // the start of the line
	}{
		{"unknown node", []string{"t", "status", "st", "up"}, "node" + long, "ERROR: process_status_message: bad node [nodeyyy"},
		{"status", []string{"t", "status", "st", long}, "", "info: Status update for node node2: status yyy"},
		{"node list", []string{"dest", "node1", "t", "repnodes", "nodelist", "node1 node2 " + long, "delnodelist", " "}, "", "WARN: node2 lists the nodes [node1 node2 yyy"},
		{"malformed setting", []string{"t", "resource", "rsc_hold", "none", "rtype", "full", "isstable", "1", "hbd_held", "", "hbd_settings", "disabled:1:zz:node2:" + long}, "", "WARN: Settings from node2 ignored: setting \"disabled:1:zz:node2:yyy"},
		{"quiet interval", []string{"t", "status", "st", "active", "hbd_quiet", long}, "", "WARN: node2 says it sends its status every \"yyy"},
		{"setting", []string{"t", "resource", "rsc_hold", "none", "rtype", "full", "isstable", "1", "hbd_held", "", "hbd_settings", "disabled:1:1:node2:" + long[:MaxSettingName]}, "", "info: Setting from node2: resource group yyy"},
		{"over-long setting", []string{"t", "resource", "rsc_hold", "none", "rtype", "full", "isstable", "1", "hbd_held", "", "hbd_settings", "disabled:1:1:node2:" + long}, "", "WARN: Settings from node2: 1 refused (a name of 5000 bytes (at most 4096): \"disabled:1:1:node2:yyy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := joined(t)
			at := t0.Add(time.Second)
			advanceTo(n, at)
			m := peerMsg(gen2, 4, at, tc.kv...)
			if tc.src != "" {
				m.Set("src", tc.src)
			}
			var found bool
			for _, l := range logs(n.Step(Receive{Now: at, Link: "eth0", Msg: m})) {
				if len(l) > 2*maxLoggedText+100 {
					t.Errorf("a line of %d bytes: %.200s", len(l), l)
				}
				if strings.HasPrefix(l, tc.want) {
					found = true
					if !strings.Contains(l, "bytes)") {
						t.Errorf("the line does not say how long the text was: %s", l)
					}
				}
			}
			if !found {
				t.Errorf("no line starting %q", tc.want)
			}
		})
	}
}
