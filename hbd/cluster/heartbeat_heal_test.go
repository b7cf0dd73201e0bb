package cluster

import (
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
)

// A partition between node1 (hbd) and a Heartbeat node2 that prefers the
// group: node1 takes it over; the partition heals and node2, back, still
// holds it. Heartbeat 3.0.6 answers the end of a partition by giving up
// every group and restarting, so node1 keeps its copy (and announces it
// again) instead of releasing it to the preferred node; if node2 never
// gives up (it did not see node1 die: a one-way cut), node1 releases
// after heartbeatGiveUpWait, as the keeper rule says.
func TestHeartbeatPeerBackFromPartition(t *testing.T) {
	cases := []struct {
		name    string
		givesUp bool
	}{
		{"gives up and restarts", true},
		{"never gives up", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, _ := joinWithHeartbeat(t, "node2", config.FailbackOn)
			n := h.n
			h.send("t", "resource", "rsc_hold", "local", "rtype", "full", "isstable", "1")

			// The partition: node2 silent for deadtime (3 s); node1 takes over.
			var acts []Action
			for d := time.Second; d <= 5*time.Second && !hasAction(acts, StartGroup{Group: webKey}); d += 500 * time.Millisecond {
				acts = n.Step(Tick{Now: t0.Add(d), Load: testLoad})
			}
			if !hasAction(acts, StartGroup{Group: webKey}) {
				t.Fatalf("node1 did not take the group over: %q", render(acts))
			}
			n.Step(OpDone{Now: t0.Add(5 * time.Second), Group: webKey, Op: OpStart, Result: ResultOK})
			for d := 5500 * time.Millisecond; d < 8*time.Second; d += 500 * time.Millisecond {
				n.Step(Tick{Now: t0.Add(d), Load: testLoad})
			}

			// The heal: node2 is heard again in the same run, holding the group.
			h.at(8 * time.Second)
			acts = append(h.send("t", "status", "st", "active", "dt", "1388", "protocol", "1"),
				h.send("t", "resource", "rsc_hold", "local", "rtype", "full", "isstable", "1")...)
			acts = append(acts, n.Step(Tick{Now: h.now, Load: testLoad})...)
			wantIn(t, logs(acts), "CRIT: Cluster node node2 returning after partition.")
			if hasAction(acts, StopGroup{Group: webKey}) {
				t.Fatalf("node1 released its copy while node2 is about to give everything up: %q", render(acts))
			}
			if !hasAction(acts, Reannounce{Group: webKey}) {
				t.Errorf("node1 keeps the group but does not announce it again: %q", render(acts))
			}

			// Heartbeat's status every second; its shutdown if it gives up.
			var stopped, reannounced bool
			for d := 9 * time.Second; d <= 20*time.Second; d += time.Second {
				h.at(d)
				acts = h.send("t", "status", "st", "active", "dt", "1388", "protocol", "1")
				if c.givesUp && d == 10*time.Second {
					acts = append(acts, h.send("t", "resource", "rsc_hold", "none", "rtype", "full", "isstable", "0", "info", "shutdown")...)
				}
				if c.givesUp && d == 11*time.Second {
					acts = append(acts, h.send("t", "shutdone", "st", "dead")...)
				}
				acts = append(acts, n.Step(Tick{Now: h.now, Load: testLoad})...)
				if hasAction(acts, StopGroup{Group: webKey}) {
					stopped = true
					if !c.givesUp && d < 18*time.Second {
						t.Errorf("released at +%s, before the wait (10 s after the heal) ran out", d)
					}
				}
				reannounced = reannounced || hasAction(acts, Reannounce{Group: webKey})
				if c.givesUp && d == 11*time.Second {
					break // it restarts now: a new generation, failback
				}
			}
			if stopped == c.givesUp {
				t.Errorf("node1 released its copy: %v, want %v", stopped, !c.givesUp)
			}
			if c.givesUp && !reannounced {
				t.Errorf("node1 did not announce the group again once node2 had given it up")
			}
		})
	}
}
