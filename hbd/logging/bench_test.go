package logging

import (
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkInfoToFile logs one info line to a logfile (with the rotation
// check every line makes).
func BenchmarkInfoToFile(b *testing.B) {
	l, err := New(Options{Outputs: Outputs{Logfile: filepath.Join(b.TempDir(), "ha-log")}, PID: 4242})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.ReportAllocs()
	for b.Loop() {
		l.Info("Link node2:eth0 up.")
	}
}

// BenchmarkTaggedInfoWithFieldsToFile adds a tag and two fields.
func BenchmarkTaggedInfoWithFieldsToFile(b *testing.B) {
	l, err := New(Options{Outputs: Outputs{Logfile: filepath.Join(b.TempDir(), "ha-log")}, PID: 4242})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	e := l.WithTag("IPaddr2", 178).WithField("group", "web")
	b.ReportAllocs()
	for b.Loop() {
		e.WithField("rc", 0).Info("start done")
	}
}

// BenchmarkDebugDisabled is a debug line nobody wants (debug 0, no debugfile).
func BenchmarkDebugDisabled(b *testing.B) {
	l, err := New(Options{Outputs: Outputs{Logfile: filepath.Join(b.TempDir(), "ha-log")}, PID: 4242})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.ReportAllocs()
	for b.Loop() {
		l.Debug("x")
	}
}

// BenchmarkInfoToFileAsync is BenchmarkInfoToFile with the writer
// goroutine (Options.Async): what the caller pays per line, and the
// writer's work included in the total time (a Sync every half queue, so
// that no line is dropped, and Close drains the queue before the timer
// stops). dropped/op says whether any was.
func BenchmarkInfoToFileAsync(b *testing.B) {
	l, err := New(Options{Outputs: Outputs{Logfile: filepath.Join(b.TempDir(), "ha-log")}, PID: 4242, Async: true})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		l.Info("Link node2:eth0 up.")
		if n++; n%(QueueLines/2) == 0 {
			for l.Sync() != nil { // behind by more than FlushWait allows
				time.Sleep(100 * time.Microsecond)
			}
		}
	}
	l.Close()
	b.ReportMetric(float64(l.Health().Dropped)/float64(n), "dropped/op")
}

// BenchmarkInfoDropped is what a line costs its caller while the output
// is stuck (a full pipe nobody reads as stderr) and the queue is full: it
// is dropped and counted.
func BenchmarkInfoDropped(b *testing.B) {
	p := newStuckPipe(b)
	l, err := New(Options{Stderr: p.w, PID: 4242, Async: true, CloseWait: time.Millisecond, StuckAfter: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.unstick(); _ = l.Close() })
	for range QueueLines + 1 {
		l.Info("Link node2:eth0 up.")
	}
	d0 := l.Health().Dropped
	b.ReportAllocs()
	for b.Loop() {
		l.Info("Link node2:eth0 up.")
	}
	b.ReportMetric(float64(l.Health().Dropped-d0)/float64(b.N), "dropped/op")
}

// BenchmarkInfoLatency reports what one info line to a logfile costs its
// caller, at the median, the 99th percentile and the worst, written in
// the caller (sync) or by the writer goroutine (async), in bursts of 32
// lines (more than a handover logs) after which the writer catches up
// (Sync, not counted). The tail is what a caller on a critical path (the
// daemon's loop during a handover) waits.
func BenchmarkInfoLatency(b *testing.B) {
	for _, async := range []bool{false, true} {
		name := "sync"
		if async {
			name = "async"
		}
		b.Run(name, func(b *testing.B) {
			l, err := New(Options{Outputs: Outputs{Logfile: filepath.Join(b.TempDir(), "ha-log")}, PID: 4242, Async: async})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			callerCost(b, l)
		})
	}
}

// callerCost logs info lines in bursts of 32, after which the writers
// catch up (Sync, not counted), and reports what one line cost the
// caller at the median, the 99th percentile and the worst.
func callerCost(b *testing.B, l *Logger) {
	took := make([]time.Duration, 0, b.N)
	for b.Loop() {
		t0 := time.Now()
		l.Info("Link node2:eth0 up.")
		took = append(took, time.Since(t0))
		if len(took)%32 == 0 {
			for l.Sync() != nil { // behind by more than FlushWait allows
				time.Sleep(100 * time.Microsecond)
			}
		}
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(took[len(took)*99/100].Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(took[len(took)-1].Nanoseconds()), "max-ns")
}

// BenchmarkHealth reads an Async logger's Health while its writer is
// held in a write: what each `hbd status` costs the daemon's loop.
func BenchmarkHealth(b *testing.B) {
	gate := newGate()
	l, err := New(Options{Stderr: gate, PID: 4242, Async: true, CloseWait: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	defer close(gate.open)
	l.Info("held")
	<-gate.writing
	b.ReportAllocs()
	for b.Loop() {
		_ = l.Health()
	}
}
