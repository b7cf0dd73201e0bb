package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/logging"
)

// TestPrintLog: the log line says what was dropped and what is stuck, and
// nothing at all when all is well.
func TestPrintLog(t *testing.T) {
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	out := func(name string, dropped uint64, since time.Time) logging.OutputHealth {
		return logging.OutputHealth{Output: name, Dropped: dropped, StuckSince: since}
	}
	outs := func(o ...logging.OutputHealth) logging.Health { return logging.Health{Outputs: o} }
	tests := []struct {
		name string
		h    logging.Health
		want string
	}{
		{"all well", logging.Health{}, ""},
		{"one dropped", outs(out("syslog", 1, time.Time{})), "log: syslog: 1 line dropped (it did not keep up)\n"},
		{"dropped", outs(out("stderr", 2048, time.Time{})), "log: stderr: 2048 lines dropped (it did not keep up)\n"},
		{"stuck", outs(out("log file /var/log/ha-log", 0, now.Add(-65*time.Second))),
			"log: log file /var/log/ha-log: a write has not returned for 1m5s\n"},
		{"both", outs(out("stderr", 3, now.Add(-5400*time.Millisecond))),
			"log: stderr: 3 lines dropped (it did not keep up); a write has not returned for 5s\n"},
		{"two outputs", outs(out("stderr", 3, time.Time{}), out("syslog", 1024, now.Add(-time.Minute))),
			"log: stderr: 3 lines dropped (it did not keep up)\nlog: syslog: 1024 lines dropped (it did not keep up); a write has not returned for 1m0s\n"},
		{"clock behind the daemon's", outs(out("syslog", 0, now.Add(time.Minute))),
			"log: syslog: a write has not returned for 0s\n"},
		{"a path with control characters", outs(out("log file /tmp/\x1b[2Jx", 0, now)),
			"log: log file /tmp/\\x1b[2Jx: a write has not returned for 0s\n"},
		{"an older daemon: its sums", logging.Health{Dropped: 3, Stuck: "stderr", StuckSince: now.Add(-5400 * time.Millisecond)},
			"log: stderr: 3 lines dropped (it did not keep up); a write has not returned for 5s\n"},
		{"an older daemon, dropped only", logging.Health{Dropped: 2}, "log: 2 lines dropped (it did not keep up)\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			printLog(&b, tc.h, now)
			if b.String() != tc.want {
				t.Errorf("printed %q, want %q", b.String(), tc.want)
			}
		})
	}
}

