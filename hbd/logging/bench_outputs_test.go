package logging

import (
	"path/filepath"
	"testing"

	"github.com/hbdproject/hbd/hbd/testenv"
)

// BenchmarkCallerPerOutputs is what one info line costs the caller of an
// Async logger (the daemon's loop) with one, two and three outputs (log
// file, debug file, a syslog socket that is read): callerCost.
func BenchmarkCallerPerOutputs(b *testing.B) {
	for _, n := range []int{1, 2, 3} {
		b.Run([]string{"", "logfile", "logfile+debugfile", "logfile+debugfile+syslog"}[n], func(b *testing.B) {
			dir := b.TempDir()
			o := Options{PID: 4242, Async: true, Stderr: &testenv.LockedBuffer{}}
			o.Logfile = filepath.Join(dir, "ha-log")
			if n >= 2 {
				o.Debugfile = filepath.Join(dir, "ha-debug")
			}
			if n >= 3 {
				s := newStuckSyslog(b)
				s.unstick()
				o.Facility, o.SyslogNetwork, o.SyslogAddr = "local0", "unixgram", s.path
			}
			l, err := New(o)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			callerCost(b, l)
		})
	}
}
