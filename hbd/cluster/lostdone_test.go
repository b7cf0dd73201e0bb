package cluster

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	doneSent    = regexp.MustCompile(`(?m)^\+([0-9.]+)s node1 send t=ask_resources rsc_hold=all info=done$`)
	node2Starts = regexp.MustCompile(`(?m)^\+([0-9.]+)s node2 START web$`)
	node2Holds  = regexp.MustCompile(`(?m)^web: holder=node2 state=starting `)
)

// TestLostDoneStartWaits runs testdata/lostdone.txt at other timings
// (its outputs, written at keepalive 1 s, are not compared): a standby's
// done lost for good keeps the group from starting on the node it was
// handed to no longer than it takes to see the gap (the peer's next
// message, within a keepalive), ask for the seq RexmitPatience times and
// have the peer announce again: not until the missing seq leaves the
// peer's history of HistorySize messages (its NAK), nor until the
// request's lapse (30 s at least).
func TestLostDoneStartWaits(t *testing.T) {
	const story, cluster = "testdata/lostdone.txt", "cluster nodes=node1,node2 failback=on"
	text, err := os.ReadFile(story)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), cluster+"\n") {
		t.Fatalf("%s has no line %q", story, cluster)
	}
	cases := []struct {
		keepalive, deadtime time.Duration
	}{
		{10 * time.Millisecond, 40 * time.Millisecond},
		{100 * time.Millisecond, 400 * time.Millisecond},
		{time.Second, 3 * time.Second},
		{2 * time.Second, 6 * time.Second},
	}
	for _, tc := range cases {
		name := "keepalive=" + tc.keepalive.String() + " deadtime=" + tc.deadtime.String()
		t.Run(name, func(t *testing.T) {
			res, err := runScenario(story+" at "+name, strings.Replace(string(text), cluster, cluster+" "+name, 1))
			if err != nil {
				t.Fatal(err)
			}
			done := secondsOf(t, doneSent, res.text)
			started := secondsOf(t, node2Starts, res.text)
			if !node2Holds.MatchString(res.text) {
				t.Fatalf("node2's status after the start does not show web starting there:\n%s", res.text)
			}
			wait := started - done
			bound := tc.keepalive + RexmitPatience*RexmitInterval + time.Second
			t.Logf("the start waits %v after the done", wait)
			if wait <= 0 || wait > bound {
				t.Errorf("node2 starts web %v after node1's done, want within %v:\n%s", wait, bound, res.text)
			}
		})
	}
}

// secondsOf is the time of re's first match in text, whose first group
// is the seconds of a scenario output line.
func secondsOf(t *testing.T, re *regexp.Regexp, text string) time.Duration {
	t.Helper()
	m := re.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no line matches %s:\n%s", re, text)
	}
	s, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond)
}
