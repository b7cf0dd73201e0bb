package logging

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/testenv"
)

// TestDebugMillis: with DebugMillis the debug file's times carry
// milliseconds and the other outputs keep Heartbeat's whole seconds,
// byte for byte; a file that is both logfile and debugfile is the debug
// file. Apply switches it either way.
func TestDebugMillis(t *testing.T) {
	at := time.Date(2012, 11, 21, 15, 12, 44, 7_999_999, time.Local) // 7 ms: not rounded up
	const (
		secs   = "heartbeat[4242]: 2012/11/21_15:12:44 info: Link node2:eth0 up.\n"
		millis = "heartbeat[4242]: 2012/11/21_15:12:44.007 info: Link node2:eth0 up.\n"
		dsecs  = "heartbeat[4242]: 2012/11/21_15:12:44 debug: d\n"
		dms    = "heartbeat[4242]: 2012/11/21_15:12:44.007 debug: d\n"
	)
	tests := []struct {
		name                string
		millis, sameFile    bool
		wantLog, wantDebug  string
		wantStderr          string
		outputsOff, outputs bool
	}{
		{name: "off: Heartbeat's format", wantLog: secs, wantDebug: dsecs + secs},
		{name: "on", millis: true, wantLog: secs, wantDebug: dms + millis},
		{name: "on, one file for both", millis: true, sameFile: true, wantLog: dms + millis},
		{name: "off, one file for both", sameFile: true, wantLog: dsecs + secs},
	}
	for _, tc := range tests {
		for _, async := range []bool{false, true} {
			name := tc.name + map[bool]string{false: ", sync", true: ", async"}[async]
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				out := Outputs{Logfile: filepath.Join(dir, "ha-log"), Debugfile: filepath.Join(dir, "ha-debug"), DebugMillis: tc.millis}
				if tc.sameFile {
					out.Debugfile = out.Logfile
				}
				stderr := &testenv.LockedBuffer{}
				// Start with the other setting, and switch.
				start := out
				start.DebugMillis = !tc.millis
				l, err := New(Options{Outputs: start, PID: 4242, Stderr: stderr, Now: func() time.Time { return at }, Async: async})
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
				if err := l.Apply(out); err != nil {
					t.Fatal(err)
				}
				l.Debug("d")
				l.Info("Link node2:eth0 up.")
				if err := l.Sync(); err != nil {
					t.Fatal(err)
				}
				if got := readFile(t, out.Logfile); got != tc.wantLog {
					t.Errorf("logfile:\n got %q\nwant %q", got, tc.wantLog)
				}
				if !tc.sameFile {
					if got := readFile(t, out.Debugfile); got != tc.wantDebug {
						t.Errorf("debugfile:\n got %q\nwant %q", got, tc.wantDebug)
					}
				}
				if s := stderr.String(); s != "" {
					t.Errorf("stderr %q", s)
				}
			})
		}
	}
}

// TestMillisDigits: every millisecond of a second is written in three
// digits, cut, not rounded.
func TestMillisDigits(t *testing.T) {
	for _, ns := range []int{0, 999_999, 1_000_000, 10_500_000, 99_000_000, 100_000_000, 999_999_999} {
		at := time.Date(2012, 11, 21, 15, 12, 44, ns, time.UTC)
		want := at.Format(TimeLayoutMillis)
		if got := string(appendMillis([]byte(at.Format(TimeLayout)), at)); got != want {
			t.Errorf("%d ns: %q, want %q", ns, got, want)
		}
	}
}
