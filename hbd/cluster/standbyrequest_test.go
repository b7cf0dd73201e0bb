package cluster

import (
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
)

// TestStaleStandbyRequest: an hbd peer's ask_resources info=me that
// arrives after a later message of the peer's that ends that handoff (a
// request resent late, or reordered) is not answered: answered, it would
// leave this node waiting for a done that never comes, starting none of
// the peer's groups meanwhile. A request newer than those messages is
// answered as ever. seqs are the peer's, in the order they arrive.
func TestStaleStandbyRequest(t *testing.T) {
	const me, stable, unstable, done = "me", "stable", "unstable", "done"
	cases := []struct {
		name   string
		order  []string // the messages in the order they arrive
		seqs   []uint64 // their seqs
		answer bool     // the last one, info=me, is answered
	}{
		{"after a newer announcement saying isstable=1", []string{stable, me}, []uint64{11, 10}, false},
		{"newer than the announcement saying isstable=1", []string{stable, me}, []uint64{10, 11}, true},
		{"after a newer isstable=1, itself overtaken by isstable=0", []string{unstable, stable, me}, []uint64{12, 11, 10}, false},
		{"after its done", []string{done, me}, []uint64{11, 10}, false},
		{"after a newer request", []string{me, me}, []uint64{11, 10}, false},
		{"after an older request", []string{me, me}, []uint64{10, 11}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := joinWithHeartbeat(t, "node2", config.FailbackOn)
			h.at(2 * time.Second)
			var acts []Action
			for i, what := range tc.order {
				kv := []string{"t", "resource", "rsc_hold", "none", "rtype", "full", "isstable", "1",
					"hbd_held", "", "hbd_standby", "", "hbd_failed", "", "hbd_want", webKey + ">node2"}
				switch what {
				case unstable:
					kv[7] = "0"
				case me, done:
					kv = []string{"t", "ask_resources", "rsc_hold", "all", "info", what}
				}
				acts = h.n.Step(Receive{Now: h.now, Link: "eth0", Msg: peerMsg(gen2, tc.seqs[i], h.now, kv...)})
			}
			answered := len(heartbeatFields(acts, "ask_resources")) > 0
			if answered != tc.answer {
				t.Errorf("the last request answered: %v, want %v: %q", answered, tc.answer, render(acts))
			}
			if ignored := has(logs(acts), "info: Ignored standby request [all] from node2: its later messages say that handoff is over"); ignored == tc.answer {
				t.Errorf("logged as ignored: %v, want %v: %q", ignored, !tc.answer, logs(acts))
			}
		})
	}
}

// A Heartbeat node2 holds node1's group and goes standby for it (as in
// TestHeartbeatHolderFailsBackToHbd), but its ask_resources info=done is
// lost for good. Its rsc_hold drops the group before its release, so
// node1 may not start on it: its isstable=1 in the middle of the standby
// ends nothing, and the request holds the group back until Heartbeat's
// own standby timeout (an hour); then node1 starts it, node2 still
// alive and holding nothing by its word.
func TestHeartbeatStandbyLapses(t *testing.T) {
	h := heartbeatHolder(t)
	n := h.n
	served := h.now
	acts := h.send("t", "ask_resources", "rsc_hold", "foreign", "info", "me")
	if got := heartbeatFields(acts, "ask_resources"); len(got) != 1 || got[0] != "t=ask_resources rsc_hold=foreign info=other" {
		t.Fatalf("answer: %q", got)
	}
	h.at(800 * time.Millisecond)
	h.send("t", "resource", "rsc_hold", "local", "rtype", "full", "isstable", "0", "info", "standby")
	h.at(900 * time.Millisecond)
	h.send("t", "resource", "rsc_hold", "local", "rtype", "full", "isstable", "1")

	// node2 lives on (a status every second) and its done never comes.
	var started time.Time
	var lapsed bool
	for d := time.Second; started.IsZero() && d <= heartbeatStandbyLapse+10*time.Second; d += time.Second {
		h.at(d)
		acts := h.send("t", "status", "st", "active", "dt", "bb8", "protocol", "1")
		acts = append(acts, n.Step(Tick{Now: h.now, Load: testLoad})...)
		lapsed = lapsed || has(logs(acts), "WARN: No reply to standby request of node2 [foreign]: its done did not come; standby request cancelled")
		if hasAction(acts, StartGroup{Group: webKey}) {
			started = h.now
		}
	}
	switch {
	case started.IsZero():
		t.Fatalf("node1 never started the group: the request without its done blocks it for ever")
	case started.Before(served.Add(heartbeatStandbyLapse)):
		t.Fatalf("node1 started the group %v after the request, before Heartbeat's standby timeout (%v)", started.Sub(served), heartbeatStandbyLapse)
	case started.After(served.Add(heartbeatStandbyLapse + 2*time.Second)):
		t.Errorf("node1 started the group %v after the request, long after the timeout (%v)", started.Sub(served), heartbeatStandbyLapse)
	}
	if !lapsed {
		t.Errorf("the request lapsed without its log line")
	}
}
