package logging

import (
	"path/filepath"
	"testing"
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