// TestStatusShowsLog: `hbd status` shows the log line under the node's
// line and `--json` the log object, only when lines were dropped or a
// write is stuck; otherwise neither has a trace of it.
func TestStatusShowsLog(t *testing.T) {
	started := time.Now().Add(-time.Hour)
	base := ctl.Status{PID: 42, Started: started, Cluster: cluster.Status{Node: "node1", State: "active"}}
	sick := base
	sick.Log = logging.Health{Outputs: []logging.OutputHealth{{Output: "stderr", Dropped: 7, StuckSince: started}}, Dropped: 7, Stuck: "stderr", StuckSince: started}
	etcd := ctl.Status{Node: "node1", PID: 42, Started: started, Backend: "etcd", Etcd: &ctl.EtcdStatus{Endpoints: []string{"http://127.0.0.1:2379"}, Prefix: "/hbd"},
		Log: logging.Health{Outputs: []logging.OutputHealth{{Output: "syslog", Dropped: 1}}, Dropped: 1}}
	tests := []struct {
		name     string
		st       ctl.Status
		wantText string // the line after the node's; "" = no log line
		wantJSON string // the log object; "" = no "log" key
	}{
		{"all well", base, "", ""},
		{"dropped and stuck", sick, "log: stderr: 7 lines dropped (it did not keep up); a write has not returned for 1h0m0s",
			`{"dropped":7,"outputs":[{"dropped":7,"output":"stderr","stuck_since":"` + started.Format(time.RFC3339Nano) + `"}],"stuck":"stderr","stuck_since":"` + started.Format(time.RFC3339Nano) + `"}`},
		{"etcd backend, dropped", etcd, "log: syslog: 1 line dropped (it did not keep up)", `{"dropped":1,"outputs":[{"dropped":1,"output":"syslog"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := fakeDaemon(t, tc.st, "")
			var out, errOut bytes.Buffer
			if code := runStatus([]string{"--run-dir", dir}, &out, &errOut); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			lines := strings.Split(out.String(), "\n")
			if !strings.HasPrefix(lines[0], "node1 (this node): active") {
				t.Fatalf("first line %q", lines[0])
			}
			if got := strings.Count(out.String(), "log:"); tc.wantText == "" && got != 0 {
				t.Errorf("a log line with all well:\n%s", out.String())
			}
			if tc.wantText != "" && lines[1] != tc.wantText {
				t.Errorf("second line %q, want %q", lines[1], tc.wantText)
			}

			out.Reset()
			if code := runStatus([]string{"--run-dir", dir, "--json"}, &out, &errOut); code != 0 {
				t.Fatalf("--json exit %d: %s", code, errOut.String())
			}
			var v map[string]json.RawMessage
			if err := json.Unmarshal(out.Bytes(), &v); err != nil {
				t.Fatal(err)
			}
			raw, ok := v["log"]
			if tc.wantJSON == "" {
				if ok {
					t.Errorf("--json has \"log\": %s with all well", raw)
				}
				return
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, raw); err != nil {
				t.Fatal(err)
			}
			if compact.String() != tc.wantJSON {
				t.Errorf("--json \"log\": %s, want %s", compact.String(), tc.wantJSON)
			}
		})
	}
}

// TestChangeKeyLog: the watch redraws when an output starts dropping
// lines or a write gets stuck (or unstuck), not for each line dropped.
func TestChangeKeyLog(t *testing.T) {
	st := ctl.Status{PID: 42, Cluster: cluster.Status{Node: "node1", State: "active"}}
	with := func(o ...logging.OutputHealth) ctl.Status {
		s := st
		s.Log = logging.Health{Outputs: o}
		for _, x := range o {
			s.Log.Dropped += x.Dropped
		}
		return s
	}
	since := time.Now()
	dropping := func(name string, n uint64) logging.OutputHealth {
		return logging.OutputHealth{Output: name, Dropped: n}
	}
	stuck := func(name string) logging.OutputHealth { return logging.OutputHealth{Output: name, StuckSince: since} }
	tests := []struct {
		name    string
		a, b    ctl.Status
		changed bool
	}{
		{"all well", with(), with(), false},
		{"starts dropping", with(), with(dropping("stderr", 1)), true},
		{"drops more", with(dropping("stderr", 1)), with(dropping("stderr", 5000)), false},
		{"another starts dropping", with(dropping("stderr", 1)), with(dropping("stderr", 1), dropping("syslog", 1)), true},
		{"gets stuck", with(dropping("syslog", 1)), with(logging.OutputHealth{Output: "syslog", Dropped: 1, StuckSince: since}), true},
		{"stuck elsewhere", with(stuck("stderr")), with(stuck("syslog")), true},
		{"unstuck", with(stuck("stderr")), with(), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := changeKey(tc.a) != changeKey(tc.b); got != tc.changed {
				t.Errorf("changed = %v, want %v", got, tc.changed)
			}
		})
	}
}

// TestConfigDocLogLine: docs/config.md quotes the log line of hbd status
// as printLog prints it.
func TestConfigDocLogLine(t *testing.T) {
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	var b bytes.Buffer
	printLog(&b, logging.Health{Outputs: []logging.OutputHealth{{Output: "syslog", Dropped: 2048, StuckSince: now.Add(-65 * time.Second)}}}, now)
	quote := "`" + strings.TrimSuffix(b.String(), "\n") + "`"
	if !strings.Contains(readDoc(t, "docs/config.md"), quote) {
		t.Errorf("docs/config.md does not quote %s", quote)
	}
}
