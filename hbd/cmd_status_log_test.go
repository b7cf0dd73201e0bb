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
	tests := []struct {
		name string
		h    logging.Health
		want string
	}{
		{"all well", logging.Health{}, ""},
		{"one dropped", logging.Health{Dropped: 1}, "log: 1 line dropped since the start (the output did not keep up)\n"},
		{"dropped", logging.Health{Dropped: 2048}, "log: 2048 lines dropped since the start (the output did not keep up)\n"},
		{"stuck", logging.Health{Stuck: "log file /var/log/ha-log", StuckSince: now.Add(-65 * time.Second)},
			"log: a write to log file /var/log/ha-log has not returned for 1m5s\n"},
		{"both", logging.Health{Dropped: 3, Stuck: "stderr", StuckSince: now.Add(-5400 * time.Millisecond)},
			"log: 3 lines dropped since the start (the output did not keep up); a write to stderr has not returned for 5s\n"},
		{"clock behind the daemon's", logging.Health{Stuck: "syslog", StuckSince: now.Add(time.Minute)},
			"log: a write to syslog has not returned for 0s\n"},
		{"a path with control characters", logging.Health{Stuck: "log file /tmp/\x1b[2Jx", StuckSince: now},
			"log: a write to log file /tmp/\\x1b[2Jx has not returned for 0s\n"},
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
	sick.Log = logging.Health{Dropped: 7, Stuck: "stderr", StuckSince: started}
	etcd := ctl.Status{Node: "node1", PID: 42, Started: started, Backend: "etcd", Etcd: &ctl.EtcdStatus{Endpoints: []string{"http://127.0.0.1:2379"}, Prefix: "/hbd"},
		Log: logging.Health{Dropped: 1}}
	tests := []struct {
		name     string
		st       ctl.Status
		wantText string // the line after the node's; "" = no log line
		wantJSON string // the log object; "" = no "log" key
	}{
		{"all well", base, "", ""},
		{"dropped and stuck", sick, "log: 7 lines dropped since the start (the output did not keep up); a write to stderr has not returned for 1h0m0s",
			`{"dropped":7,"stuck":"stderr","stuck_since":"` + started.Format(time.RFC3339Nano) + `"}`},
		{"etcd backend, dropped", etcd, "log: 1 line dropped since the start (the output did not keep up)", `{"dropped":1}`},
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

// TestChangeKeyLog: the watch redraws when the log starts dropping lines
// or a write gets stuck (or unstuck), not for each line dropped.
func TestChangeKeyLog(t *testing.T) {
	st := ctl.Status{PID: 42, Cluster: cluster.Status{Node: "node1", State: "active"}}
	with := func(h logging.Health) ctl.Status { s := st; s.Log = h; return s }
	since := time.Now()
	tests := []struct {
		name    string
		a, b    logging.Health
		changed bool
	}{
		{"all well", logging.Health{}, logging.Health{}, false},
		{"starts dropping", logging.Health{}, logging.Health{Dropped: 1}, true},
		{"drops more", logging.Health{Dropped: 1}, logging.Health{Dropped: 5000}, false},
		{"gets stuck", logging.Health{Dropped: 1}, logging.Health{Dropped: 1, Stuck: "stderr", StuckSince: since}, true},
		{"stuck elsewhere", logging.Health{Stuck: "stderr", StuckSince: since}, logging.Health{Stuck: "syslog", StuckSince: since}, true},
		{"unstuck", logging.Health{Stuck: "stderr", StuckSince: since}, logging.Health{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := changeKey(with(tc.a)) != changeKey(with(tc.b)); got != tc.changed {
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
	printLog(&b, logging.Health{Dropped: 2048, Stuck: "log file /var/log/ha-log", StuckSince: now.Add(-65 * time.Second)}, now)
	quote := "`" + strings.TrimSuffix(b.String(), "\n") + "`"
	if !strings.Contains(readDoc(t, "docs/config.md"), quote) {
		t.Errorf("docs/config.md does not quote %s", quote)
	}
}
