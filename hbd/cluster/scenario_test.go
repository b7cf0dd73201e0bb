package cluster

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of the scenario files in testdata")

// TestScenarios runs the stories in testdata/*.txt (etcd raft's
// datadriven style): each block is a command, a `----` line, and the
// output the command must produce, up to a blank line. `go test
// ./hbd/cluster -run TestScenarios -rewrite` writes the actual output
// back, so a change of behaviour reads as a diff of the story. Without
// -rewrite the test fails whenever the rewrite would change a file, be it
// a block's output or only the file's layout.
//
// Commands (an unknown command, setting, value, node or group is an
// error naming the file and line):
//
//	cluster nodes=node1,node2 [failback=on|off|legacy] [failback_delay=D] [quorum=auto|on|off]
//	        [keepalive=D] [deadtime=D]                (default 1s, 3s; warntime is deadtime)
//	                                                    then one line per group:
//	group PREFERRED KEY [MORE…] [failure_timeout=D]    (the block's other lines)
//	exclusive KEY KEY [KEY…]                          (an exclusive set, first wins)
//	start NODE                 the daemon starts (probes follow)
//	probe NODE KEY running|stopped|failed [DETAIL…]   answers a pending probe
//	done NODE KEY ok|failed|stop-failed|abandoned [DETAIL…]
//	                           ends the pending start or stop
//	tick DURATION              time passes (heartbeats; every message arrives after 5 ms)
//	kill NODE                  kill -9 (nothing more is sent)
//	stop NODE                  graceful stop (SIGTERM)
//	cmd NODE standby|takeover|cleanup [WHICH]
//	cmd NODE disable|enable|clear KEY / cmd NODE move KEY [NODE]
//	cmd NODE node-standby|node-online [NODE] / cmd NODE node-fenced NODE
//	                           operator commands; the settings a node's
//	                           core persists are given to its next start
//	fail NODE KEY DETAIL…      the daemon's monitor gave the group up (GroupFailure)
//	cut NODE NODE / heal       the network between two nodes
//	resend NODE TYPE [INFO]    NODE's latest TYPE message (with that info)
//	                           again, seq and all: a retransmission another
//	                           node asked for, which every node hears
//	lose NODE NODE TYPE [INFO] from now on every copy of the first node's
//	                           TYPE messages (with that info) to the second
//	                           is lost, retransmissions included
//	status NODE                the node's groups
//	reload NODE [nodes=…] [failback=…] [keepalive=D] [deadtime=D] [warntime=D] [initdead=D] [this=NAME]
//	group PREFERRED KEY [MORE RESOURCES…]   (the block's other lines; none: groups unchanged,
//	nogroups                                 or no groups at all;
//	exclusive [KEY KEY…]                     the exclusive set, none when bare)
//	                           the node's daemon sends Reconfigure with a new
//	                           configuration (timings, failback, nodes, groups)
//
// Output: status prints the node's groups. Every other command prints
// what the nodes did in up to three sections, each in time order:
// "actions:" (START, STOP, PROBE, ABANDON, WATCH, UNWATCH, REANNOUNCE,
// FENCE, a peer's new state as PEER, HOOK, SETTINGS, GENERATIONS, EXIT),
// "log:"
// (the log lines except the membership chatter: links, status updates,
// lost packets) and "messages:" (resource and control messages, without
// heartbeats, without retransmissions of a message sent before, and
// without the fields that differ with every run or every announcement:
// sequence numbers, generations, timestamps, epochs).
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files (%v)", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			res, err := runScenario(f, string(data))
			if err != nil {
				t.Fatal(err)
			}
			if *rewrite {
				if res.text != string(data) {
					if err := os.WriteFile(f, []byte(res.text), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				return
			}
			for _, m := range res.mismatches {
				t.Error(m)
			}
			if len(res.mismatches) == 0 && res.text != string(data) {
				t.Errorf("-rewrite would change %s: %s", f, firstDifference(res.text, string(data)))
			}
		})
	}
}

// scenResult is a scenario file's run: the file as -rewrite writes it,
// and a message for every block whose output differs from the file's.
type scenResult struct {
	text       string
	mismatches []string
}

// runScenario runs the scenario text read from file. The error is a
// mistake in the scenario itself (an unknown word, a missing argument).
func runScenario(file, text string) (scenResult, error) {
	var res scenResult
	var out strings.Builder
	s := newScenario(file)
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); {
		line := lines[i]
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			out.WriteString(line + "\n")
			i++
			continue
		}
		first := i + 1 // the command's line number
		var cmd []string
		for i < len(lines) && lines[i] != "----" {
			cmd = append(cmd, lines[i])
			i++
		}
		if i == len(lines) {
			return res, fmt.Errorf("%s:%d: block %q has no ---- line", file, first, cmd[0])
		}
		i++
		var want []string
		for i < len(lines) && lines[i] != "" {
			want = append(want, lines[i])
			i++
		}
		got, err := s.run(first, cmd)
		if err != nil {
			return res, err
		}
		for _, c := range cmd {
			out.WriteString(c + "\n")
		}
		out.WriteString("----\n")
		for _, g := range got {
			out.WriteString(g + "\n")
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			res.mismatches = append(res.mismatches, fmt.Sprintf("%s:%d: %s\n got:\n%s\nwant:\n%s",
				file, first, cmd[0], strings.Join(got, "\n"), strings.Join(want, "\n")))
		}
	}
	res.text = strings.TrimRight(out.String(), "\n") + "\n"
	return res, nil
}

// firstDifference names the first line where got and want differ.
func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if i >= len(g) || i >= len(w) || gl != wl {
			return fmt.Sprintf("line %d is %q, the rewrite makes it %q", i+1, wl, gl)
		}
	}
	return "no difference"
}
