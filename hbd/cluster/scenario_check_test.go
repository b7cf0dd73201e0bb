package cluster

import (
	"strings"
	"testing"
)

// scenHead is a valid start of a scenario (lines 1-7) for the cases below.
const scenHead = `cluster nodes=node1,node2
group node1 web
----

start node1
----
actions:
+0.000s node1 PROBE web
`

// TestScenarioMistakes: a word the harness does not know is an error
// naming the line, never a default.
func TestScenarioMistakes(t *testing.T) {
	for _, c := range []struct {
		name, text, want string
	}{
		{"unknown command", scenHead + "\nstandy node1\n----\n", "x.txt:10: unknown command \"standy\""},
		{"unknown cluster key", "cluster nodes=node1,node2 failbak=on\n----\n", "x.txt:1: unknown cluster setting \"failbak=on\""},
		{"unknown failback", "cluster nodes=node1,node2 failback=yes\n----\n", "x.txt:1: unknown failback \"yes\""},
		{"unknown quorum", "cluster nodes=node1,node2 quorum=maybe\n----\n", "x.txt:1: unknown quorum \"maybe\""},
		{"no nodes", "cluster failback=on\n----\n", "x.txt:1: cluster needs nodes"},
		{"bad group line", "cluster nodes=node1,node2\ngroup node1\n----\n", "x.txt:2: want group"},
		{"bad failure_timeout", "cluster nodes=node1,node2\ngroup node1 web failure_timeout=20\n----\n", "x.txt:2: bad duration \"20\""},
		{"unknown group setting", "cluster nodes=node1,node2\ngroup node1 web failure_timout=20s\n----\n", "x.txt:2: unknown group setting"},
		{"bad tick", scenHead + "\ntick 1\n----\n", "x.txt:10: bad duration \"1\""},
		{"negative tick", scenHead + "\ntick -1s\n----\n", "x.txt:10: duration \"-1s\" is not positive"},
		{"tick without duration", scenHead + "\ntick\n----\n", "x.txt:10: tick takes 2 to 2 words, not 1"},
		{"unknown result", scenHead + "\nprobe node1 web stoped\n----\n", "x.txt:10: unknown probe result \"stoped\""},
		{"done answering a probe", scenHead + "\ndone node1 web ok\n----\n", "x.txt:10: the operation of web pending on node1 is a probe"},
		{"nothing pending", scenHead + "\nprobe node1 db stopped\n----\n", "x.txt:10: no operation of db pending on node1"},
		{"unknown node", scenHead + "\nkill node3\n----\n", "x.txt:10: no node \"node3\""},
		{"node not started", scenHead + "\nstatus node2\n----\n", "x.txt:10: node2 does not run"},
		{"started twice", scenHead + "\nstart node1\n----\n", "x.txt:10: node1 runs already"},
		{"unknown operator command", scenHead + "\ncmd node1 standbye\n----\n", "x.txt:10: unknown operator command \"standbye\""},
		{"unknown reload key", scenHead + "\nreload node1 deadtme=5s\n----\n", "x.txt:10: unknown reload setting \"deadtme=5s\""},
		{"bad reload duration", scenHead + "\nreload node1 deadtime=five\n----\n", "x.txt:10: bad duration \"five\""},
		{"bad reload line", scenHead + "\nreload node1\ngrop node1 web\n----\n", "x.txt:11: want group"},
		{"extra line", scenHead + "\ntick 1s\ntick 2s\n----\n", "x.txt:11: tick takes no more lines"},
		{"command before cluster", "start node1\n----\n", "x.txt:1: start before cluster"},
		{"no separator", scenHead + "\ntick 1s\n", "x.txt:10: block \"tick 1s\" has no ---- line"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := runScenario("x.txt", c.text)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}

// TestScenarioRewriteCheck: a scenario whose output or layout differs from
// what -rewrite writes is told apart from one that matches.
func TestScenarioRewriteCheck(t *testing.T) {
	for _, c := range []struct {
		name, text string
		mismatch   bool // a block's output differs
		same       bool // -rewrite leaves the text as it is
	}{
		{"as written", scenHead, false, true},
		{"output differs", strings.Replace(scenHead, "PROBE", "START", 1), true, false},
		{"output missing", strings.TrimSuffix(scenHead, "actions:\n+0.000s node1 PROBE web\n"), true, false},
		{"trailing blank lines", scenHead + "\n\n", false, false},
		{"no final newline", strings.TrimSuffix(scenHead, "\n"), false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := runScenario("x.txt", c.text)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(res.mismatches) > 0; got != c.mismatch {
				t.Errorf("mismatch %v, want %v: %q", got, c.mismatch, res.mismatches)
			}
			if got := res.text == c.text; got != c.same {
				t.Errorf("rewrite leaves the text as it is: %v, want %v (%s)", got, c.same, firstDifference(res.text, c.text))
			}
		})
	}
}
